"""The one Dataset builder: variable table, dimensions, units and provenance.

Dependency direction: ``engine`` and ``trends`` -> ``cube`` -> ``summary``, ``store``,
``report``, ``plots``. This is the one place that names dimensions and variables and
sets units, long names and provenance attributes, for projections (in memory or in a
streamed store) and for trends alike; everything downstream reads them from the
Dataset.

A projection has three kinds of per-path data:

* per-path scalars (rates, reversion, crossing years, start offset, frontier origin),
  stored for every path;
* ``log10_compute_yearly`` (path, year): each path at the whole years of the projection
  and at the report years, stored for every path; every summary reads this;
* ``log10_compute`` (path, time): the full path on the time grid, stored for the first
  ``paths_kept`` paths (all of them up to :data:`FULL_PATHS_LIMIT`, else
  :data:`SAMPLE_PATHS`; ``--keep-paths``). Paths are independent and identically
  distributed, so the first K are a random sample; later rows are NaN (not stored).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector import __version__
from projector.inputs.declare import declared
from projector.inputs.params import CeilingSpec
from projector.inputs.scenario import Scenario
from projector.model.engine import (
    PATH_ARRAYS,
    Chunk,
    Eras,
    Plan,
    Reduce,
    start_date_label,
)
from projector.model.limits import CEILINGS, CeilingPlan, at_years

if TYPE_CHECKING:  # xarray and the trends (scipy.stats) load only where a Dataset is built,
    import xarray as xr  # so Dask workers that run chunks start quickly

    from projector.model.record_process import RecordFit


__all__ = [
    "ANCHOR",
    "CEILING_VARIABLES",
    "COMPONENT",
    "CONSTRAINT",
    "FULL_PATHS_LIMIT",
    "PATH",
    "PATH_VARIABLES",
    "SAMPLE_PATHS",
    "SCALAR_VARIABLES",
    "TIME",
    "VARIABLES",
    "VARIANT",
    "YEAR",
    "ceiling_arrays",
    "chunk_arrays",
    "coords",
    "default_keep",
    "describe",
    "provenance",
    "reduction",
    "static_arrays",
    "system_names",
    "to_dataset",
    "yearly_grid",
    "yearly_values",
]

PATH, TIME, ANCHOR, COMPONENT, YEAR = "path", "time", "anchor", "component", "year"
CONSTRAINT = "constraint"  # the ceilings of a run with ceilings.mode not 'off'

VARIANT = "variant"  # the sweep dimension

#: Full monthly paths are kept for every path up to this many paths ...
FULL_PATHS_LIMIT = 10_000
#: ... and for this many sample paths (the first ones) beyond it, unless --keep-paths.
SAMPLE_PATHS = 1_000

# name -> (dims, units, long name); declared once, applied by to_dataset and the store.
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "log10_compute": (
        (PATH, TIME),
        "log10 FLOP",
        "log10 of training compute of the largest notable system",
    ),
    "log10_compute_yearly": (
        (PATH, YEAR),
        "log10 FLOP",
        "log10 of training compute of the largest notable system at each year of the yearly grid "
        "(linear between time-grid points)",
    ),
    "growth_dl": ((PATH,), "OOM/year", "bootstrapped Deep-Learning-era growth rate"),
    "growth_pre_dl": ((PATH,), "OOM/year", "bootstrapped pre-Deep-Learning growth rate"),
    "growth_moore": (
        (PATH,),
        "OOM/year",
        "long-run rate sqrt(growth_pre_dl * growth_ref), or growth.long_run_doubling_months's",
    ),
    "reversion_year": ((PATH,), "decimal year", "date of reversion to the long-run rate"),
    "reversion_component": ((PATH,), "1", "index of the reversion mixture component drawn"),
    "crossing_year": (
        (PATH, ANCHOR),
        "decimal year",
        "first grid time with log10_compute >= threshold (NaN: never in horizon)",
    ),
    "start_offset": ((PATH,), "OOM", "error drawn on log10 C(s) (start.log10_sd; 0 when off)"),
    "frontier_origin": (
        (PATH,),
        "decimal year",
        "origin of the frontier deviation added to the path (NaN: none)",
    ),
    "anchor_log10_flop": ((ANCHOR,), "log10 FLOP", "anchor threshold"),
    "anchor_weight": ((ANCHOR,), "1", "belief in the anchor's hypothesis (NaN: not given)"),
    "system_year": (
        ("system",),
        "decimal year",
        "publication date of a system the run was fitted on",
    ),
    "system_log10_compute": (("system",), "log10 FLOP", "training compute of that system"),
    "component_weight": ((COMPONENT,), "1", "reversion mixture weight"),
    "log10_ceiling": (
        (PATH, CONSTRAINT, YEAR),
        "log10 FLOP",
        "the path's ceiling on one training run at each year of the yearly grid (NaN: not "
        "modelled that year)",
    ),
    "binding_constraint": (
        (PATH, YEAR),
        "1",
        "index along constraint of the lowest ceiling at the year (-1: none modelled)",
    ),
    "ceiling_reached_year": (
        (PATH, CONSTRAINT),
        "decimal year",
        "first grid time the path, before its ceilings were applied, reached each ceiling "
        "(NaN: never in horizon)",
    ),
    "ceiling_modelled_from": ((CONSTRAINT,), "year", "first year each ceiling is modelled"),
}
#: The per-path variables (first dim ``path``), with their stored dtype.
PATH_VARIABLES: dict[str, str] = {
    "log10_compute": "float32",  # 7 significant digits are ample for log10 FLOP
    "log10_compute_yearly": "float32",
    "growth_dl": "float64",
    "growth_pre_dl": "float64",
    "growth_moore": "float64",
    "reversion_year": "float64",
    "reversion_component": "int16",
    "crossing_year": "float64",  # grid times, compared exactly
    "start_offset": "float64",
    "frontier_origin": "float64",
}
#: The per-path variables of a run with ceilings, with their stored dtype.
CEILING_VARIABLES: dict[str, str] = {
    "log10_ceiling": "float32",
    "binding_constraint": "int8",
    "ceiling_reached_year": "float64",
}
#: Per-path variables without a time axis: stored for every path.
SCALAR_VARIABLES = tuple(name for name in PATH_ARRAYS if name != "log10_compute")
COORDS = {
    TIME: ("decimal year", "time"),
    PATH: ("1", "Monte Carlo path index"),
    YEAR: ("decimal year", "yearly grid: the whole years of the projection and the report years"),
    VARIANT: ("1", "sweep variant index"),
    ANCHOR: ("", "biological anchor (compute threshold) name"),
    "system": ("", "a system the run was fitted on (after cut-off, one per paper)"),
    COMPONENT: ("", "reversion mixture component name"),
    CONSTRAINT: ("", "ceiling on one training run: power, chips, money, data"),
}


def describe(name: str) -> dict[str, str]:
    """``units`` and ``long_name`` of a variable or coordinate."""
    if name in VARIABLES:
        _, units, long_name = VARIABLES[name]
    else:
        units, long_name = COORDS[name]
    return {"units": units, "long_name": long_name}


def default_keep(paths: int) -> int:
    """How many full paths to keep when ``--keep-paths`` is not given."""
    return paths if paths <= FULL_PATHS_LIMIT else SAMPLE_PATHS


def yearly_grid(times: npt.NDArray[np.float64], report_years: tuple[float, ...]) -> np.ndarray:
    """Whole years within the time grid, and the report years (sorted, unique) [year]."""
    whole = np.arange(math.ceil(times[0] - 1e-9), math.floor(times[-1] + 1e-9) + 1, dtype=float)
    years = np.union1d(whole, np.asarray(report_years, dtype=float))
    return years[(years >= times[0] - 1e-9) & (years <= times[-1] + 1e-9)]


def _interp_weights(
    times: npt.NDArray[np.float64], years: npt.NDArray[np.float64]
) -> tuple[np.ndarray, np.ndarray]:
    """Grid index ``i`` after each year and the year's fraction of ``[t[i-1], t[i]]``.

    The one statement of linear interpolation in time: :func:`yearly_values` (and through
    it :func:`projector.model.summary.value_at`) and the kernels' :class:`Reduce` use it.
    """
    i = np.clip(np.searchsorted(times, years), 1, len(times) - 1)
    frac = (years - times[i - 1]) / (times[i] - times[i - 1])
    return i, frac


def yearly_values(
    times: npt.NDArray[np.float64],
    paths: npt.NDArray[np.float64],
    years: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Paths at ``years``, linear between grid times: (path, time) -> (path, year).

    A grid time gives the grid value exactly.
    """
    if len(times) == 1:
        return np.repeat(paths[:, :1], len(years), axis=1)
    i, frac = _interp_weights(times, years)
    return paths[:, i - 1] * (1 - frac) + paths[:, i] * frac


