"""The data a projection is fitted on: the eras after the cut-off, and the start.

Dependency direction: ``inputs`` -> ``eras`` -> ``engine``. The Deep-Learning and pre-DL
eras (method.md 1), one system per paper, and the start: its date ``s`` and compute
``C(s)`` (the frontier, the trend or an explicit figure).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from projector.errors import InputError
from projector.inputs.scenario import Scenario
from projector.inputs.systems import Systems
from projector.model.lines import ols_fit

__all__ = ["MIN_ERA_SYSTEMS", "Eras", "prepare_eras"]

MIN_ERA_SYSTEMS = 3


@dataclasses.dataclass(frozen=True)
class Eras:
    """The data a projection is fitted on, after cut-off and one-per-paper."""

    systems: Systems  # all kept systems (both eras)
    pre_dl: Systems
    dl: Systems
    start_year: float  # s [decimal year]
    log10_start: float  # log10 C(s) [FLOP]
    start_source: str  # how C(s) was chosen, for provenance
    frontier_system: str  # the system that set C(s) when 'frontier', else ""
    # Lower bounds (censored rows: "at least this much") are never fitted; they count
    # for the frontier. How many are dated up to the start, and whether C(s) is one:
    lower_bounds: int = 0
    start_is_lower_bound: bool = False


def prepare_eras(scen: Scenario, systems: Systems) -> Eras:
    """Cut off, keep one row per paper, split into eras and choose C(s).

    Raises
    ------
    InputError
        When an era has fewer than three systems, or the start compute cannot be set.
    """
    spec = scen.data
    kept = systems.until(spec.cutoff).one_per_paper()
    kept = kept.between(spec.pre_dl_start, None)
    # Trend fits exclude lower bounds (censored rows): a floor is not a figure to fit.
    points = kept.uncensored()
    pre = points.between(spec.pre_dl_start, spec.dl_start)
    dl = points.between(spec.dl_start, None)
    for label, era, first, end in (
        ("pre-Deep-Learning", pre, spec.pre_dl_start, spec.dl_start),
        ("Deep-Learning", dl, spec.dl_start, spec.cutoff),
    ):
        if len(era) < MIN_ERA_SYSTEMS or np.ptp(era.year) == 0:
            span = f"[{first}, {end or 'end'}{']' if end and end is spec.cutoff else ')'}"
            raise InputError(
                f"{systems.label}: only {len(era)} usable system(s) in the {label} era {span}; "
                f"need at least {MIN_ERA_SYSTEMS} with distinct dates (check data.cutoff, "
                "data.dl_start and data.pre_dl_start in the scenario)"
            )
    start_year = scen.start_year
    if start_year is None:
        start_year = float(kept.year.max())
    where = scen.source
    if scen.start_compute == "frontier":
        before = kept.year <= start_year + 1e-12
        if not before.any():
            raise InputError(
                f"{where}: start.compute = 'frontier' but no system is dated before "
                f"the start year {start_year:g}"
            )
        i = int(np.argmax(np.where(before, kept.log10_compute, -np.inf)))
        log10_start = float(kept.log10_compute[i])
        source, frontier = f"frontier: {kept.name[i]} ({kept.date[i]})", str(kept.name[i])
        if kept.censored[i]:
            source += " - a lower bound: the frontier is at least this"
    elif scen.start_compute == "trend":
        slope, intercept = ols_fit(dl.year, dl.log10_compute)
        log10_start = float(slope * start_year + intercept)
        source, frontier = "trend: Deep-Learning-era OLS line at the start year", ""
    else:
        log10_start = float(scen.start_compute)
        source, frontier = "explicit", ""
    n_bounds = int(np.sum(kept.censored & (kept.year <= start_year + 1e-12)))
    if n_bounds and scen.start_compute == "frontier":
        source += (
            f"; {n_bounds} system(s) up to the start have only a lower bound (no public "
            "figure), so the frontier and C(s) are lower bounds where they may exceed it"
        )
    return Eras(
        kept,
        pre,
        dl,
        float(start_year),
        log10_start,
        source,
        frontier,
        lower_bounds=n_bounds,
        start_is_lower_bound=bool(scen.start_compute == "frontier" and kept.censored[i]),
    )
