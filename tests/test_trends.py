"""Historical trends: exact OLS, bootstrap coverage, scale classes, breaks, CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.scenario import load_scenario, with_overrides
from projector.inputs.systems import Systems, decimal_year, load_dataset
from projector.model import engine, kernels
from projector.studies import trends

from .conftest import SNAPSHOT_2022, synthetic_rows, write_bundled_csv

SHARED = SNAPSHOT_2022.parent


def _systems(t: np.ndarray, y: np.ndarray, params: np.ndarray | None = None) -> Systems:
    dates = [dt.date(int(v), 1, 1) + dt.timedelta(days=int((v % 1) * 365)) for v in t]
    n = len(t)
    return Systems(
        name=np.array([f"s{i}" for i in range(n)]),
        organization=np.array(["Lab"] * n),
        domain=np.array(["language"] * n),
        date=np.array(dates, dtype="datetime64[D]"),
        year=np.array([decimal_year(d) for d in dates]),
        log10_compute=np.asarray(y, dtype=float),
        parameters=np.full(n, np.nan) if params is None else params,
        reference=np.array([f"r{i}" for i in range(n)]),
        label="synthetic",
        sha256="0" * 64,
    )


def test_exact_ols_on_a_line() -> None:
    t = np.linspace(2010, 2020, 30)
    y = 0.5 * (t - 2010) + 15
    fit = trends.fit_window(t, y, trends.Window("w", dt.date(2010, 1, 1), None),
                            rng=np.random.default_rng(0), resamples=50)  # fmt: skip
    assert fit.slope == pytest.approx(0.5, abs=1e-12)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.doubling_months == pytest.approx(12 * math.log10(2) / 0.5)
    assert np.allclose(fit.boot_slope, 0.5)
    assert fit.line_start == pytest.approx(1e15) and fit.line_end == pytest.approx(1e20)


def test_ols_matches_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(2000, 2020, 40))
    y = 0.3 * t + rng.normal(0, 1, 40)
    fit = trends.fit_window(t, y, trends.Window("w", dt.date(2000, 1, 1), None), rng=rng,
                            resamples=10)  # fmt: skip
    ref = stats.linregress(t, y)
    assert fit.slope == pytest.approx(ref.slope)
    assert fit.r2 == pytest.approx(ref.rvalue**2)


def test_bootstrap_interval_covers_the_true_slope() -> None:
    """Over 200 synthetic datasets the 95% interval holds the true slope ~95% of the time."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(200):
        t = np.sort(rng.uniform(2010, 2022, 60))
        y = 0.6 * t + rng.normal(0, 0.8, 60)
        fit = trends.fit_window(t, y, trends.Window("w", dt.date(2010, 1, 1), None), rng=rng,
                                resamples=300)  # fmt: skip
        lo, _, hi = fit.slope_quantiles()
        hits += lo <= 0.6 <= hi
    assert 0.88 <= hits / 200 <= 0.99


def test_noise_widens_the_interval() -> None:
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(2010, 2022, 25))
    y = 0.6 * t + rng.normal(0, 0.1, 25)
    w = trends.Window("w", dt.date(2010, 1, 1), None)
    plain = trends.fit_window(t, y, w, rng=np.random.default_rng(0), resamples=2000)
    noisy = trends.fit_window(t, y, w, rng=np.random.default_rng(0), resamples=2000, noise=True)
    width = lambda f: f.slope_quantiles()[2] - f.slope_quantiles()[0]  # noqa: E731
    assert width(noisy) > 1.2 * width(plain)


def test_z_score_classes_on_constructed_neighbourhoods() -> None:
    t = np.concatenate([np.linspace(2017.0, 2019.0, 21), [2018.0, 2018.01, 2014.0]])
    y = np.concatenate([np.tile([20.0, 21.0], 11)[:21], [26.0, 10.0, 30.0]])
    z, cls = trends.classify(_systems(t, y))
    assert cls[21] == 2 and z[21] > 0.76  # far above its neighbours, after 2016: large
    assert cls[22] == 0 and z[22] < -2  # far below: low outlier
    assert cls[23] == 1  # alone in its neighbourhood before 2016 -> z 0, regular
    assert (cls[:21] == 1).all()
    wide = trends.classify(_systems(t, y), trends.ScaleRule(half_width_years=5.0))[0]
    assert wide[23] != 0  # a wider window sees 2014 among the others


def test_break_tests_find_a_real_break_and_not_a_fake_one() -> None:
    rng = np.random.default_rng(5)
    t = np.sort(rng.uniform(1960, 2022, 200))
    kink = np.where(t < 2010, 0.2 * (t - 2010), 0.6 * (t - 2010)) + rng.normal(0, 0.3, 200)
    b = trends.break_test("kink", t, kink, t >= 2010)
    assert b.p_value < 1e-6 and b.delta_bic > 10
    assert b.slope_before == pytest.approx(0.2, abs=0.05)
    straight = 0.3 * t + rng.normal(0, 0.3, 200)
    b0 = trends.break_test("none", t, straight, t >= 2010)
    assert b0.p_value > 0.001 and b0.delta_bic < 0