def chunk_arrays(
    p: Plan, c: Chunk, years: npt.NDArray[np.float64], keep: int
) -> dict[str, np.ndarray]:
    """What the store keeps of a chunk: per-path variables, yearly grid, kept full paths.

    ``log10_compute`` is present only for the rows below ``keep`` (path index). A chunk
    computed with :func:`reduction` already holds just these (the same bits).
    """
    if c.log10_compute_yearly is not None:
        yearly = c.log10_compute_yearly
    else:
        yearly = yearly_values(p.times, np.asarray(c.log10_compute, np.float64), years).astype(
            np.float32
        )
    out: dict[str, np.ndarray] = {"log10_compute_yearly": yearly}
    for name in SCALAR_VARIABLES:
        out[name] = np.asarray(getattr(c, name), dtype=PATH_VARIABLES[name])
    if c.ceiling_knots is not None and c.ceiling_reached is not None:
        out.update(ceiling_arrays(p, c.ceiling_knots, c.ceiling_reached, years))
    if c.first < keep:
        out["log10_compute"] = np.asarray(
            c.log10_compute[: min(keep, c.stop) - c.first], dtype=np.float32
        )
    return out


def ceiling_arrays(
    p: Plan,
    knots: npt.NDArray[np.float64],
    reached: npt.NDArray[np.float64],
    years: npt.NDArray[np.float64],
) -> dict[str, np.ndarray]:
    """The ceilings a store keeps of some paths: each at the years, the binding one, and
    when the path reached each (``CEILING_VARIABLES``)."""
    assert p.ceilings is not None
    # At the grid times either side of each year, then linear between them as the paths
    # are (yearly_values): a path at or below its ceiling on the grid is so at the years.
    if len(p.times) > 1:
        i, frac = _interp_weights(p.times, years)
        before, after = (at_years(p.ceilings, knots, p.times[j]) for j in (i - 1, i))
        at = before * (1 - frac) + after * frac  # (path, ceiling, year)
    else:
        at = at_years(p.ceilings, knots, years)
    masked = np.where(np.isnan(at), np.inf, at)
    binding = np.where(np.isinf(masked.min(axis=1)), -1, masked.argmin(axis=1))
    return {
        "log10_ceiling": at.astype(np.float32),
        "binding_constraint": binding.astype(np.int8),
        "ceiling_reached_year": np.asarray(reached, dtype=np.float64),
    }


