"""Counts of models above thresholds (projector.model.counts, studies.counts, cli.counts)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.systems import Systems, decimal_year
from projector.model import counts as model
from projector.studies import count_backtest
from projector.studies import counts as study


def _systems(rows: list[tuple[str, float, bool]]) -> Systems:
    """A hand-built table: (ISO date, log10 FLOP, lower bound?) per row."""
    dates = [dt.date.fromisoformat(d) for d, _, _ in rows]
    n = len(rows)
    return Systems(
        name=np.array([f"s{i}" for i in range(n)]),
        organization=np.array(["o"] * n),
        domain=np.array(["language"] * n),
        date=np.array(dates, dtype="datetime64[D]"),
        year=np.array([decimal_year(d) for d in dates]),
        log10_compute=np.array([c for _, c, _ in rows], dtype=float),
        parameters=np.full(n, np.nan),
        reference=np.array([f"r{i}" for i in range(n)]),
        label="hand-built",
        sha256="0" * 64,
        censored=np.array([b for _, _, b in rows], dtype=bool),
    )


HAND = _systems(
    [
        ("2020-03-01", 23.0, False),
        ("2021-06-01", 24.5, False),  # frontier 24.5 from here
        ("2021-09-01", 22.0, True),  # a lower bound, frontier 24.5: may be above 23, 24
        ("2022-01-10", 25.2, False),  # frontier 25.2
        ("2022-05-01", 24.0, True),  # lower bound exactly at 1e24: counts at 1e24
        ("2022-08-01", 23.5, False),
        ("2023-02-01", 18.0, True),  # bound far below: frontier 25.2 reaches 1e23..1e25
    ]
)


def test_realised_counts_by_hand() -> None:
    th = [23.0, 24.0, 25.0, 26.0]
    lo, hi = model.realised_counts(HAND, th, decimal_year(dt.date(2021, 12, 31)))
    # by end 2021: 23.0, 24.5 (points), 22.0 lower bound with frontier 24.5
    assert lo.tolist() == [2, 1, 0, 0]
    assert hi.tolist() == [3, 2, 0, 0]  # the bound may hide a system above 1e23 and 1e24
    lo, hi = model.realised_counts(HAND, th, decimal_year(dt.date(2023, 12, 31)))
    # points >= 23: 23.0, 24.5, 25.2, 23.5; the 1e24 bound counts at 1e23 and 1e24
    assert lo.tolist() == [5, 3, 1, 0]
    # hidden: 22.0 (frontier 24.5): 23, 24; 24.0 (frontier 25.2): 25; 18.0 (25.2): 23-25
    assert hi.tolist() == [7, 5, 3, 0]


def test_distance_below_frontier_by_hand() -> None:
    d = model.distance_below_frontier(HAND)
    assert np.allclose(d, [0.0, 0.0, 2.5, 0.0, 1.2, 1.7, 7.2])


def test_poisson_fit_recovers_a_known_rate() -> None:
    rng = np.random.default_rng(5)
    x = np.arange(-12.0, 0.0) + 0.5
    n = rng.poisson(20.0 * np.exp(0.25 * x))
    coef, cov = model._poisson_loglinear(n, x, np.ones_like(x))
    sd = np.sqrt(np.diag(cov))
    assert abs(coef[0] - math.log(20.0)) < 3 * sd[0]
    assert abs(coef[1] - 0.25) < 3 * sd[1]


def _frontiers(n: int, top: float, times: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.exponential(0.05, size=(n, times.size))
    f = 24.0 + np.cumsum(steps, axis=1)
    return np.minimum(f, top)  # non-decreasing, never above top


#: A band fit with stated rates (5, 10, 20 systems a year, growing 20% a year), as
#: fit_bands returns it; the hand-built table is too small to fit sensibly.
FIT = model.BandFit(
    cutoff=2023.5,
    bins=np.arange(2015.0, 2024.0),
    exposure=np.r_[np.ones(8), 0.5],
    counts=np.ones((3, 9), dtype=np.int64),
    coef=np.array([[math.log(5.0), 0.2], [math.log(10.0), 0.2], [math.log(20.0), 0.2]]),
    cov=np.tile(np.diag([0.01, 0.001]), (3, 1, 1)),
)


def test_fit_bands_counts_each_band() -> None:
    fit = model.fit_bands(HAND, decimal_year(dt.date(2023, 6, 1)), fit_start=2020.0)
    # distances 0, 0, 2.5, 0, 1.2, 1.7, 7.2: band 0 three, band 1 two, band 2 one
    assert fit.counts.sum(axis=1).tolist() == [3, 2, 1]
    assert np.isfinite(fit.coef).all()


@settings(max_examples=15, deadline=None)
@given(
    top=st.floats(24.5, 27.0),
    seed=st.integers(0, 2**31),
    method=st.sampled_from(model.METHODS),
)
def test_no_model_above_a_frontier_that_never_reaches_it(
    top: float, seed: int, method: str
) -> None:
    times = 2023.5 + np.arange(0, 61) / 12.0
    f = _frontiers(40, top, times, seed)
    observed = HAND.log10_compute
    th = sorted([25.0, 26.0, top + 1e-6, 27.5])
    d = model.simulate(f, times, 2023.5, observed, th, [1.0, 2.0], [2024.5, 2026.0, 2028.5],
                       method=method, fit=FIT, seed=seed)  # fmt: skip
    obs = (observed[:, None] >= np.array(th)[None, :]).sum(axis=0)
    for i, t in enumerate(th):
        if t > top:  # no path's frontier reaches it: only the observed systems count
            assert (d.above[:, i, :] == obs[i]).all()
    # the counts are cumulative: never decreasing in time, never increasing in threshold
    assert (np.diff(d.above, axis=2) >= 0).all()
    assert (np.diff(d.above, axis=1) <= 0).all()
    # within 1 OOM is a subset of within 2 OOM
    assert (d.within[:, 0, :] <= d.within[:, 1, :]).all()


def test_counts_never_decrease_and_new_systems_sit_below_the_frontier() -> None:
    times = 2023.5 + np.arange(0, 61) / 12.0
    f = _frontiers(300, 30.0, times, 1)
    th = list(np.arange(22.0, 29.0, 0.5))
    d = model.simulate(f, times, 2023.5, HAND.log10_compute, th, [3.0], [2024.5, 2025.5, 2028.5],
                       fit=FIT, seed=3)  # fmt: skip
    assert (np.diff(d.above, axis=2) >= 0).all()
    # above each path's final frontier there is nothing new
    top = f[:, -1]
    obs = (HAND.log10_compute[:, None] >= np.array(th)[None, :]).sum(axis=0)
    for i, t in enumerate(th):
        beyond = top < t
        assert (d.above[beyond, i, -1] == obs[i]).all()
    assert d.above[:, 0, -1].sum() > 300 * obs[0]  # and below it there is something


def test_same_seed_same_counts_and_more_paths_leave_the_first_unchanged() -> None:
    times = 2023.5 + np.arange(0, 37) / 12.0
    f = _frontiers(2500, 28.0, times, 2)
    args = (times, 2023.5, HAND.log10_compute, [24.0, 25.0], [1.0], [2025.0, 2026.5])
    a = model.simulate(f[:1500], *args, fit=FIT, seed=9)
    b = model.simulate(f, *args, fit=FIT, seed=9)
    c = model.simulate(f[:1500], *args, fit=FIT, seed=10)
    assert np.array_equal(a.above, b.above[:1500]) and np.array_equal(a.within, b.within[:1500])
    assert not np.array_equal(a.above, c.above)


def test_rps_is_the_crps_of_an_integer_ensemble() -> None:
    rng = np.random.default_rng(0)
    x = rng.poisson(7.0, size=400)
    for y in (0, 3, 7, 15):
        cdf = count_backtest._ensemble_cdf(x, int(max(x.max(), y)) + 1)
        crps = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]))
        assert count_backtest.rps(cdf, y) == pytest.approx(crps, rel=1e-9)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1e25,1e26", "must be a number of FLOP > 0"),
        ("1e25,abc", "expected numbers"),
        ("1e26,1e25", "increasing order"),
        ("1e25,1e25", "increasing order"),
        ("0", "> 0"),
        ("", "at least one"),
    ],
)
def test_parse_thresholds_refuses(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        study.parse_thresholds(text)


def test_parse_arguments_accept() -> None:
    assert study.parse_thresholds("1e25, 1e26,1e27") == [25.0, 26.0, 27.0]
    assert study.parse_within("0.5,1,3") == [0.5, 1.0, 3.0]
    assert study.parse_years("2026:2028") == [2026, 2027, 2028]


@pytest.mark.parametrize(
    "argv",
    [
        ["--thresholds=-1e25,1e26"],
        ["--thresholds", "1e25,ten"],
        ["--thresholds", "1e26,1e25"],
        ["--within=-1"],
        ["--within", "one"],
        ["--within", "2,1"],
        ["--within", "4"],
        ["--years", "2026.5"],
        ["--years", "1990"],
    ],
)
def test_bad_arguments_one_line_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    try:
        code = main(["counts", "default", "--paths", "20", "--out", str(out), *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_counts_command_writes_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import xarray as xr

    out = tmp_path / "c"
    argv = ["counts", "default", "--paths", "300", "--years", "2026,2028", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Beside the published forecasts" in text and "lower bound" in text
    names = sorted(p.name for p in out.iterdir())
    assert names == ["counts.csv", "counts.md", "counts.nc", "counts.png"]
    with xr.open_dataset(out / "counts.nc", engine="h5netcdf") as ds:
        assert ds["count_above"].dims == ("path", "threshold", "year")
        assert ds["count_above"].sizes["path"] == 300
        assert list(ds["year"].values) == [2026, 2028]
        q = ds["count_above_quantile"].values
        assert (np.diff(q, axis=-1) >= 0).all()  # quantiles ordered
        assert (ds["count_above"].values >= ds["observed_at_least"].values[None, :, None]).all()
    md = (out / "counts.md").read_text()
    assert "45-148 above 1e26 by the end of 2028" in md


def test_python_api_is_the_command(tmp_path: Path) -> None:
    import xarray as xr

    import projector as pj

    ds = pj.counts("default", paths=200, years=[2027], thresholds=[1e25, 1e26], within=[1])
    out = tmp_path / "c"
    argv = ["counts", "default", "--paths", "200", "--years", "2027", "--thresholds",
            "1e25,1e26", "--within", "1", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    with xr.open_dataset(out / "counts.nc", engine="h5netcdf") as disk:
        assert np.array_equal(disk["count_above"].values, ds["count_above"].values)
        assert np.array_equal(disk["count_within"].values, ds["count_within"].values)


def test_counting_leaves_the_projection_unchanged() -> None:
    import projector as pj

    ds = pj.run("default", paths=200)
    c = pj.counts("default", paths=200, years=[2027])
    again = pj.run("default", paths=200)
    assert np.array_equal(ds["log10_compute"].values, again["log10_compute"].values)
    assert c.attrs["scenario_sha256"] == ds.attrs["scenario_sha256"]
