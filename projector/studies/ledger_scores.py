"""The ledger's scores on numbers: quantile-CRPS, PIT, Brier (``studies.ledger``'s module
docstring says how each is read). Each is tested against a hand-computed case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from projector.inputs.ledger import Forecast

__all__ = ["brier", "interval_quantiles", "pit_range", "quantile_crps"]


def interval_quantiles(f: Forecast, /) -> tuple[tuple[float, float], ...]:
    """A forecast's distribution as (level, value) pairs: its quantiles, or its interval's
    bounds at (1 -/+ level) / 2 with its point (when given) as the median."""
    if f.kind == "quantiles":
        return f.quantiles
    if f.kind == "interval":
        tail = (1 - f.level) / 2
        mid = () if math.isnan(f.point) else ((0.5, f.point),)
        return ((tail, f.low), *mid, (1 - tail, f.high))
    return ()


def quantile_crps(quantiles: Sequence[tuple[float, float]], y: float, /) -> float:
    """The quantile-CRPS of stated quantiles at truth ``y`` (module docstring)."""
    from projector.extras import require

    scoringrules = require("scoringrules", "studies", "ledger scores (CRPS)")
    levels = np.array([lv for lv, _ in quantiles], dtype=np.float64)
    values = np.array([v for _, v in quantiles], dtype=np.float64)
    return float(scoringrules.crps_quantile(np.float64(y), values, levels))


def _crps_at_least(quantiles: Sequence[tuple[float, float]], lo: float) -> float:
    """The smallest quantile-CRPS over every truth >= ``lo``: the pinball sum is piecewise
    linear in the truth, so the minimum is at ``lo`` or at a stated value above it."""
    candidates = [lo, *(v for _, v in quantiles if v > lo)]
    return min(quantile_crps(quantiles, y) for y in candidates)


def pit_range(quantiles: Sequence[tuple[float, float]], y: float, /) -> tuple[float, float]:
    """The PIT of ``y`` under the piecewise-linear CDF through the stated quantiles:
    one value inside them, a range outside ([0, first level] or [last level, 1])."""
    levels = [lv for lv, _ in quantiles]
    values = [v for _, v in quantiles]
    if y < values[0]:
        return 0.0, levels[0]
    if y > values[-1]:
        return levels[-1], 1.0
    if y == values[-1]:
        return levels[-1], levels[-1]
    p = float(np.interp(y, values, levels))
    return p, p


def brier(probability: float, outcome: bool, /) -> float:
    """The Brier score of one event forecast: (p - outcome)^2."""
    return (probability - float(outcome)) ** 2