def test_parse_window() -> None:
    w = trends.parse_window("mine:2012-01-01::large")
    assert (w.start, w.end, w.scale) == (dt.date(2012, 1, 1), None, "large")
    for bad in ("x:2012", "x:2012-13-01:", "x:2015-01-01:2014-01-01", "x:2012-01-01::huge"):
        with pytest.raises(InputError):
            trends.parse_window(bad)


def test_engine_and_trends_fit_the_same_slope(noisy_csv: Path) -> None:
    systems = load_dataset(noisy_csv)
    scen = with_overrides(load_scenario("epoch-2022"), dataset=str(noisy_csv))
    eras = engine.prepare_eras(scen, systems)
    analysis = trends.analyse(systems, cutoff=scen.data.cutoff, resamples=20)
    dl = next(f for f in analysis.fits if f.window.name == "dl")
    assert dl.slope == pytest.approx(kernels.ols_fit(eras.dl.year, eras.dl.log10_compute)[0])
    assert dl.n == len(eras.dl)
    # Same resample indices -> same bootstrap slopes through the one kernel.
    idx = np.random.default_rng(0).integers(0, len(eras.dl), (50, len(eras.dl)))
    a, b = np.empty(50), np.empty(50)
    kernels.bootstrap_slopes(eras.dl.year, eras.dl.log10_compute, idx, np.empty((0, 0)), a)
    kernels.bootstrap_slopes(dl_t := eras.dl.year, eras.dl.log10_compute, idx,
                             np.empty((0, len(dl_t))), b)  # fmt: skip
    assert np.array_equal(a, b)


def test_adding_a_window_leaves_the_others_unchanged(noisy_csv: Path) -> None:
    systems = load_dataset(noisy_csv)
    base = trends.analyse(systems, resamples=50, seed=3)
    more = trends.analyse(
        systems,
        resamples=50,
        seed=3,
        windows=[*trends.standard_windows(), trends.parse_window("x:2000-01-01:")],
    )
    for a, b in zip(base.fits, more.fits, strict=False):
        assert np.array_equal(a.boot_slope, b.boot_slope, equal_nan=True)


def test_cli_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = synthetic_rows(jitter=lambda i: 0.5 * math.sin(i * 2.399))
    for k, r in enumerate(rows):
        r["parameters"] = repr(10.0 ** (5 + 0.1 * k))
    data = write_bundled_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "out"
    argv = ["trends", "--dataset", str(data), "--out", str(out), "--resamples", "100",
            "--window", "mine:2012-01-01:2018-12-31"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| mine | compute |" in text and "Chow F" in text
    names = {p.name for p in out.iterdir()}
    assert names == {"trends.csv", "trends.md", "trends.nc", "trends_compute.png",
                     "trends_parameters.png"}  # fmt: skip
    header = (out / "trends.csv").read_text().splitlines()[0].split(",")
    for col in ("window", "n", "slope_oom_per_year", "doubling_months", "doubling_months_lo",
                "doubling_months_hi", "r2"):  # fmt: skip
        assert col in header
    with xr.open_dataset(out / "trends.nc", engine="h5netcdf") as ds:
        assert ds["boot_slope"].dims == ("window", "draw") and ds.sizes["draw"] == 100
        assert set(ds["scale_class"].values) <= {0, 1, 2}
        assert ds["slope_oom_per_year"].attrs["units"] == "OOM/year"
        assert ds.attrs["dataset_sha256"] and ds.attrs["resamples"] == 100
        assert "mine" in ds["window"].values
    # The one reader of a trends folder gives the same Dataset, in memory.
    back = trends.open_trends(out)
    assert back["boot_slope"].dims == ("window", "draw") and "mine" in back["window"].values
    with pytest.raises(InputError, match=r"no trends\.nc"):
        trends.open_trends(tmp_path)


def test_cli_bad_window_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "--window", "bad", "--out", str(tmp_path / "o")]) == 2
    assert "expected NAME:START:END" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not SNAPSHOT_2022.is_file(), reason="../shared/data is absent")
