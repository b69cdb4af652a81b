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

from projector.model import ceiling_kernels, kernels, record_process

__all__ = ["COMPARISONS", "RECORD_KERNELS", "record_inputs"]


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
    _keep(paths, year_index, year_frac, out_yearly, out_full)


def _keep(
    paths: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    out_yearly: np.ndarray,
    out_full: np.ndarray,
) -> None:
    """What a store keeps: the paths at the years (float32) and the first rows whole."""
    if year_index.size:
        yearly = paths[:, year_index - 1] * (1 - year_frac) + paths[:, year_index] * year_frac
        out_yearly[:] = yearly.astype(np.float32)
    out_full[:] = paths[: out_full.shape[0]].astype(out_full.dtype)


def record_paths(
    times: np.ndarray,
    latent: np.ndarray,
    floor: np.ndarray,
    scale: np.ndarray,
    u: np.ndarray,
    out: np.ndarray,
) -> None:
    """Twin of :func:`projector.model.record_process.record_paths`: each step's largest
    release is Gumbel(loc, scale), loc = scale * ln(integral of exp(L / scale)); the
    frontier is the running maximum of C(s) and them."""
    lo, hi, b = latent[:, :-1], latent[:, 1:], scale[:, None]
    dt = np.diff(times)[None, :]
    x = (hi - lo) / b
    with np.errstate(divide="ignore", invalid="ignore"):
        integral = np.where(np.abs(x) > 1e-12, dt * b * (np.exp(hi / b) - np.exp(lo / b))
                            / (hi - lo), dt * np.exp(hi / b))  # fmt: skip
        top = np.where(u > 0, b * np.log(integral) - b * np.log(-np.log(u)), -np.inf)
    steps = np.concatenate([floor[:, None], top], axis=1)
    out[:] = np.maximum.accumulate(np.maximum(steps, floor[:, None]), axis=1)


def project_record_paths(
    times: np.ndarray,
    start_year: float,
    level: np.ndarray,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    floor: np.ndarray,
    scale: np.ndarray,
    u: np.ndarray,
    thresholds: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    ceiling_mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out_yearly: np.ndarray,
    out_crossing: np.ndarray,
    out_full: np.ndarray,
    out_reached: np.ndarray,
) -> None:
    """Twin of :func:`projector.model.record_process.project_record_paths`."""
    paths = np.empty((len(growth_dl), len(times)))
    integrate_paths(times, start_year, 0.0, growth_dl, growth_moore, reversion, shape,
                    width, paths)  # fmt: skip
    paths += level[:, None]
    record_paths(times, paths, floor, scale, u, paths)
    if ceiling_mode > 0:
        apply_ceilings(times, paths, ceiling_mode, knot0, knots, softness, paths, out_reached)
        paths[:] = np.maximum.accumulate(np.maximum(paths, floor[:, None]), axis=1)
    first_crossing(times, paths, thresholds, out_crossing)
    _keep(paths, year_index, year_frac, out_yearly, out_full)


def record_inputs(name: str, n: int, rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Arguments and output buffers of the record-process kernels (tests and benchmarks)."""
    times = 2022.0 + np.arange(0, 50 * 12 + 1) / 12
    latent = 24.0 + np.cumsum(rng.uniform(0, 0.08, (n, len(times))), axis=1)
    floor = 24.3 + rng.normal(0, 0.2, n)
    scale = rng.uniform(0.2, 1.0, n)
    u = rng.random((n, len(times) - 1))
    u[0, :3] = 0.0  # a step with no release
    if name == "record_paths":
        return (times, latent, floor, scale, u), (np.empty((n, len(times))),)
    rev = rng.normal(2032, 8, n)
    years = np.array([2022.0, 2022.5, 2030.0, 2049.99, 2072.0])
    i = np.clip(np.searchsorted(times, years), 1, len(times) - 1)
    frac = (years - times[i - 1]) / (times[i] - times[i - 1])
    base = (times, 2022.0, 24.0 + rng.normal(0, 0.3, n), rng.uniform(0.3, 0.9, n),
            rng.uniform(0.05, 0.3, n), rev, int(rng.integers(0, 4)), float(rng.uniform(0.5, 5)),
            floor, scale, u, np.array([20.0, 30.0, 40.0, 60.0]), i, frac)  # fmt: skip
    mode = int(rng.integers(0, 4))
    knots = 25 + np.cumsum(rng.uniform(0, 0.6, (n, 4, 52)), axis=2)
    knots[:, 3, :3] = np.nan  # a ceiling not modelled at first
    knots = knots if mode else np.empty((0, 0, 2))
    args = (*base, mode, 2021.0, knots, 0.3)
    outs = (np.empty((n, len(years)), np.float32), np.empty((n, 4)),
            np.empty((int(rng.integers(0, n)), len(times)), np.float32),
            np.empty((n, knots.shape[1])))  # fmt: skip
    return args, outs


#: The record-process kernels, whose inputs ``record_inputs`` builds.
RECORD_KERNELS = ("record_paths", "project_record_paths")

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
    "record_paths": (record_process.record_paths, record_paths),
    "project_record_paths": (record_process.project_record_paths, project_record_paths),
}
