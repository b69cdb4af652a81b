"""Reversion dates before the start, relative components, new weight shapes, the
calibration options and scenario overrides (issue 9)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.scenario import load_scenario, override, parse_set
from projector.inputs.systems import decimal_year, load_dataset
from projector.model import engine

from .conftest import point_mixture, run_in_memory
from .strategies import values

FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _run(path: Path, **changes: object) -> xr.Dataset:
    return _run_plan(path, **changes)[0]


def _run_plan(path: Path, **changes: object) -> tuple[xr.Dataset, engine.Plan]:
    scen = load_scenario(path)
    if changes:
        scen = override(scen, changes)
    return run_in_memory(scen, load_dataset(scen.data.dataset))


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    before=st.floats(0.5, 30),
    after=st.floats(0.5, 30),
    policy=values("growth.reversion_before_start").filter(lambda v: v != "mirror"),
    shape=values("growth.weight_shape"),
)
def test_a_reversion_before_the_start_never_gives_more_compute(
    make_scenario: Callable[..., Path],
    linear_csv: Path,
    before: float,
    after: float,
    policy: str,
    shape: str,
) -> None:
    """Same paths (same draws), two reversion dates: one before the start, one after.

    On the linear data g_DL (0.6) > g_moore, so an earlier reversion means less compute.
    """
    s = 2022.0
    early = _run(
        make_scenario(
            dataset=linear_csv,
            paths=20,
            reversion=point_mixture(s - before),
            policy=policy,
            weight_shape=shape,
        )
    )
    late = _run(
        make_scenario(
            dataset=linear_csv,
            paths=20,
            reversion=point_mixture(s + after),
            policy=policy,
            weight_shape=shape,
        )
    )
    assert np.all(early["log10_compute"].values <= late["log10_compute"].values + 1e-12)
    # Before the start, either policy means w = 0 from s: the long-run rate throughout.
    np.testing.assert_array_equal(early["reversion_year"].values, s)


def test_mirror_is_the_2022_formula(make_scenario: Callable[..., Path], linear_csv: Path) -> None:
    """Under 'mirror' a date d years before the start acts exactly like d years after."""
    runs = [
        _run(make_scenario(dataset=linear_csv, paths=10, reversion=point_mixture(y)))
        for y in (2012.0, 2032.0)
    ]
    np.testing.assert_allclose(
        runs[0]["log10_compute"].values, runs[1]["log10_compute"].values, rtol=0, atol=1e-9
    )


def test_truncate_conditions_the_mixture(make_scenario: Callable[..., Path]) -> None:
    """Normal(2024, 5) with s = 2022 keeps P(R > s) = 0.655 of its mass; normal(2040, 5)
    keeps ~1. Weights 0.5/0.5 become 0.396/0.604 and every date lies after s."""
    mixture = "\n".join(
        f'[[reversion]]\nname = "{n}"\nweight = 0.5\ndistribution = "normal"\nmean = {m}\nsd = 5.0\n'
        for n, m in (("a", 2024.0), ("b", 2040.0))
    )
    proj = _run(make_scenario(paths=20_000, reversion=mixture, policy="truncate"))
    year, component = proj["reversion_year"].values, proj["reversion_component"].values
    assert year.min() > 2022.0
    share_a = np.mean(component == 0)
    assert share_a == pytest.approx(0.5 * 0.6554 / (0.5 * 0.6554 + 0.5 * 0.99970), abs=0.012)
    a = year[component == 0]
    # Truncated normal: mean = mu + sd * phi(alpha) / (1 - Phi(alpha)), alpha = -0.4.
    assert a.mean() == pytest.approx(2024.0 + 5.0 * 0.36827 / 0.65542, abs=0.1)


def test_truncate_with_no_mass_after_the_start_is_refused(
    make_scenario: Callable[..., Path], linear_csv: Path
) -> None:
    """Issue 24: 'truncate' of a mixture with every date before the start has nothing to
    condition on; it is refused rather than run as 'every path reverts at the start'."""
    with pytest.raises(InputError, match="all its mass at or before the start"):
        _run(
            make_scenario(
                dataset=linear_csv, paths=5, reversion=point_mixture(2015.0), policy="truncate"
            )
        )


@pytest.mark.parametrize("dist", ["normal", "uniform", "triangular", "point"])
def test_relative_components_move_with_the_start(
    make_scenario: Callable[..., Path], dist: str
) -> None:
    params = {
        "normal": "mean = 8.0\nsd = 2.0",
        "uniform": "low = 5.0\nhigh = 9.0",
        "triangular": "low = 5.0\nmode = 6.0\nhigh = 9.0",
        "point": "year = 7.0",
    }[dist]
    text = (
        f'[[reversion]]\nname = "r"\nweight = 1.0\ndistribution = "{dist}"\n'
        f'relative_to = "start"\n{params}\n'
    )
    a = _run(make_scenario(paths=300, reversion=text, start_year=2020.0))
    b = _run(make_scenario(paths=300, reversion=text, start_year=2023.5))
    np.testing.assert_allclose(
        b["reversion_year"].values - a["reversion_year"].values, 3.5, atol=1e-9
    )
    assert a["reversion_year"].values.min() >= 2020.0 + (0 if dist == "normal" else 5.0)


def test_relative_to_is_validated(make_scenario: Callable[..., Path]) -> None:
    text = '[[reversion]]\nname = "r"\nweight = 1.0\ndistribution = "point"\nrelative_to = "now"\nyear = 3.0\n'
    with pytest.raises(InputError, match="relative_to' must be one of 'calendar', 'start'"):
        load_scenario(make_scenario(reversion=text))


def test_start_at_the_cutoff(make_scenario: Callable[..., Path]) -> None:
    _, p = _run_plan(
        make_scenario(cutoff="2016-07-01", start_year='"cutoff"', report_years="[2030]")
    )
    assert p.eras.start_year == pytest.approx(decimal_year(__import__("datetime").date(2016, 7, 1)))
    assert p.eras.systems.year.max() <= p.eras.start_year
    with pytest.raises(InputError, match=r"'cutoff' needs a data\.cutoff"):
        load_scenario(make_scenario(start_year='"cutoff"'))


def test_start_error_is_one_draw_per_path(make_scenario: Callable[..., Path]) -> None:
    base = _run(make_scenario(paths=4000))
    noisy = _run(make_scenario(paths=4000), **{"start.log10_sd": 0.3})
    # The offset shifts whole paths.
    shift = noisy["log10_compute"].values - base["log10_compute"].values
    np.testing.assert_allclose(shift, shift[:, :1] * np.ones_like(shift), atol=1e-9)
    np.testing.assert_allclose(shift[:, 0], noisy["start_offset"].values)
    assert noisy["start_offset"].values.std() == pytest.approx(0.3, rel=0.05)
    # The draws come after the older ones: rates and reversion dates are unchanged.
    np.testing.assert_array_equal(base["growth_dl"].values, noisy["growth_dl"].values)
    np.testing.assert_array_equal(base["reversion_year"].values, noisy["reversion_year"].values)


def test_frontier_noise_rows_start_at_zero_and_are_centred(
    make_scenario: Callable[..., Path],
) -> None:
    scen = load_scenario(make_scenario(growth_extra='frontier_noise = "resampled"'))
    p = engine.plan(scen, load_dataset(scen.data.dataset))
    # monthly origins from the first Deep-Learning-era system (2010-01-15) to s = 2022
    n_origin = int((2022.0 - p.eras.dl.year.min()) * 12)
    # lags past the oldest origin's history are all equal: one column stands for them
    assert p.deviation.shape == (n_origin, n_origin + 1)
    np.testing.assert_array_equal(p.deviation[:, 0], 0.0)
    np.testing.assert_allclose(p.deviation.mean(axis=0), 0.0, atol=1e-9)
    # Origins 1 and 2 steps back are frozen after 2 steps (their history runs out at s);
    # centring subtracts the same column mean from both, so their difference is constant.
    diff = p.deviation[0, 2:] - p.deviation[1, 2:]
    np.testing.assert_allclose(diff, diff[0], atol=1e-12)
    proj, q = run_in_memory(scen, load_dataset(scen.data.dataset))
    origin = proj["frontier_origin"].values
    assert np.all((origin >= 2010.0) & (origin < 2022.0))
    np.testing.assert_allclose(proj["log10_compute"].values[:, 0], q.eras.log10_start)


def test_frontier_noise_keeps_the_bits_invariant_to_chunking(
    make_scenario: Callable[..., Path],
) -> None:
    scen = load_scenario(
        make_scenario(
            paths=2500, growth_extra='frontier_noise = "resampled"\nestimate_noise_factor = 2.0'
        )
    )
    systems = load_dataset(scen.data.dataset)
    a, _ = run_in_memory(scen, systems, chunk_paths=2500)
    b, _ = run_in_memory(scen, systems, chunk_paths=700)
    for name in engine.PATH_ARRAYS:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    p = engine.plan(scen, systems)
    c = engine.run_chunk(p, 1300, 1400)
    np.testing.assert_array_equal(c.log10_compute, a["log10_compute"].values[1300:1400])


def test_fit_to_the_frontier_uses_record_setters(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario(growth_extra='fit = "frontier"'))
    p = engine.plan(scen, load_dataset(scen.data.dataset))
    assert 3 <= p.t_dl.size < len(p.eras.dl)
    assert np.all(np.diff(p.y_dl[np.argsort(p.t_dl)]) > 0)


# --- overrides -----------------------------------------------------------------------


def test_override_validates_and_records(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario())
    new = override(scen, dict([parse_set("growth.moore_doubling_months=18")]))
    assert new.moore_doubling_months == 18.0
    assert new.overrides == (("growth.moore_doubling_months", "18"),)
    assert new.sha256 != scen.sha256
    assert override(new, {"data.cutoff": "2020-01-01"}).data.cutoff.isoformat() == "2020-01-01"
    assert parse_set("growth.weight_shape=logistic") == ("growth.weight_shape", "logistic")
    assert parse_set("report.years=[2030, 2040]") == ("report.years", [2030, 2040])
    with pytest.raises(InputError, match="unknown key"):
        override(scen, {"growth.nope": 1})
    with pytest.raises(InputError, match="moore_units' must be one of"):
        override(scen, {"growth.moore_units": "fast"})
    # Overridden scenarios are the file's values otherwise.
    assert dataclasses.replace(
        new, moore_doubling_months=scen.moore_doubling_months, overrides=(), sha256=""
    ) == dataclasses.replace(scen, sha256="")


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["growth.unknown=1"], "--set growth.unknown: unknown key (valid: seed, paths"),
        (["paths=0"], "key 'paths' must be an integer in [1, 10000000]"),
        (["data.cutoff=yesterday"], "key 'cutoff' must be an ISO date"),
        (["=3"], "expected KEY=VALUE"),
    ],
)
def test_validate_set_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], sets: list[str], message: str
) -> None:
    args = ["validate", "default"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_validate_warns_about_mass_before_the_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["validate", "epoch-2022", "--set", "start_year=2031", "--set", "report.years=[2040]"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "ok (epoch-2022" in captured.out
    assert "reversion component 'bearish' puts 57.9% of its probability" in captured.err
    assert "'mirror'" in captured.err


def test_epoch_2022_mirrors_and_default_does_not() -> None:
    assert load_scenario("epoch-2022").reversion_before_start == "mirror"
    assert load_scenario("default").reversion_before_start != "mirror"


def test_default_never_gives_more_compute_for_an_earlier_reversion(tmp_path: Path) -> None:
    """Under `default`, an earlier point reversion gives no more compute than later ones,
    path by path (a point before the start is refused under 'truncate': issue 24)."""
    runs = {}
    for year in (2027.0, 2030.0, 2036.0, 2045.0):
        path = tmp_path / f"d{year:g}.toml"
        path.write_text(
            f'name = "d"\nextends = "default"\npaths = 300\n{point_mixture(year)}', encoding="utf-8"
        )
        scen = load_scenario(path)
        runs[year] = run_in_memory(scen, load_dataset(scen.data.dataset))[0]["log10_compute"].values
    years = sorted(runs)
    for early, late in itertools.pairwise(years):
        assert np.all(runs[early] <= runs[late] + 1e-12)
    assert np.all(runs[2027.0][:, -1] < runs[2045.0][:, -1])
