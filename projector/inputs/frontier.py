"""The realised frontier: the running maximum of training compute over time.

Dependency direction: imports ``data`` only; ``engine``, ``backtest`` and the CLI use it.

The frontier at time t is the largest training compute among the systems published at
or before t (method.md section 10). It is a record series: flat for long stretches,
then a jump when a larger system is published. The backtest scores projections
against exactly these functions, and ``projector data frontier`` prints them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from projector.inputs.systems import Systems

__all__ = ["Record", "frontier_at", "record_setters", "records"]


@dataclasses.dataclass(frozen=True)
class Record:
    """One step of the frontier: the system that set a new record, and when."""

    date: str  # ISO date of publication
    year: float  # decimal year
    log10_compute: float  # [log10 FLOP]
    system: str
    lower_bound: bool  # the figure is a lower bound (a censored row)


def record_setters(systems: Systems, /) -> npt.NDArray[np.bool_]:
    """Rows that set a new record: log10 compute above every earlier row's.

    Rows published on the same day are taken in the table's order (by name).
    """
    order = np.argsort(systems.year, kind="stable")
    best = -np.inf
    out = np.zeros(len(systems), dtype=bool)
    for i in order:
        if systems.log10_compute[i] > best:
            out[i] = True
            best = systems.log10_compute[i]
    return out


def _censored(systems: Systems) -> npt.NDArray[np.bool_]:
    flags = getattr(systems, "censored", None)
    return np.zeros(len(systems), dtype=bool) if flags is None else np.asarray(flags, dtype=bool)


def records(systems: Systems, /) -> list[Record]:
    """The frontier as a list of records, oldest first.

    A lower-bound row (censored: the source only says "at least") that sets a record
    is kept and flagged: the frontier from then on is itself a lower bound.
    """
    mask = record_setters(systems)
    censored = _censored(systems)
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(systems.year[idx], kind="stable")]
    return [
        Record(
            str(systems.date[i]),
            float(systems.year[i]),
            float(systems.log10_compute[i]),
            str(systems.name[i]),
            bool(censored[i]),
        )
        for i in idx
    ]


def frontier_at(systems: Systems, years: npt.ArrayLike, /) -> npt.NDArray[np.float64]:
    """log10 compute of the frontier at each decimal year (same shape as ``years``).

    The running maximum over rows published at or before each year; -inf before the
    first row.
    """
    t = np.asarray(years, dtype=np.float64)
    order = np.argsort(systems.year, kind="stable")
    published = systems.year[order]
    best = np.maximum.accumulate(systems.log10_compute[order])
    k = np.searchsorted(published, t + 1e-9, side="right")
    return np.where(k > 0, best[np.maximum(k - 1, 0)], -np.inf)
