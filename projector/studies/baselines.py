"""Baselines a backtest scores beside every scenario: what a forecaster could do with no
model (issue 19's "stronger baselines").

Dependency direction: ``inputs.frontier`` -> ``baselines`` -> ``backtest``. Each baseline
sees only the data published by the cut-off T, and gives an ensemble (members in log10
FLOP) for the frontier at T + h:

- ``flat``: the frontier stays at C(T) (a point mass).
- ``climatology``: C(T) plus every h-year change of the frontier before T, from monthly
  origins since the Deep-Learning era's start.
- ``trend-from-frontier``: C(T) plus the bootstrap Deep-Learning slope x h (the
  scenario's own per-path rates).
- ``trend-spread``: the median of ``trend-from-frontier``, spread by a normal with the
  standard deviation of the frontier's h-year changes before T, floored at C(T) (the
  frontier cannot fall: the floor holds a point mass). Members are the normal's
  quantiles at (i + 1/2) / n, so the baseline has no Monte Carlo noise.
- ``records``: C(T) plus the frontier's h-year changes from each record-setting date
  since 2010 whose h-year window ends by T (whole record-to-record history, not the
  monthly origins of ``climatology``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from projector.inputs.frontier import frontier_at, record_setters
from projector.inputs.systems import Systems

__all__ = ["BASELINES", "climatology", "ensembles", "record_changes", "trend_spread"]

BASELINES = ("flat", "climatology", "trend-from-frontier", "trend-spread", "records")
#: Members of the quantile-grid baselines (``trend-spread``).
GRID_MEMBERS = 2000
#: The ``records`` baseline counts record-setting dates from this year on.
RECORDS_SINCE = 2010.0


def climatology(
    systems: Systems, cutoff_year: float, dl_start: float, h: float
) -> npt.NDArray[np.float64]:
    """Every h-year change of the frontier seen before the cut-off (monthly origins)."""
    origins = np.arange(dl_start, cutoff_year - h + 1e-9, 1.0 / 12.0)
    if origins.size == 0:
        return np.empty(0)
    start = frontier_at(systems, origins)
    change = frontier_at(systems, origins + h) - start
    return change[np.isfinite(change)]


def record_changes(
    systems: Systems, cutoff_year: float, h: float, *, since: float = RECORDS_SINCE
) -> npt.NDArray[np.float64]:
    """The frontier's change over h years from each record-setting date in
    ``[since, cutoff - h]`` [OOM]."""
    is_record = record_setters(systems)
    origins = np.unique(systems.year[is_record])
    origins = origins[(origins >= since) & (origins + h <= cutoff_year + 1e-9)]
    if origins.size == 0:
        return np.empty(0)
    change = frontier_at(systems, origins + h) - frontier_at(systems, origins)
    return change[np.isfinite(change)]


def trend_spread(
    c_t: float, rates: npt.ArrayLike, sd: float, h: float, *, members: int = GRID_MEMBERS
) -> npt.NDArray[np.float64]:
    """``c_t + median(rates) h`` spread by N(0, sd), floored at ``c_t`` [log10 FLOP]."""
    from scipy import special  # here, not at import: the command line's --help lists BASELINES

    median = c_t + float(np.median(np.asarray(rates, dtype=np.float64))) * h
    z = special.ndtri((np.arange(members) + 0.5) / members)
    return np.maximum(median + sd * z, c_t)


def ensembles(
    baselines: Sequence[str],
    *,
    known: Systems,
    cutoff_year: float,
    c_t: float,
    h: float,
    dl_start: float,
    rates: npt.NDArray[np.float64],
) -> dict[str, npt.NDArray[np.float64]]:
    """Each selected baseline's ensemble for the frontier at ``cutoff + h``; a baseline
    with no history to draw on (no change seen before T) is left out."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    changes = climatology(known, cutoff_year, dl_start, h)
    for name in BASELINES:
        if name not in baselines:
            continue
        if name == "flat":
            out[name] = np.array([c_t])
        elif name == "climatology" and changes.size:
            out[name] = c_t + changes
        elif name == "trend-from-frontier":
            out[name] = c_t + rates * h
        elif name == "trend-spread" and changes.size > 1:
            out[name] = trend_spread(c_t, rates, float(np.std(changes, ddof=1)), h)
        elif name == "records":
            recs = record_changes(known, cutoff_year, h)
            if recs.size:
                out[name] = c_t + recs
    return out
