"""Each numba kernel against its NumPy twin, plus the invariants of the weight function."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.model import kernels, twins


def _knots(rng: np.random.Generator, n: int, n_knot: int) -> np.ndarray:
    """Ceilings at whole years: rising, four of them, one not modelled at first (NaN)."""
    knots = 25 + np.cumsum(rng.uniform(0, 0.6, (n, 4, n_knot)), axis=2)
    knots[:, 3, :3] = np.nan
    return knots


def _inputs(name: str, rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Arguments and output buffers for one kernel (same for kernel and twin)."""
    if name in twins.RECORD_KERNELS:
        return twins.record_inputs(name, 257, rng)
    times = 2022.0 + np.arange(0, 50 * 12 + 1) / 12
    n = 257
    if name == "bootstrap_slopes":
        t = np.sort(rng.uniform(2010, 2022, 40))
        y = 0.6 * t + rng.normal(0, 0.7, 40)
        idx = rng.integers(0, 40, size=(n, 40))
        noise = rng.uniform(-0.3, 0.3, size=(n, 40)) if rng.random() < 0.5 else np.empty((0, 40))
        return (t, y, idx, noise), (np.empty(n),)
    if name == "mixture_draws":
        cum = np.array([0.5, 0.7, 0.85, 0.95, 1.0])
        family = np.array([0, 1, 2, 3, 4])
        params = np.array(
            [[2030, 5, 0], [8, 0.4, 0], [2030, 2050, 0], [2028, 2033, 2045], [2040, 0, 0]],
            dtype=float,
        )
        args = (rng.random(n), rng.standard_normal(n), rng.random(n), cum, family, params, 2022.0)
        return args, (np.empty(n), np.empty(n, dtype=np.int64))
    if name == "weights":
        rev = rng.normal(2032, 8, n)
        rev[:3] = [2022.0, 2010.0, 2100.0]  # at, before and far after the start
        shape, width = int(rng.integers(0, 4)), float(rng.uniform(0.5, 5))
        return (times, 2022.0, rev, shape, width), (np.empty((n, len(times))),)
    if name == "integrate_paths":
        rev = rng.normal(2032, 8, n)
        rev[0] = 2022.0
        args = (
            times,
            2022.0,
            24.1,
            rng.uniform(0.3, 0.9, n),
            rng.uniform(0.05, 0.3, n),
            rev,
            int(rng.integers(0, 4)),
            float(rng.uniform(0.5, 5)),
        )
        return args, (np.empty((n, len(times))),)
    if name == "shift_paths":
        c = 24 + np.cumsum(rng.uniform(0, 0.05, (n, len(times))), axis=1)
        table = rng.normal(0, 0.5, (30, len(times)))
        row = rng.integers(-1, 30, n)
        return (c, rng.normal(0, 0.3, n), table, row), (np.empty((n, len(times))),)
    if name == "first_crossing":
        c = 24 + np.cumsum(rng.uniform(0, 0.05, (n, len(times))), axis=1)
        return (times, c, np.array([20.0, 30.0, 40.0, 60.0])), (np.empty((n, 4)),)
    if name == "running_max":
        c = 24 + np.cumsum(rng.normal(0, 0.05, (n, len(times))), axis=1)
        return (c, 24.1), (np.empty((n, len(times))),)
    if name == "apply_ceilings":
        c = 24 + np.cumsum(rng.uniform(0, 0.05, (n, len(times))), axis=1)
        args = (times, c, int(rng.integers(1, 4)), 2021.0, _knots(rng, n, 52), 0.3)
        return args, (np.empty((n, len(times))), np.empty((n, 4)))
    if name == "project_paths":
        (t, s, c0, g_dl, g_m, rev, shape, width), _ = _inputs("integrate_paths", rng)
        years = np.array([2022.0, 2022.5, 2030.0, 2049.99, 2072.0])
        i = np.clip(np.searchsorted(t, years), 1, len(t) - 1)
        frac = (years - t[i - 1]) / (t[i] - t[i - 1])
        table = rng.normal(0, 0.5, (30, 100))  # fewer columns than times: the last holds
        shift = bool(rng.random() < 0.8)
        records = bool(rng.random() < 0.5)
        args = (t, s, c0, g_dl, g_m, rev, shape, width, shift, rng.normal(0, 0.3, n), table,
                rng.integers(-1, 30, n), np.array([20.0, 30.0, 40.0, 60.0]), i, frac,
                records, c0 + 0.2)  # fmt: skip
        mode = int(rng.integers(0, 4))
        knots = _knots(rng, n, 52) if mode else np.empty((0, 0, 2))
        args = (*args, mode, 2021.0, knots, 0.3)
        outs = (np.empty((n, len(years)), np.float32), np.empty((n, 4)),
                np.empty((int(rng.integers(0, n)), len(t)), np.float32),
                np.empty((n, knots.shape[1])))  # fmt: skip
        return args, outs
    raise KeyError(name)


