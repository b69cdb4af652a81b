"""The floor: the least work a projection's main kernel can do, as references for
``make bench`` ("how close to the limit").

``floor_min``: one ``exp`` and about ten flops per path-step (the reversion weight by
two multiplications, the growth rate's ``exp``, the trapezoid step), nothing stored but
each path's last value. ``floor_one_pass``: the outputs ``kernels.project_paths`` makes
for a run without ceilings or records (the values at the years, float32, the first
crossing of each anchor and the kept full paths), computed in the one integration pass
with the same arithmetic in the same order, so the same bits (the bench checks them):
the crossings of the thresholds in ascending order are found with one pointer, since a
path reaches a higher threshold no earlier than a lower one.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_LN2 = math.log(2.0)


@nb.njit(cache=True, parallel=True, nogil=True)
def floor_min(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    out_last: np.ndarray,
) -> None:  # pragma: no cover - jitted
    n_time = times.shape[0]
    step = times[1] - times[0]
    for j in nb.prange(growth_dl.shape[0]):
        ln_moore = math.log(growth_moore[j])
        d = math.log(growth_dl[j]) - ln_moore
        x = step / (reversion[j] - start_year)
        q = math.exp(-0.5 * x * x)
        q2 = q * q
        m = q
        w = 1.0
        g_prev = growth_dl[j]
        acc = log10_start
        for _ in range(1, n_time):
            w *= m
            m *= q2
            g = math.exp(ln_moore + w * d)
            acc += 0.5 * (g_prev + g) * step
            g_prev = g
        out_last[j] = acc


@nb.njit(cache=True, parallel=True, nogil=True)
def floor_one_pass(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    shift: bool,
    offset: np.ndarray,
    deviation: np.ndarray,
    row: np.ndarray,
    order: np.ndarray,
    sorted_thresholds: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    out_yearly: np.ndarray,
    out_crossing: np.ndarray,
    out_full: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """``project_paths``'s outputs (shapes 0 and 1, no ceilings, no records) in one pass."""
    n_time = times.shape[0]
    n_anchor = sorted_thresholds.shape[0]
    n_year = year_index.shape[0]
    n_col = deviation.shape[1]
    step = times[1] - times[0] if n_time > 1 else 0.0
    c = 0.5 if shape == 0 else _LN2
    for j in nb.prange(growth_dl.shape[0]):
        ln_moore = math.log(growth_moore[j])
        d = math.log(growth_dl[j]) - ln_moore
        g_moore = growth_moore[j]
        span = reversion[j] - start_year
        q = 0.0
        if span != 0.0:
            x = step / span
            q = math.exp(-c * x * x)
        q2 = q * q
        m = q
        w = 1.0
        g_prev = math.exp(ln_moore + d)
        acc = log10_start
        r = row[j] if shift else -1
        keep = j < out_full.shape[0]
        v = acc + offset[j] if shift else acc
        if r >= 0:
            v += deviation[r, 0]
        for a in range(n_anchor):
            out_crossing[j, a] = math.nan
        k = 0  # the next threshold to reach, ascending
        while k < n_anchor and v >= sorted_thresholds[k]:
            out_crossing[j, order[k]] = times[0]
            k += 1
        y = 0  # the next year to interpolate
        while y < n_year and year_index[y] == 0:
            y += 1
        if keep:
            out_full[j, 0] = v
        prev = v
        for i in range(1, n_time):
            if w > 1e-200:
                w *= m
                m *= q2
            if w > 1e-200:
                g = math.exp(ln_moore + w * d)
            else:
                w = 0.0
                g = g_moore
            acc += 0.5 * (g_prev + g) * (times[i] - times[i - 1])
            g_prev = g
            v = acc + offset[j] if shift else acc
            if r >= 0:
                v += deviation[r, i if i < n_col else n_col - 1]
            while k < n_anchor and v >= sorted_thresholds[k]:
                out_crossing[j, order[k]] = times[i]
                k += 1
            while y < n_year and year_index[y] == i:
                f = year_frac[y]
                out_yearly[j, y] = np.float32(prev * (1 - f) + v * f)
                y += 1
            if keep:
                out_full[j, i] = v
            prev = v
