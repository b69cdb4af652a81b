"""The record process's numba kernels (twins in ``projector.model.twins``).

Dependency direction: ``kernels``, ``ceiling_kernels`` -> ``record_kernels``; imported on
first use by :mod:`projector.model.record_process`, so fitting the record process (a
plan, ``projector validate``) never loads numba.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from projector.model import kernels
from projector.model.ceiling_kernels import _ceiling_one

__all__ = ["project_record_paths", "record_paths"]


@nb.njit(cache=True, inline="always")
def _records_one(
    times: np.ndarray,
    latent: np.ndarray,
    floor: float,
    scale: float,
    u: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """One path of :func:`record_paths` into ``out`` (may be ``latent`` itself)."""
    best = floor
    prev = latent[0]
    out[0] = best
    for i in range(1, times.shape[0]):
        hi = latent[i]
        x = (hi - prev) / scale
        mean = -math.expm1(-x) / x if abs(x) > 1e-12 else 1.0
        loc = hi + scale * (math.log(times[i] - times[i - 1]) + math.log(mean))
        if u[i - 1] > 0.0:
            top = loc - scale * math.log(-math.log(u[i - 1]))
            if top > best:
                best = top
        prev = hi
        out[i] = best


@nb.njit(cache=True, parallel=True, nogil=True)
def record_paths(
    times: np.ndarray,
    latent: np.ndarray,
    floor: np.ndarray,
    scale: np.ndarray,
    u: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """The frontier as the running maximum of releases about a latent level.

    In step ``[t_(i-1), t_i]`` the largest release is Gumbel with scale ``scale[j]`` and
    location ``scale * ln(integral of exp(L / scale))`` (L linear in the step, integrated
    exactly), drawn by inverse CDF from ``u[j, i-1]``: ``loc - scale * ln(-ln u)``;
    ``out[j, i] = max(floor[j], the largest releases up to t_i)``.

    Parameters
    ----------
    times : (n_time,) float64 [decimal year]
    latent : (n_path, n_time) float64 [log10 FLOP], L on the grid
    floor : (n_path,) float64 [log10 FLOP], the record at the start, C(s)
    scale : (n_path,) float64 [OOM], the tail scale beta
    u : (n_path, n_time - 1) float64, uniforms in [0, 1) (0: no release)
    out : (n_path, n_time) float64 [log10 FLOP]; may be ``latent`` itself
    """
    for j in nb.prange(latent.shape[0]):
        _records_one(times, latent[j], floor[j], scale[j], u[j], out[j])


@nb.njit(cache=True, parallel=True, nogil=True)
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
) -> None:  # pragma: no cover - jitted
    """``kernels.integrate_paths`` from each path's ``level`` L(s), :func:`record_paths`,
    the ceilings (``ceiling_kernels.apply_ceilings`` on the frontier, then the record at the
    start as a floor again, when ``ceiling_mode`` > 0) and ``kernels.first_crossing`` path
    by path: the first ``out_full.shape[0]`` paths
    whole (any float dtype) and, when ``year_index`` is not empty, the values at the years
    (as ``kernels.project_paths``: one row of buffer per path, the same bits either way)."""
    n_time = times.shape[0]
    for j in nb.prange(growth_dl.shape[0]):
        buf = np.empty(n_time)
        kernels._integrate_one(
            times, start_year, level[j], growth_dl[j], growth_moore[j], reversion[j],
            shape, width, buf,
        )  # fmt: skip
        _records_one(times, buf, floor[j], scale[j], u[j], buf)
        if ceiling_mode > 0:
            _ceiling_one(times, buf, ceiling_mode, knot0, knots[j], softness, out_reached[j])
            kernels._record_one(buf, floor[j], buf)
        kernels._crossing_one(times, buf, thresholds, out_crossing[j])
        kernels._keep_one(buf, year_index, year_frac, j, out_yearly, out_full)