def test_three_eras_on_the_2022_snapshot(tmp_path: Path) -> None:
    """Sevilla et al. (2022) Table 2: pre-DL n=19, ~21 months; DL ~5-6 months."""
    analysis = trends.analyse(load_dataset(SNAPSHOT_2022), cutoff=dt.date(2022, 2, 28),
                              resamples=300)  # fmt: skip
    fits = {f.window.name: f for f in analysis.fits}
    assert fits["pre-dl"].n == 19
    assert 15 < fits["pre-dl"].doubling_months < 30
    assert 4.5 < fits["dl"].doubling_months < 7.0
    assert 4.5 < fits["dl-regular"].doubling_months < 7.0
    assert 7 < fits["large-scale"].doubling_months < 16
    assert analysis.breaks[0].p_value < 1e-6


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("path", sorted(SHARED.glob("*.csv")) if SHARED.is_dir() else [])
def test_trends_runs_on_every_reference_snapshot(path: Path, tmp_path: Path) -> None:
    assert main(["trends", "--dataset", str(path), "--out", str(tmp_path), "--resamples", "50",
                 "--quiet"]) == 0  # fmt: skip
    assert (tmp_path / "trends.nc").is_file()


def test_windows_from_a_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = synthetic_rows(jitter=lambda i: 0.5 * math.sin(i * 2.399))
    data = write_bundled_csv(tmp_path / "d.csv", rows)
    scen = tmp_path / "w.toml"
    scen.write_text(
        'name = "w"\nextends = "default"\n[data]\ndataset = "d.csv"\ncutoff = 2020-12-31\n'
        '[[windows]]\nname = "twenty-tens"\nstart = 2010-01-01\nend = 2019-12-31\n'
    )
    out = tmp_path / "out"
    assert main(["trends", "--scenario", str(scen), "--out", str(out), "--resamples", "50",
                 "--quiet"]) == 0  # fmt: skip
    table = (out / "trends.csv").read_text()
    assert "twenty-tens,compute,2010-01-01,2019-12-31" in table
    assert "2020-12-31" in table  # the scenario's cut-off ends the open windows
    assert data.is_file()


def test_z_thresholds_are_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "--z-low", "1", "--z-high", "0", "--out", str(tmp_path)]) == 2
    assert "--z-low 1 must be below --z-high 0" in capsys.readouterr().err


def test_lower_bounds_are_left_out_of_every_fit() -> None:
    """A censored figure (a floor) far below the line must not bend the fit."""
    dates = _systems(np.linspace(2010, 2020, 30), np.zeros(30))
    y = 0.5 * (dates.year - 2010) + 15
    y[10] = 5.0  # a lower bound, ten OOM below the trend
    censored = np.zeros(30, dtype=bool)
    censored[10] = True
    base = dataclasses.replace(dates, log10_compute=y)
    systems = dataclasses.replace(base, censored=censored)
    window = trends.Window("w", dt.date(2010, 1, 1), None)
    fit = trends.analyse(systems, windows=[window], resamples=20).fits[0]
    assert fit.n == 29 and fit.slope == pytest.approx(0.5, abs=1e-12)
    assert trends.analyse(base, windows=[window], resamples=20).fits[0].slope != pytest.approx(0.5)


def test_parameter_windows_mirror_compute_and_split_by_domain() -> None:
    compute = trends.standard_windows("compute")
    params = trends.standard_windows("parameters")
    assert {w.quantity for w in compute} == {"compute"}
    assert {w.quantity for w in params} == {"parameters"}
    mirrored = {w.name.removeprefix("params-").replace("dl-all", "dl"): (w.start, w.end, w.scale)
                for w in params if not w.domain}  # fmt: skip
    assert mirrored == {w.name: (w.start, w.end, w.scale) for w in compute}
    assert {w.domain for w in params} == {"", "language", "vision", "games", "other"}
    assert trends.standard_windows() == compute + params
    with pytest.raises(InputError, match="quantity must be one of"):
        trends.standard_windows("flops")


def test_cli_quantity_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Parameters on an exact line of 0.25 OOM/year: every fitted window finds it."""
    rows = synthetic_rows(first=2000)
    for r in rows:
        r["parameters"] = repr(10.0 ** (6 + 0.25 * (decimal_year(
            dt.date.fromisoformat(r["publication_date"])) - 2000)))  # fmt: skip
    data = write_bundled_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "out"
    argv = ["trends", "--dataset", str(data), "--out", str(out), "--resamples", "50",
            "--quantity", "parameters"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert {p.name for p in out.iterdir()} == {"trends.csv", "trends.md", "trends.nc",
                                               "trends_parameters.png"}  # fmt: skip
    with xr.open_dataset(out / "trends.nc", engine="h5netcdf") as ds:
        assert set(ds["quantity"].values) == {"parameters"}
        fitted = ds["slope_oom_per_year"].values[ds["n"].values >= 3]
        assert len(fitted) >= 5
        np.testing.assert_allclose(fitted, 0.25, atol=1e-9)


def test_cli_says_how_many_lower_bounds_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    systems = load_dataset("bundled")
    argv = ["trends", "--quantity", "compute", "--resamples", "20", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert int(systems.censored.sum()) > 0
    assert f"left out of every fit: {int(systems.censored.sum())} system(s)" in out
    header = out.splitlines()[2]
    assert header.startswith(f"{len(systems.uncensored().one_per_paper())} systems")