def reduction(p: Plan, years: npt.NDArray[np.float64], keep: int) -> Reduce:
    """The :class:`~projector.model.engine.Reduce` giving what :func:`chunk_arrays` keeps."""
    i, frac = _interp_weights(p.times, years)
    return Reduce(np.asarray(i, dtype=np.int64), np.asarray(frac, dtype=np.float64), keep)


def provenance(
    scen: Scenario,
    eras: Eras,
    growth_ref: float,
    *,
    clipped: int,
    created_at: dt.datetime | None = None,
    ceilings: CeilingPlan | None = None,
    record: RecordFit | None = None,
) -> dict[str, Any]:
    """Provenance attributes of a projection (JSON-able: numbers, strings, lists).

    Each scenario key declared with a ``result`` attribute is recorded under that name
    (``inputs.params``); the rest describes the data, the start and the run, and (with
    ``record``) what the record process was fitted to (``record_process_*``).
    """
    created = created_at or dt.datetime.now(dt.UTC)
    keys = {
        p.result: list(v) if isinstance(v := getattr(scen, p.attr), tuple) else v
        for p in declared(Scenario)
        if p.result
    }
    if ceilings is not None:  # a run without ceilings records none of their keys
        keys.update(
            {
                p.result: getattr(scen.ceilings, p.attr)
                for p in declared(CeilingSpec, "ceilings")
                if p.result
            },
            ceiling_table_file=ceilings.table_label,
            ceiling_table_sha256=ceilings.table_sha256,
        )
    return dict(
        title=f"projector result: {scen.name}",
        projector_version=__version__,
        **keys,
        scenario_file=scen.source,
        scenario_file_sha256=scen.file_sha256,
        scenario_sha256=scen.sha256,
        scenario_resolved=json.dumps(scen.resolved(), sort_keys=True),
        dataset=eras.systems.label,
        dataset_sha256=eras.systems.sha256,
        data_cutoff=str(scen.data.cutoff or "none"),
        n_systems_pre_dl=len(eras.pre_dl),
        n_systems_dl=len(eras.dl),
        start_year=eras.start_year,
        start_date=start_date_label(eras.start_year),
        log10_start_compute=eras.log10_start,
        start_compute_source=eras.start_source,
        growth_ref=growth_ref,
        growth_ref_units="OOM/year"
        if scen.moore_units == "consistent"
        else "ln-units/year mixed with OOM/year (published-notebook reading, method.md 3)",
        # only when set: a scenario that derives the long-run rate keeps its provenance
        **(
            {}
            if scen.long_run_doubling_months is None
            else {"long_run_doubling_months": scen.long_run_doubling_months}
        ),
        scenario_overrides=json.dumps(list(scen.overrides)),
        clipped_rate_draws=int(clipped),
        created_at=created.isoformat(timespec="seconds"),
        method="Besiroglu, Heim & Sevilla (2022), Projecting compute trends in Machine Learning; "
        "see method.md",
        **({} if record is None else record.attrs(eras.start_year, eras.log10_start)),
    )


