"""The record-process kernel of the warm path: the same bits, with the seed's part kept.

Dependency direction: ``kernels``, ``ceiling_kernels`` -> ``warm_kernels`` ->
``record_process`` (which calls :func:`project_record_paths_warm` when
:mod:`projector.model.memo` keeps draws). No I/O, no random numbers.

``record_process.project_record_paths`` spends about a third of its time on two
logarithms that depend only on the seed and the grid: ``ln(-ln u)`` of each release's
uniform and ``ln(t_i - t_(i-1))`` of each step. A run that moves a slider changes
neither, so the warm path computes them once (:func:`gumbel_terms`, :func:`log_steps`,
with the very same ``math.log`` calls, hence the same bits), keeps them with the draws,
and this kernel reads them instead. It also finds every anchor's crossing in the one
pass along the path (the first time a path reaches a threshold is the first time its
running maximum does, so the answer is the same grid time). Everything else is the
main kernel's own inlined steps in the same order: ``kernels._integrate_one``,
``ceiling_kernels._ceiling_one``, ``kernels._record_one``, ``kernels._keep_one``.

Twin: the main kernel itself (``record_process.project_record_paths``, whose NumPy twin
is ``twins.project_record_paths``); the tests require identical bits.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from projector.model import kernels
from projector.model.ceiling_kernels import _ceiling_one

__all__ = ["crossings_one_pass", "gumbel_terms", "log_steps", "project_record_paths_warm"]


@nb.njit(cache=True, parallel=True, nogil=True)
def gumbel_terms(u: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - jitted
    """``out = ln(-ln u)`` elementwise (``inf`` where ``u`` is 0: no release)."""
    for j in nb.prange(u.shape[0]):
        for i in range(u.shape[1]):
            out[j, i] = math.log(-math.log(u[j, i])) if u[j, i] > 0.0 else math.inf


@nb.njit(cache=True, nogil=True)
def log_steps(times: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - jitted
    """``out[i - 1] = ln(t_i - t_(i-1))``."""
    for i in range(1, times.shape[0]):
        out[i - 1] = math.log(times[i] - times[i - 1])


@nb.njit(cache=True, inline="always")
def _records_warm(
    latent: np.ndarray,
    floor: float,
    scale: float,
    log_dt: np.ndarray,
    gumbel: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """``record_process._records_one`` with ``ln(dt)`` and ``ln(-ln u)`` given: where
    ``u`` is 0 the term is ``inf`` and ``top`` is ``-inf``, never a record (as skipped)."""
    best = floor
    prev = latent[0]
    out[0] = best
    for i in range(1, latent.shape[0]):
        hi = latent[i]
        x = (hi - prev) / scale
        mean = -math.expm1(-x) / x if abs(x) > 1e-12 else 1.0
        loc = hi + scale * (log_dt[i - 1] + math.log(mean))
        top = loc - scale * gumbel[i - 1]
        if top > best:
            best = top
        prev = hi
        out[i] = best


@nb.njit(cache=True, inline="always")
def crossings_one_pass(
    times: np.ndarray, path: np.ndarray, order: np.ndarray, sorted_th: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """``kernels._crossing_one`` in one pass: thresholds in ascending order
    (``sorted_th = thresholds[order]``), each met when the running maximum first
    reaches it; ``out[order[k]]`` the grid time, NaN if never."""
    k_n = sorted_th.shape[0]
    for k in range(k_n):
        out[order[k]] = math.nan
    k = 0
    top = -math.inf
    for i in range(times.shape[0]):
        if path[i] > top:
            top = path[i]
        while k < k_n and top >= sorted_th[k]:
            out[order[k]] = times[i]
            k += 1
        if k == k_n:
            break


@nb.njit(cache=True, parallel=True, nogil=True)
def project_record_paths_warm(
    times: np.ndarray,
    log_dt: np.ndarray,
    start_year: float,
    level: np.ndarray,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    floor: np.ndarray,
    scale: np.ndarray,
    gumbel: np.ndarray,
    order: np.ndarray,
    sorted_th: np.ndarray,
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
    """``record_process.project_record_paths`` given ``log_dt`` (:func:`log_steps`) and
    ``gumbel`` (:func:`gumbel_terms` of the uniforms), the thresholds in ascending
    order; the same outputs, the same bits."""
    n_time = times.shape[0]
    for j in nb.prange(growth_dl.shape[0]):
        buf = np.empty(n_time)
        kernels._integrate_one(
            times, start_year, level[j], growth_dl[j], growth_moore[j], reversion[j],
            shape, width, buf,
        )  # fmt: skip
        _records_warm(buf, floor[j], scale[j], log_dt, gumbel[j], buf)
        if ceiling_mode > 0:
            _ceiling_one(times, buf, ceiling_mode, knot0, knots[j], softness, out_reached[j])
            kernels._record_one(buf, floor[j], buf)
        crossings_one_pass(times, buf, order, sorted_th, out_crossing[j])
        kernels._keep_one(buf, year_index, year_frac, j, out_yearly, out_full)
