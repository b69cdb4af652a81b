"""Summaries: exact over all paths, monotone where the method says so, honest MCSE."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from projector.inputs.scenario import load_scenario, override
from projector.inputs.systems import load_dataset
from projector.model.summary import (
    PRECISION,
    paths_needed,
    probability_mcse,
    quantiles_with_mcse,
    summarize,
    value_at,
)
from projector.render.report import summary_csv, summary_markdown

from .conftest import run_in_memory


@pytest.fixture(scope="module")
def default_systems():  # type: ignore[no-untyped-def]
    return load_dataset("bundled")


@pytest.fixture
def cube(make_scenario: Callable[..., Path]):  # type: ignore[no-untyped-def]
    scen = load_scenario(make_scenario(paths=1500))
    return run_in_memory(scen, load_dataset(scen.data.dataset))[0]


def test_dims_and_coordinates(cube) -> None:  # type: ignore[no-untyped-def]
    s = summarize(cube)
    assert s["compute_quantile"].dims == ("year", "quantile")
    assert s["crossing_quantile"].dims == ("anchor", "quantile")
    assert s["p_crossed"].dims == ("anchor", "year")
    for year in (2030.0, 2040.0, 2050.0):
        assert year in s["year"].values
    assert {0.025, 0.5, 0.975} <= set(s["quantile"].values)
    assert s.attrs["paths"] == 1500
    for name in PRECISION:
        if name == "p_above_threshold" and name not in s:  # only with report.thresholds
            continue
        assert s[f"{name}_mcse"].attrs["quotable_below"] == PRECISION[name][1]


def test_figures_are_exact_over_all_paths(cube) -> None:  # type: ignore[no-untyped-def]
    s = summarize(cube)
    at = value_at(cube, 2040.0).astype(np.float32)
    np.testing.assert_allclose(
        s["compute_quantile"].sel(year=2040.0).values,
        np.quantile(at, s["quantile"].values),
        rtol=0,
        atol=1e-5,
    )
    cross = cube["crossing_year"].values[:, 1]
    as_inf = np.where(np.isnan(cross), np.inf, cross)
    for y in (2030.0, 2050.0):
        assert float(s["p_crossed"].sel(anchor="high", year=y)) == np.mean(as_inf <= y)
    expected = np.quantile(as_inf, s["quantile"].values, method="inverted_cdf")
    np.testing.assert_array_equal(s["crossing_quantile"].sel(anchor="high").values, expected)
    assert float(s["p_never"].sel(anchor="high")) == np.mean(np.isnan(cross))


def test_properties_of_the_method(cube) -> None:  # type: ignore[no-untyped-def]
    """P(crossed by y) never falls with y; a higher anchor is never crossed earlier."""
    s = summarize(cube)
    p = s["p_crossed"].values
    assert np.all(np.diff(p, axis=1) >= 0)
    assert np.all(p[1] <= p[0])  # "high" (34) against "low" (26)
    lo, hi = s["crossing_quantile"].values
    assert np.all(hi >= lo)
    assert np.all(np.diff(s["compute_quantile"].values, axis=1) >= 0)


def test_quantile_mcse_of_a_normal_sample() -> None:
    """The order-statistic MCSE of a normal median is sqrt(pi/2) / sqrt(N)."""
    x = np.random.default_rng(3).standard_normal(200_000)
    est, se = quantiles_with_mcse(x, [0.5, 0.975])
    assert abs(est[0]) < 5 * se[0]
    assert se[0] == pytest.approx(math.sqrt(math.pi / 2) / math.sqrt(x.size), rel=0.1)
    # density at the 97.5% point: se = sqrt(q(1-q)/N) / phi(z)
    phi = math.exp(-(1.96**2) / 2) / math.sqrt(2 * math.pi)
    assert se[1] == pytest.approx(math.sqrt(0.975 * 0.025 / x.size) / phi, rel=0.15)


def test_probability_mcse_and_paths_needed() -> None:
    assert probability_mcse(500, 1000) == pytest.approx(math.sqrt(0.25 / 1000), rel=1e-3)
    assert probability_mcse(0, 1000) > 0  # never claims certainty
    assert paths_needed(0.01, 1000, 0.005) == 4000
    assert math.isinf(paths_needed(math.inf, 1000, 0.005))


def test_mcse_is_honest_across_seeds(default_systems) -> None:  # type: ignore[no-untyped-def]
    """20 seeds of 2,000 paths: the spread of the median crossing year of the median
    anchor agrees with the mean MCSE the summaries report, within a factor of 1.5."""
    scen0 = load_scenario("default")
    medians, mcse, compute, compute_mcse = [], [], [], []
    for seed in range(20):
        scen = override(scen0, {"paths": 2000, "seed": 1000 + seed})
        s = summarize(run_in_memory(scen, default_systems)[0])
        cell = {"anchor": "median-anchor", "quantile": 0.5}
        medians.append(float(s["crossing_quantile"].sel(cell)))
        mcse.append(float(s["crossing_quantile_mcse"].sel(cell)))
        compute.append(float(s["compute_quantile"].sel(year=2050.0, quantile=0.5)))
        compute_mcse.append(float(s["compute_quantile_mcse"].sel(year=2050.0, quantile=0.5)))
    for values, reported in ((medians, mcse), (compute, compute_mcse)):
        ratio = np.std(values, ddof=1) / np.mean(reported)
        assert 1 / 1.5 <= ratio <= 1.5, ratio


def test_reports_flag_figures_that_need_more_paths(cube) -> None:  # type: ignore[no-untyped-def]
    s = summarize(cube)
    md = summary_markdown(s)
    lines = summary_csv(s).splitlines()
    assert lines[0] == "section,subject,year,statistic,value,mcse,quotable,paths_needed"
    flagged = [line for line in lines[1:] if ",false," in line]
    assert flagged and "†" in md and "paths would settle" in md
    for line in flagged:
        cells = line.split(",")
        mcse, need = float(cells[5]), float(cells[7])
        assert need > 1500 or math.isinf(need)
        kind = "compute_quantile" if cells[0] == "compute" else "p_crossed"
        if cells[3].startswith("crossing_year"):
            kind = "crossing_quantile"
        if math.isfinite(need):
            assert need == pytest.approx(1500 * (mcse / PRECISION[kind][1]) ** 2, rel=1e-3)
