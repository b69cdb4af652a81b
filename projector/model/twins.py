"""Slow, obviously correct NumPy twins of the numba kernels in ``projector.model.kernels``.

Dependency direction: imports ``kernels`` only for the registry. Each twin has the
kernel's signature (inputs, then ``out``) and is written as the formula reads, with
no attempt at speed. ``tests/test_kernels.py`` compares every pair through
:data:`COMPARISONS`, and ``benchmarks/bench_kernels.py`` times the same pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from projector.model import ceiling_kernels, kernels

__all__ = ["COMPARISONS"]


def ols_fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.all(t == t[0]):
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(t, y, 1)
    return float(slope), float(intercept)


def bootstrap_slopes(
    t: np.ndarray, y: np.ndarray, idx: np.ndarray, noise: np.ndarray, out: np.ndarray
) -> None:
    for b in range(idx.shape[0]):
        yb = y[idx[b]] + (noise[b] if noise.shape[0] else 0.0)
        out[b] = ols_fit(t[idx[b]], yb)[0]


def mixture_draws(
    u_pick: np.ndarray,
    z: np.ndarray,
    u: np.ndarray,
    cum_weights: np.ndarray,
    family: np.ndarray,
    params: np.ndarray,
    start_year: float,
    out_year: np.ndarray,
    out_component: np.ndarray,
) -> None:
    comp = np.minimum(np.searchsorted(cum_weights, u_pick, side="right"), len(cum_weights) - 1)
    out_component[:] = comp
    a, b, c = params[comp, 0], params[comp, 1], params[comp, 2]
    f = family[comp]
    # Every family's formula is evaluated for every path, then the chosen one kept;
    # the others may overflow or divide by zero harmlessly.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        fc = (b - a) / (c - a)
        tri = np.where(
            u < fc, a + np.sqrt(u * (c - a) * (b - a)), c - np.sqrt((1 - u) * (c - a) * (c - b))
        )
        out_year[:] = np.select(
            [f == 0, f == 1, f == 2, f == 3, f == 4],
            [a + b * z, start_year + a * np.exp(b * z), a + (b - a) * u, tri, a],
        )


def weights(
    times: np.ndarray,
    start_year: float,
    reversion: np.ndarray,
    shape: int,
    width: float,
    out: np.ndarray,
) -> None:
    dt = (times - start_year)[None, :]
    span = (reversion - start_year)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if shape == 2:
            w = 1.0 / (1.0 + np.exp((dt - span) / width))
        elif shape == 3:
            w = np.where(dt < span, 1.0, 0.0)
        else:
            x2 = (dt / span) ** 2
            w = np.exp(-x2 / 2) if shape == 0 else 2.0 ** (-x2)
            w = np.where(span == 0, 0.0, w)
    out[:] = np.where(dt <= 0, 1.0, w)


def integrate_paths(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    out: np.ndarray,
) -> None:
    w = np.empty((len(reversion), len(times)))
    weights(times, start_year, reversion, shape, width, w)
    g = growth_dl[:, None] ** w * growth_moore[:, None] ** (1 - w)
    steps = 0.5 * (g[:, 1:] + g[:, :-1]) * np.diff(times)[None, :]
    out[:, 0] = log10_start
    out[:, 1:] = log10_start + np.cumsum(steps, axis=1)


def first_crossing(
    times: np.ndarray, log10_compute: np.ndarray, thresholds: np.ndarray, out: np.ndarray
) -> None:
    for a, thr in enumerate(thresholds):
        reached = log10_compute >= thr
        first = np.argmax(reached, axis=1)
        out[:, a] = np.where(reached.any(axis=1), times[first], np.nan)


def shift_paths(
    log10_compute: np.ndarray,
    offset: np.ndarray,
    deviation: np.ndarray,
    row: np.ndarray,
    out: np.ndarray,
) -> None:
    dev = np.zeros_like(log10_compute)
    has = row >= 0
    if has.any():
        cols = np.minimum(np.arange(log10_compute.shape[1]), deviation.shape[1] - 1)
        dev[has] = deviation[row[has]][:, cols]
    out[:] = log10_compute + offset[:, None] + dev


def apply_ceilings(
    times: np.ndarray,
    paths: np.ndarray,
    mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out: np.ndarray,
    out_reached: np.ndarray,
) -> None:
    """Twin of :func:`projector.model.ceiling_kernels.apply_ceilings`."""
    x = times - knot0
    m = np.clip(np.floor(x).astype(np.int64), 0, knots.shape[2] - 2)
    f = x - m
    each = knots[:, :, m] * (1 - f) + knots[:, :, m + 1] * f  # (path, ceiling, time)
    with np.errstate(invalid="ignore"):
        reached = paths[:, None, :] >= each  # NaN compares False: never
    first = np.argmax(reached, axis=2)
    out_reached[:] = np.where(reached.any(axis=2), times[first], np.nan)
    c = np.min(np.where(np.isnan(each), np.inf, each), axis=1)
    if mode == 2:
        out[:] = np.minimum(paths, c)
    elif mode == 3:
        ln10 = np.log(10.0)
        soft = -softness * np.logaddexp(-paths * ln10 / softness, -c * ln10 / softness) / ln10
        out[:] = np.where(np.isinf(c), paths, soft)
    else:
        out[:] = paths


# kernel -> twin, for the comparison test and the benchmarks.
def running_max(paths: np.ndarray, floor: float, out: np.ndarray) -> None:
    """Twin of :func:`projector.model.kernels.running_max`."""
    out[:] = np.maximum.accumulate(np.maximum(paths, floor), axis=1)


def project_paths(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    shift: bool,
    offset: np.ndarray,
    deviation: np.ndarray,
    row: np.ndarray,
    thresholds: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    records: bool,
    floor: float,
    ceiling_mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out_yearly: np.ndarray,
    out_crossing: np.ndarray,
    out_full: np.ndarray,
    out_reached: np.ndarray,
) -> None:
    paths = np.empty((len(growth_dl), len(times)))
    integrate_paths(times, start_year, log10_start, growth_dl, growth_moore, reversion,
                    shape, width, paths)  # fmt: skip
    if shift:
        shift_paths(paths, offset, deviation, row, paths)
    if ceiling_mode > 0:
        apply_ceilings(times, paths, ceiling_mode, knot0, knots, softness, paths, out_reached)
    if records:
        running_max(paths, floor, paths)
    first_crossing(times, paths, thresholds, out_crossing)
    yearly = paths[:, year_index - 1] * (1 - year_frac) + paths[:, year_index] * year_frac
    out_yearly[:] = yearly.astype(np.float32)
    out_full[:] = paths[: out_full.shape[0]].astype(np.float32)


COMPARISONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "bootstrap_slopes": (kernels.bootstrap_slopes, bootstrap_slopes),
    "mixture_draws": (kernels.mixture_draws, mixture_draws),
    "weights": (kernels.weights, weights),
    "integrate_paths": (kernels.integrate_paths, integrate_paths),
    "first_crossing": (kernels.first_crossing, first_crossing),
    "shift_paths": (kernels.shift_paths, shift_paths),
    "running_max": (kernels.running_max, running_max),
    "apply_ceilings": (ceiling_kernels.apply_ceilings, apply_ceilings),
    "project_paths": (kernels.project_paths, project_paths),
}
