"""Numba kernels of the ceilings on each path (issue 20): clip or saturate, and when.

Dependency direction: imports nothing from projector; ``kernels.project_paths`` inlines
:func:`_ceiling_one` path by path, and ``engine`` calls :func:`apply_ceilings` on whole
paths. Conventions as ``kernels`` (no random numbers, results written into ``out``);
the NumPy twin is ``projector.model.twins.apply_ceilings``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from projector.model.codes import CEILING_CODES

__all__ = ["CEILING_CODES", "apply_ceilings"]

#: Integer codes of ``ceilings.mode`` in jitted code.


@nb.njit(cache=True, parallel=True, nogil=True)
def apply_ceilings(
    times: np.ndarray,
    paths: np.ndarray,
    mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out: np.ndarray,
    out_reached: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """Each path under its ceilings, and when it first reaches each (issue 20).

    The ceiling ``k`` of path ``j`` at time ``t`` is ``knots[j, k]`` interpolated
    linearly at ``t - knot0`` (knots at whole years from ``knot0``; NaN = not modelled,
    never binds); the path's ceiling is the smallest. ``mode`` (``CEILING_CODES``):
    1 leaves the path as it is, 2 clips it, ``min(x, c)``, 3 takes the soft minimum
    ``-softness * log10(10^(-x/softness) + 10^(-c/softness))`` (smooth, below both, and
    ``c`` once ``x`` is far above it, so a path grows at the ceiling's own rate).

    Parameters
    ----------
    times : (n_time,) [decimal year]; paths : (n_path, n_time) [log10 FLOP]
    out : (n_path, n_time) [log10 FLOP], may be ``paths`` itself
    knots : (n_path, n_ceiling, n_knot) [log10 FLOP], n_knot >= 2
    out_reached : (n_path, n_ceiling) [decimal year], the first time the path as it
        came in (before this kernel) is at or above each ceiling; NaN for never
    """
    for j in nb.prange(paths.shape[0]):
        for i in range(paths.shape[1]):
            out[j, i] = paths[j, i]  # a no-op when out is paths
        _ceiling_one(times, out[j], mode, knot0, knots[j], softness, out_reached[j])


@nb.njit(cache=True, inline="always")
def _ceiling_one(
    times: np.ndarray,
    path: np.ndarray,
    mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out_reached: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """One path of :func:`apply_ceilings`: ``path`` (n_time,) changed in place."""
    n_ceiling, n_knot = knots.shape
    for k in range(n_ceiling):
        out_reached[k] = math.nan
    for i in range(times.shape[0]):
        x = times[i] - knot0
        m = min(max(math.floor(x), 0), n_knot - 2)
        f = x - m
        v = path[i]
        c = math.inf
        for k in range(n_ceiling):
            ck = knots[k, m] * (1.0 - f) + knots[k, m + 1] * f
            if ck < c:  # NaN (not modelled) never binds
                c = ck
            if v >= ck and math.isnan(out_reached[k]):
                out_reached[k] = times[i]
        if mode == 2 and v > c:
            path[i] = c
        elif mode == 3 and c < math.inf:
            gap = abs(v - c)
            path[i] = min(v, c) - softness * math.log10(1.0 + 10.0 ** (-gap / softness))