def _stamp(ds: xr.Dataset, scen: Scenario) -> None:
    for name in ds.variables:
        if name in VARIABLES or name in COORDS:
            ds[name].attrs.update(describe(str(name)))
    if "reversion_component" in ds:
        ds["reversion_component"].attrs["flag_meanings"] = " ".join(c.name for c in scen.reversion)
    if "crossing_year" in ds:
        ds["crossing_year"].attrs["never"] = (
            "NaN means the path does not reach the anchor by end_year"
        )


def to_dataset(
    p: Plan,
    arrays: Mapping[str, np.ndarray],
    /,
    *,
    clipped: int = 0,
    created_at: dt.datetime | None = None,
) -> xr.Dataset:
    """The result cube of a run computed in memory, with units, long names and provenance.

    ``arrays``: every :data:`~projector.model.engine.PATH_ARRAYS` entry for all paths,
    ``log10_compute`` (path, time) included. Dims: ``path`` (Monte Carlo sample),
    ``time`` [decimal year], ``year`` (yearly grid), ``anchor``, ``component`` (reversion
    mixture components). Every full path is kept.
    """
    import xarray as xr

    scen = p.scenario
    paths = arrays["log10_compute"]
    n = paths.shape[0]
    years = yearly_grid(p.times, scen.report_years)
    data = {
        "log10_compute": paths,
        "log10_compute_yearly": yearly_values(p.times, paths, years).astype(np.float32),
        **{name: arrays[name] for name in PATH_ARRAYS if name != "log10_compute"},
        **static_arrays(scen, p.eras, p),
    }
    if p.ceilings is not None:
        data.update(ceiling_arrays(p, arrays["ceiling_knots"], arrays["ceiling_reached"], years))
    ds = xr.Dataset(
        {name: (VARIABLES[name][0], values) for name, values in data.items()},
        coords={**coords(scen, p.times, years, n, p), "system": system_names(p.eras)},
    )
    _stamp(ds, scen)
    ds.attrs.update(
        provenance(
            scen,
            p.eras,
            p.growth_ref,
            clipped=clipped,
            created_at=created_at,
            ceilings=p.ceilings,
            record=p.record,
        ),
        paths=n,
        paths_kept=n,
    )
    return ds


def static_arrays(
    scen: Scenario, eras: Eras | None = None, p: Plan | None = None
) -> dict[str, np.ndarray]:
    """The variables that do not depend on the draws: anchor thresholds and weights,
    mixture weights, (given ``eras``) the systems the run was fitted on and (given a
    plan with ceilings) the year each ceiling is modelled from."""
    out = {
        "anchor_log10_flop": np.array([a.log10_flop for a in scen.anchors], dtype=np.float64),
        "anchor_weight": np.array(
            [np.nan if a.weight is None else a.weight for a in scen.anchors], dtype=np.float64
        ),
        "component_weight": np.array([c.weight for c in scen.reversion], dtype=np.float64),
    }
    if eras is not None:
        out["system_year"] = np.asarray(eras.systems.year, dtype=np.float64)
        out["system_log10_compute"] = np.asarray(eras.systems.log10_compute, dtype=np.float64)
    if p is not None and p.ceilings is not None:
        out["ceiling_modelled_from"] = np.asarray(p.ceilings.modelled_from, dtype=np.float64)
    return out


def coords(
    scen: Scenario,
    times: npt.NDArray[np.float64],
    years: npt.NDArray[np.float64],
    paths: int,
    p: Plan | None = None,
) -> dict[str, np.ndarray]:
    """Coordinate values of a projection (``constraint`` given a plan with ceilings)."""
    extra = {CONSTRAINT: np.array(CEILINGS, dtype=str)} if p and p.ceilings else {}
    return {
        **extra,
        PATH: np.arange(paths, dtype=np.int64),
        TIME: np.asarray(times, dtype=np.float64),
        YEAR: np.asarray(years, dtype=np.float64),
        ANCHOR: np.array([a.name for a in scen.anchors], dtype=str),
        COMPONENT: np.array([c.name for c in scen.reversion], dtype=str),
    }


def system_names(eras: Eras) -> np.ndarray:
    """The ``system`` coordinate: names of the systems the run was fitted on."""
    return np.asarray(eras.systems.name).astype(str)