@pytest.mark.parametrize("name", sorted(twins.COMPARISONS))
@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_matches_twin(name: str, seed: int) -> None:
    kernel, twin = twins.COMPARISONS[name]
    args, outs = _inputs(name, np.random.default_rng(seed))
    twin_outs = tuple(np.full_like(o, -1) for o in outs)
    kernel(*args, *outs)
    twin(*args, *twin_outs)
    for got, want in zip(outs, twin_outs, strict=True):
        # float32 outputs: the twins' float64 values may round to a neighbouring float32
        tol = 1e-6 if got.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def test_ols_fit_is_exact_on_a_line() -> None:
    t = np.array([2010.0, 2011.5, 2013.0, 2020.25])
    slope, intercept = kernels.ols_fit(t, 0.25 * t - 480.0)
    assert slope == pytest.approx(0.25, abs=1e-12)
    assert intercept == pytest.approx(-480.0, abs=1e-8)
    assert math.isnan(kernels.ols_fit(np.full(3, 2000.0), np.arange(3.0))[0])


def test_first_crossing_never_is_nan_and_at_start_is_start() -> None:
    times = np.array([2022.0, 2023.0, 2024.0])
    c = np.array([[25.0, 26.0, 27.0]])
    out = np.empty((1, 3))
    kernels.first_crossing(times, c, np.array([24.0, 26.5, 30.0]), out)
    assert out[0, 0] == 2022.0 and out[0, 1] == 2024.0 and np.isnan(out[0, 2])


@pytest.mark.parametrize(
    ("shape", "at_reversion"),
    [("gaussian", math.exp(-0.5)), ("half-at-reversion", 0.5), ("logistic", 0.5), ("step", 0.0)],
)
def test_weight_values_at_reversion(shape: str, at_reversion: float) -> None:
    times = np.array([2022.0, 2029.999, 2030.0, 2040.0])
    out = np.empty((1, 4))
    kernels.weights(times, 2022.0, np.array([2030.0]), kernels.SHAPE_CODES[shape], 2.0, out)
    assert out[0, 2] == pytest.approx(at_reversion)
    assert out[0, 0] == 1.0
    if shape == "step":  # the Deep-Learning rate until R, the long-run rate from R
        assert out[0, 1] == 1.0 and out[0, 3] == 0.0
    if shape == "logistic":  # 1 / (1 + exp((t - R) / width)) with width 2 years
        assert out[0, 3] == pytest.approx(1 / (1 + math.exp(5.0)))


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(2000, 2100),
    offset=st.floats(-60, 80),
    shape=st.sampled_from([0, 1, 2, 3]),
    horizon=st.floats(0.5, 120),
    width=st.floats(0.05, 20),
)
def test_weight_in_unit_interval_and_non_increasing(
    start: float, offset: float, shape: int, horizon: float, width: float
) -> None:
    times = start + np.linspace(0, horizon, 200)
    out = np.empty((1, times.size))
    kernels.weights(times, start, np.array([start + offset]), shape, width, out)
    w = out[0]
    assert np.all((w >= 0) & (w <= 1))
    assert w[0] == 1.0
    assert np.all(np.diff(w) <= 0)


def test_mixture_point_mass_and_zero_weight_components() -> None:
    n = 1000
    rng = np.random.default_rng(3)
    cum = np.array([0.0, 1.0])  # first component has weight 0
    family = np.array([4, 4])
    params = np.array([[2030.0, 0, 0], [2045.0, 0, 0]])
    year, comp = np.empty(n), np.empty(n, dtype=np.int64)
    kernels.mixture_draws(
        rng.random(n),
        rng.standard_normal(n),
        rng.random(n),
        cum,
        family,
        params,
        2022.0,
        year,
        comp,
    )
    assert np.all(comp == 1) and np.all(year == 2045.0)


def test_triangular_and_uniform_stay_in_support() -> None:
    n = 5000
    rng = np.random.default_rng(4)
    cum = np.array([0.5, 1.0])
    family = np.array([3, 2])
    params = np.array([[2028.0, 2031.0, 2045.0], [2035.0, 2050.0, 0.0]])
    year, comp = np.empty(n), np.empty(n, dtype=np.int64)
    kernels.mixture_draws(
        rng.random(n),
        rng.standard_normal(n),
        rng.random(n),
        cum,
        family,
        params,
        2022.0,
        year,
        comp,
    )
    tri, uni = year[comp == 0], year[comp == 1]
    assert tri.min() >= 2028 and tri.max() <= 2045
    assert uni.min() >= 2035 and uni.max() <= 2050
    # Triangular mean (low + mode + high) / 3 and uniform mean (low + high) / 2.
    assert tri.mean() == pytest.approx((2028 + 2031 + 2045) / 3, abs=0.3)
    assert uni.mean() == pytest.approx(2042.5, abs=0.3)
