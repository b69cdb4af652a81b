"""Straight-line fits at plan time, in plain Python (no numba to load for a plan).

:func:`ols_fit` runs the same scalar loop as ``kernels.ols_fit`` in the same order,
and numba compiles that kernel without fast-math, so the two give the same bits
(``tests/test_lazy_imports.py`` checks it).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ols_fit"]


def ols_fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Ordinary least squares of ``y`` on ``t``: (slope, intercept), as ``kernels.ols_fit``."""
    ts = np.asarray(t, dtype=np.float64).tolist()
    ys = np.asarray(y, dtype=np.float64).tolist()
    n = len(ts)
    tm = 0.0
    ym = 0.0
    for i in range(n):
        tm += ts[i]
        ym += ys[i]
    tm /= n
    ym /= n
    sxy = 0.0
    sxx = 0.0
    for i in range(n):
        dt = ts[i] - tm
        sxy += dt * (ys[i] - ym)
        sxx += dt * dt
    if sxx == 0.0:
        return math.nan, math.nan
    slope = sxy / sxx
    return slope, ym - slope * tm
