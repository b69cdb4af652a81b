"""The engine: reproducibility, invariants and closed-form checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projector.errors import InputError
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.model import engine

from .conftest import DL_SLOPE, PRE_SLOPE, point_mixture, run_in_memory
from .strategies import values


def _run(path: Path, **changes: object) -> tuple[xr.Dataset, engine.Plan]:
    scen = load_scenario(path)
    if changes:
        scen = dataclasses.replace(scen, **changes)
    return run_in_memory(scen, load_dataset(scen.data.dataset))


# make_scenario writes a fresh file on every call, so sharing it across examples is safe.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]

FIELDS = (
    "log10_compute",
    "growth_dl",
    "growth_pre_dl",
    "growth_moore",
    "reversion_year",
    "reversion_component",
    "crossing_year",
)


def _assert_same(
    a: xr.Dataset, b: xr.Dataset, n: int | None = None, n_time: int | None = None
) -> None:
    for name in FIELDS:
        x, y = a[name].values, b[name].values
        if n is not None:
            x, y = x[:n], y[:n]
        if n_time is not None and name == "log10_compute":
            x, y = x[:, :n_time], y[:, :n_time]
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_same_seed_gives_identical_paths(make_scenario: Callable[..., Path]) -> None:
    path = make_scenario(paths=300)
    _assert_same(_run(path)[0], _run(path)[0])


def test_other_seed_gives_other_paths(make_scenario: Callable[..., Path]) -> None:
    a, _ = _run(make_scenario(seed=1))
    b, _ = _run(make_scenario(seed=2))
    assert not np.array_equal(a["growth_dl"].values, b["growth_dl"].values)


@pytest.mark.parametrize("chunk", [1, 7, 999, 1000, 1001, 5000])
def test_chunking_does_not_change_results(make_scenario: Callable[..., Path], chunk: int) -> None:
    scen = load_scenario(make_scenario(paths=2100))
    systems = load_dataset(scen.data.dataset)
    ref, _ = run_in_memory(scen, systems, chunk_paths=2000)
    _assert_same(ref, run_in_memory(scen, systems, chunk_paths=chunk)[0])


def test_thread_count_does_not_change_results(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario(paths=1500))
    systems = load_dataset(scen.data.dataset)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, _ = run_in_memory(scen, systems)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many, _ = run_in_memory(scen, systems)
    finally:
        numba.set_num_threads(before)
    _assert_same(one, many)


@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(small=st.integers(1, 1200), extra=st.integers(1, 1500), seed=st.integers(0, 2**32))
def test_more_paths_leave_the_first_unchanged(
    make_scenario: Callable[..., Path], small: int, extra: int, seed: int
) -> None:
    path = make_scenario(seed=seed)
    a, _ = _run(path, paths=small)
    b, _ = _run(path, paths=small + extra)
    _assert_same(a, b, n=small)


@settings(max_examples=10, deadline=None, suppress_health_check=FIXTURE_OK)
@given(end=st.floats(2025, 2060), more=st.floats(0.5, 60), steps=st.sampled_from([1, 4, 12, 52]))
def test_longer_horizon_leaves_earlier_steps_unchanged(
    make_scenario: Callable[..., Path], end: float, more: float, steps: int
) -> None:
    path = make_scenario(paths=50, steps_per_year=steps, report_years="[2024]")
    a, _ = _run(path, end_year=end)
    b, _ = _run(path, end_year=end + more)
    ta, tb = a["time"].values, b["time"].values
    k = ta.size
    np.testing.assert_array_equal(ta, tb[:k])
    np.testing.assert_array_equal(a["log10_compute"].values, b["log10_compute"].values[:, :k])


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    seed=values("seed", typical=False),
    shape=values("growth.weight_shape"),
    units=values("growth.moore_units"),
    start=st.floats(2021.5, 2030),
)
def test_valid_input_gives_no_nan_and_ordered_quantiles(
    make_scenario: Callable[..., Path], seed: int, shape: str, units: str, start: float
) -> None:
    ds, _ = _run(
        make_scenario(
            seed=seed,
            weight_shape=shape,
            moore_units=units,
            paths=120,
            start_year=start,
            report_years=f"[{start + 5}]",
        )
    )
    c = ds["log10_compute"].values
    assert np.isfinite(c).all()
    assert (ds["growth_dl"].values > 0).all() and (ds["growth_moore"].values > 0).all()
    # Paths never fall: every rate is positive.
    assert (np.diff(c, axis=1) > 0).all()
    qs = np.quantile(c[:, -1], [0.025, 0.25, 0.5, 0.75, 0.975])
    assert np.all(np.diff(qs) >= 0)


def test_zero_variance_rates_are_the_true_slopes(
    make_scenario: Callable[..., Path], linear_csv: Path
) -> None:
    ds, _ = _run(make_scenario(dataset=linear_csv))
    np.testing.assert_allclose(ds["growth_dl"].values, DL_SLOPE, rtol=1e-9)
    np.testing.assert_allclose(ds["growth_pre_dl"].values, PRE_SLOPE, rtol=1e-9)
    g_ref = math.log10(2) * 12 / 20
    np.testing.assert_allclose(ds["growth_moore"].values, math.sqrt(PRE_SLOPE * g_ref), rtol=1e-9)


def test_point_mass_at_start_gives_closed_form_path(
    make_scenario: Callable[..., Path], linear_csv: Path
) -> None:
    """R = s: w = 1 at s and 0 after, so log10 C = c0 + trapezoid first step + g_m (t - s - dt)."""
    ds, p = _run(make_scenario(dataset=linear_csv, reversion=point_mixture(2022.0), paths=20))
    g_dl, g_m = DL_SLOPE, math.sqrt(PRE_SLOPE * math.log10(2) * 12 / 20)
    t = ds["time"].values
    dt = t[1] - t[0]
    c0 = p.eras.log10_start
    expect = c0 + 0.5 * (g_dl + g_m) * dt + g_m * (t - t[0] - dt)
    expect[0] = c0
    np.testing.assert_allclose(
        ds["log10_compute"].values, np.broadcast_to(expect, (20, t.size)), atol=1e-9
    )


def test_point_mass_path_matches_quadrature(
    make_scenario: Callable[..., Path], linear_csv: Path
) -> None:
    """Fixed R: the path is the integral of g_DL^w g_m^(1-w); compare with scipy quad."""
    from scipy.integrate import quad

    ds, p = _run(
        make_scenario(
            dataset=linear_csv, reversion=point_mixture(2034.0), paths=3, steps_per_year=52
        )
    )
    times, c = ds["time"].values, ds["log10_compute"].values
    g_dl, g_m, s, r = DL_SLOPE, math.sqrt(PRE_SLOPE * math.log10(2) * 12 / 20), 2022.0, 2034.0

    def g(tau: float) -> float:
        w = math.exp(-((tau - s) ** 2) / (2 * (r - s) ** 2))
        return g_dl**w * g_m ** (1 - w)

    for k in (52, 520, times.size - 1):
        exact = p.eras.log10_start + quad(g, s, times[k])[0]
        assert c[0, k] == pytest.approx(exact, abs=1e-5)


def test_equal_rates_give_a_straight_line(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    from .conftest import synthetic_rows, write_bundled_csv

    # Choose the pre-DL slope so that sqrt(g_pre * g_ref) equals the DL slope.
    g_ref = math.log10(2) * 12 / 20
    rows = synthetic_rows(pre_slope=DL_SLOPE**2 / g_ref)
    csv_path = write_bundled_csv(tmp_path / "equal.csv", rows)
    ds, p = _run(make_scenario(dataset=csv_path, paths=10))
    t = ds["time"].values
    line = p.eras.log10_start + DL_SLOPE * (t - t[0])
    np.testing.assert_allclose(
        ds["log10_compute"].values, np.broadcast_to(line, (10, t.size)), atol=1e-8
    )


def test_mixture_proportions_match_weights(make_scenario: Callable[..., Path]) -> None:
    ds, _ = _run(make_scenario(paths=20_000))
    component, year = ds["reversion_component"].values, ds["reversion_year"].values
    counts = np.bincount(component, minlength=3) / 20_000
    # Binomial standard error is at most sqrt(0.25 / 20000) = 0.0035; allow 4 sigma.
    np.testing.assert_allclose(counts, [0.75, 0.2, 0.05], atol=0.014)
    for k, mean in enumerate([2030, 2034, 2040]):
        years = year[component == k]
        assert years.mean() == pytest.approx(mean, abs=4 * 5 / math.sqrt(years.size))
        assert years.std() == pytest.approx(5, rel=0.1)


def test_frontier_trend_and_explicit_start(make_scenario: Callable[..., Path]) -> None:
    _, frontier = _run(make_scenario(paths=5))
    systems = frontier.eras.systems
    assert frontier.eras.log10_start == pytest.approx(systems.log10_compute.max())
    _, explicit = _run(make_scenario(paths=5, start_compute="25.5"))
    assert explicit.eras.log10_start == 25.5
    _, trend = _run(make_scenario(paths=5, start_compute='"trend"'))
    assert trend.eras.log10_start == pytest.approx(20 + DL_SLOPE * 7, abs=0.5)


def test_latest_data_start(make_scenario: Callable[..., Path]) -> None:
    ds, p = _run(make_scenario(paths=5, start_year='"latest-data"', report_years="[2040]"))
    assert p.eras.start_year == pytest.approx(p.eras.systems.year.max())
    assert ds["time"].values[0] == p.eras.start_year


def test_cutoff_and_era_boundaries(make_scenario: Callable[..., Path]) -> None:
    _, p = _run(make_scenario(paths=5, cutoff="2015-12-31"))
    assert p.eras.dl.year.max() < 2016
    assert p.eras.pre_dl.year.max() < 2010 <= p.eras.dl.year.min()


def test_nonpositive_rate_is_an_error_or_a_clip(
    tmp_path: Path, make_scenario: Callable[..., Path]
) -> None:
    from .conftest import write_bundled_csv

    # A flat pre-DL era with a falling tail: many bootstrap slopes are <= 0.
    rows = []
    for i, year in enumerate(range(1990, 2022)):
        y = 10 - 0.05 * (year - 1990) if year < 2010 else 20 + 0.5 * (year - 2010)
        rows.append(
            {
                "system": f"s{i}",
                "publication_date": f"{year}-06-01",
                "training_compute_flop": repr(10.0**y),
                "source": f"r{i}",
            }
        )
    csv_path = write_bundled_csv(tmp_path / "falling.csv", rows)
    with pytest.raises(InputError, match=r"pre-DL growth rate of path 0 is .*<= 0"):
        _run(make_scenario(dataset=csv_path))
    ds, _ = _run(make_scenario(dataset=csv_path, nonpositive="clip"))
    assert ds.attrs["clipped_rate_draws"] == 200
    assert np.isfinite(ds["log10_compute"].values).all()


def test_too_few_systems_in_an_era(tmp_path: Path, make_scenario: Callable[..., Path]) -> None:
    from .conftest import synthetic_rows, write_bundled_csv

    rows = [r for r in synthetic_rows() if r["publication_date"] >= "2009-06"]
    csv_path = write_bundled_csv(tmp_path / "few.csv", rows)
    with pytest.raises(InputError, match=r"only 1 usable system\(s\) in the pre-Deep-Learning era"):
        _run(make_scenario(dataset=csv_path))


def test_time_grid_is_built_from_integer_steps() -> None:
    t = engine.time_grid(2022.0, 2100.0, 12)
    assert t.size == 78 * 12 + 1 and t[0] == 2022.0 and t[-1] == pytest.approx(2100.0)
    off = engine.time_grid(2025.32, 2100.0, 12)  # start off the monthly grid of the end
    assert off[-2] < 2100.0 <= off[-1] < 2100.0 + 1 / 12
    assert engine.moore_rate(20, "consistent") == pytest.approx(0.1806, abs=1e-4)
    assert engine.moore_rate(20, "published-notebook") == pytest.approx(0.4159, abs=1e-4)


@pytest.mark.parametrize("name", ["default", "epoch-2022"])
def test_reduced_chunks_have_the_bits_of_whole_paths(name: str) -> None:
    """project_paths (path by path, what the store keeps) equals the whole-path kernels."""
    from projector.model import cube
    from projector.pipeline import run as api

    scen = api.resolve(name, paths=2500, seed=None, dataset=None, changes=None)
    p = engine.plan(scen, load_dataset(scen.data.dataset))
    years = cube.yearly_grid(p.times, scen.report_years)
    keep = 1300  # inside the second chunk
    for first, stop in engine.chunk_bounds(2500, 1000):
        whole = cube.chunk_arrays(p, engine.run_chunk(p, first, stop), years, keep)
        reduced = engine.run_chunk(p, first, stop, cube.reduction(p, years, keep))
        fast = cube.chunk_arrays(p, reduced, years, keep)
        assert whole.keys() == fast.keys()
        for key, value in whole.items():
            assert value.dtype == fast[key].dtype and value.shape == fast[key].shape, key
            assert np.ascontiguousarray(value).tobytes() == fast[key].tobytes(), key
