"""Every scenario key and table row, declared once: the dataclass field is the declaration.

Dependency direction: imports ``declare`` only; ``reversion``, ``scenario``, the README
key table (``render.keys``), provenance (``model.cube``), the result check
(``pipeline.checks``) and the tests' hypothesis strategies read these declarations.

Each field of :class:`Scenario`, :class:`DataSpec`, :class:`Anchor`, :class:`TrendWindow`
(and ``reversion.Component``) that a scenario file sets carries a :class:`Param` in its
metadata (xarray-simlab's ``variable``: type, allowed range or choices, units, default,
help, typical range). :func:`declared` reads them back; :data:`PARAMS` is the scalar keys
by table, in the order of the README table. So a key is written once, as a field, and the
loader builds a :class:`Scenario` from the fields instead of a hand mapping.

Why frozen dataclasses and not pydantic v2 (``extra="forbid"``): the scenario is plain
frozen data that the engine ships to Dask workers and hashes, the error messages are
pinned word for word by the tests (pydantic's would need translating back), and no new
dependency is needed for what ``dataclasses.field(metadata=...)`` already carries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from projector.inputs.ceiling_params import CeilingSpec
from projector.inputs.declare import Param, declared, key

if TYPE_CHECKING:
    from projector.inputs.reversion import Component

__all__ = [
    "ARRAY_TABLES",
    "EXTENDS",
    "PARAMS",
    "TABLES",
    "Anchor",
    "CeilingSpec",
    "DataSpec",
    "Scenario",
    "TrendWindow",
]


# --- the declaration ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataSpec:
    """``[data]``: which systems the run is fitted on."""

    dataset: str = key(
        "str",
        "",
        "'bundled' or a path to an Epoch CSV export (relative to the scenario file)",
        default="bundled",
    )  # "bundled" or an absolute path once loaded
    cutoff: dt.date | None = key(  # noqa: RUF009 - key() returns a dataclasses.field
        "date",
        "",
        "drop systems published after this date; 'none' keeps all",
        default="none",
        special=("none",),
    )
    pre_dl_start: dt.date = key(  # noqa: RUF009
        "date", "", "first date of the pre-Deep-Learning era", default="1950-01-01"
    )
    dl_start: dt.date = key(  # noqa: RUF009
        "date", "", "first date of the Deep-Learning era", default="2010-01-01"
    )
    notable_only: bool = key(
        "bool", "", "Airtable-format exports: keep rows with a notability criterion", default=True
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Anchor:
    """A compute threshold [log10 FLOP] a path may cross (an ``[[anchors]]`` row)."""

    name: str = key("str", "", "anchor name, unique in the scenario", nonempty=True)
    log10_flop: float = key(
        "float", "log10 FLOP", "the threshold", low=0, high=100, typical=(24, 45)
    )
    # belief in this hypothesis; all or none given, summing to 1
    weight: float | None = key(
        "float",
        "",
        "belief in the anchor's hypothesis",
        default=None,
        low=0,
        high=1,
        init_default=None,
    )
    note: str = key("str", "", "where the threshold comes from", default="", init_default="")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrendWindow:
    """An extra window for ``projector trends`` (a ``[[windows]]`` row): dates inclusive,
    ``end`` None = cut-off."""

    name: str = key("str", "", "window name", nonempty=True)
    start: dt.date = key("date", "", "first publication date in the window")  # noqa: RUF009
    end: dt.date | None = key(  # noqa: RUF009
        "date", "", "last publication date (none: the cut-off)", default=None
    )
    scale: str = key(
        "choice", "", "systems fitted", default="all", choices=("all", "regular", "large")
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    """A validated scenario. Every field is plain data; the fields that carry a
    :class:`Param` are the scenario keys (units, ranges and help there)."""

    name: str = key(
        "str",
        "",
        "scenario name; results go to results/<name>/",
        toml="name",
        result="scenario_name",
        summarized=True,
    )
    description: str = key(
        "str",
        "",
        "one paragraph saying what the scenario assumes",
        toml="description",
        default="",
        result="scenario_description",
    )
    seed: int = key(
        "int",
        "",
        "seed of all random draws",
        toml="seed",
        default=0,
        result="seed",
        summarized=True,
        low=0,
        high=2**63 - 1,
        typical=(0, 2**32),
    )
    paths: int = key(
        "int",
        "paths",
        "number of Monte Carlo paths",
        toml="paths",
        default=10_000,
        result="paths",
        summarized=True,
        low=1,
        high=10_000_000,
        typical=(1_000, 100_000),
    )
    # None: the newest publication date in the data
    start_year: float | None = key(
        "float",
        "decimal year",
        "projection start s; 'latest-data' = newest publication date in the data; "
        "'cutoff' = data.cutoff as a decimal year (hindcasts)",
        toml="start_year",
        low=1950,
        high=2200,
        special=("latest-data", "cutoff"),
        typical=(2015, 2030),
    )
    start_rule: str  # "year", "latest-data" or "cutoff" (how start_year was set)
    end_year: float = key(
        "float",
        "decimal year",
        "projection horizon",
        toml="end_year",
        result="end_year",
        summarized=True,
        low=1951,
        high=2500,
        typical=(2040, 2100),
    )
    steps_per_year: int = key(
        "int",
        "1/year",
        "time-grid resolution (12 = monthly)",
        toml="steps_per_year",
        result="steps_per_year",
        default=12,
        low=1,
        high=366,
        typical=(1, 52),
    )
    data: DataSpec
    start_compute: float | str = key(
        "float",
        "log10 FLOP",
        "C(s): 'frontier' (largest in data at or before s), 'trend' (DL fit at s) or a number",
        toml="start.compute",
        default="frontier",
        low=0,
        high=60,
        special=("frontier", "trend"),
        typical=(20, 30),
    )
    start_log10_sd: float | str = key(
        "float",
        "OOM",
        "sd of a normal error on log10 C(s), drawn once per path; 'data' = the start "
        "system's stated uncertainty (column uncertainty_factor), 0 where it has none",
        toml="start.log10_sd",
        default=0.0,
        low=0,
        high=5,
        special=("data",),
        typical=(0, 1),
    )
    moore_doubling_months: float = key(
        "float",
        "months",
        "reference doubling time of the long-run rate",
        toml="growth.moore_doubling_months",
        result="moore_doubling_months",
        default=20.0,
        low=1,
        high=600,
        typical=(12, 36),
    )
    long_run_doubling_months: float | None = key(
        "float",
        "months",
        "doubling time of the long-run rate itself, the rate paths revert to (log10(2) x "
        "12 / months OOM/year, whatever growth.moore_units); 'derived' = sqrt(pre-DL rate x "
        "reference rate) from growth.moore_doubling_months; giving both is an error",
        toml="growth.long_run_doubling_months",
        default="derived",
        special=("derived",),
        low=1,
        high=600,
        typical=(6, 36),
    )
    moore_units: str = key(
        "choice",
        "",
        "units of the reference rate (method.md section 3)",
        toml="growth.moore_units",
        result="moore_units",
        summarized=True,
        default="consistent",
        choices=("consistent", "published-notebook"),
    )
    weight_shape: str = key(
        "choice",
        "",
        "w(t): 'gaussian' (w(R)=exp(-1/2)), 'half-at-reversion' (w(R)=1/2), "
        "'logistic' (1/(1+exp((t-R)/width)), w(R)=1/2) or 'step' (1 before R, 0 from R)",
        toml="growth.weight_shape",
        result="weight_shape",
        summarized=True,
        default="gaussian",
        choices=("gaussian", "half-at-reversion", "logistic", "step"),
    )
    logistic_width_years: float = key(
        "float",
        "years",
        "width of the logistic weight shape",
        toml="growth.logistic_width_years",
        result="logistic_width_years",
        default=2.0,
        low=0.01,
        high=100,
        typical=(0.5, 10),
    )
    reversion_before_start: str = key(
        "choice",
        "",
        "a reversion date drawn before the start: 'mirror' (the 2022 formula sees only "
        "(R-s)^2), 'truncate' (condition the mixture on R > s) or 'immediate' (w = 0 "
        "from the start)",
        toml="growth.reversion_before_start",
        result="reversion_before_start",
        default="truncate",
        choices=("mirror", "truncate", "immediate"),
    )
    fit: str = key(
        "choice",
        "",
        "systems the Deep-Learning rate is bootstrapped from: 'all' or 'frontier' (the "
        "record-setting systems only)",
        toml="growth.fit",
        result="growth_fit",
        default="all",
        choices=("all", "frontier"),
    )
    estimate_noise_factor: float = key(
        "float",
        "factor",
        "per-estimate error in the bootstrap: each resampled compute x a log-uniform "
        "factor in [1/f, f] (1 = none; the Three Eras paper used 2)",
        toml="growth.estimate_noise_factor",
        result="estimate_noise_factor",
        default=1.0,
        low=1,
        high=100,
        typical=(1, 3),
    )
    frontier_noise: str = key(
        "choice",
        "",
        "'resampled': add to each path the frontier's own stall-and-jump deviations from "
        "its trend, resampled from a random past origin; 'none': smooth paths (the study)",
        toml="growth.frontier_noise",
        result="frontier_noise",
        default="none",
        choices=("none", "resampled"),
    )
    frontier_paths: str = key(
        "choice",
        "",
        "'records': each path is the running maximum of its values and never below C(s) "
        "(the frontier is a record: it cannot fall); 'levels': paths as integrated and "
        "shifted, free to fall (the 2022 study, and every result before this key); "
        "'record-process': the running maximum of releases about the integrated trend, "
        "fitted at the start to the records since data.dl_start (replaces frontier_noise)",
        toml="growth.frontier_paths",
        result="frontier_paths",
        default="levels",
        choices=("levels", "records", "record-process"),
    )
    record_slope: str = key(
        "choice",
        "",
        "frontier_paths = 'record-process': the slope of the record fit. 'records': fitted "
        "with the tail scale by maximum likelihood on the record history (each path draws "
        "both from the fit's normal approximation, and the level at s given them); the "
        "level then moves at the engine's g(t). 'records-forward': the same, and the level "
        "moves at the path's fitted slope (no reversion). 'bootstrap': the fit holds the "
        "OLS slope of the Deep-Learning fit set",
        toml="growth.record_slope",
        result="record_slope",
        default="records",
        choices=("records", "records-forward", "bootstrap"),
    )
    frontier_noise_scale: float = key(
        "float",
        "1",
        "multiplies the resampled frontier deviations (1 = as observed)",
        toml="growth.frontier_noise_scale",
        default=1.0,
        low=0,
        high=5,
        typical=(0, 2),
    )
    frontier_noise_years: float = key(
        "float",
        "years",
        "resample deviations from origins in this many years before the start "
        "(0 = the whole Deep-Learning era)",
        toml="growth.frontier_noise_years",
        default=0.0,
        low=0,
        high=100,
        typical=(0, 12),
    )
    nonpositive: str = key(
        "choice",
        "",
        "a bootstrap rate <= 0: 'error' stops the run, 'clip' raises it to clip_floor",
        toml="growth.nonpositive",
        result="nonpositive_rates",
        default="error",
        choices=("error", "clip"),
    )
    clip_floor: float = key(
        "float",
        "OOM/year",
        "floor used by nonpositive='clip'",
        toml="growth.clip_floor",
        default=1e-3,
        low=1e-9,
        high=1,
        typical=(1e-4, 1e-2),
    )
    ceilings: CeilingSpec
    reversion: tuple[Component, ...]  # [[reversion]]: reversion.Component rows
    anchors: tuple[Anchor, ...]  # [[anchors]]
    windows: tuple[TrendWindow, ...]  # [[windows]]
    report_years: tuple[float, ...] = key(
        "floats",
        "decimal year",
        "years reported in the summary",
        toml="report.years",
        result="report_years",
        summarized=True,
        typical=(2025, 2100),
    )
    quantiles: tuple[float, ...] = key(
        "floats",
        "probability",
        "quantiles reported besides the median",
        toml="report.quantiles",
        result="report_quantiles",
        summarized=True,
        default=[0.025, 0.25, 0.75, 0.975],
        low=0,
        high=1,
        typical=(0.01, 0.99),
    )
    thresholds: tuple[float, ...] = key(
        "floats",
        "log10 FLOP",
        "levels whose P(largest notable system above it) the summary reports at each report "
        "year (e.g. [29.3] for Epoch's 2e29 FLOP feasible by 2030); 'none' for none",
        toml="report.thresholds",
        result="report_thresholds",
        default="none",
        special=("none",),
        low=0,
        high=100,
        typical=(25, 35),
    )
    source: str  # the file it was read from
    sha256: str  # hash of the resolved scenario (after `extends` and overrides)
    file_sha256: str  # hash of the file's bytes
    overrides: tuple[tuple[str, str], ...] = ()  # (dotted key, value as given), in order
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def resolved(self) -> dict[str, Any]:
        """The resolved scenario as a JSON-able dict (for provenance)."""
        body = dataclasses.asdict(dataclasses.replace(self, raw={}))
        body.pop("raw")
        # a feature switched off is not part of the run: scenarios and results made
        # before it keep their hash and provenance
        if self.ceilings.mode == "off":
            body.pop("ceilings")
        if not self.thresholds:
            body.pop("thresholds")
        if self.long_run_doubling_months is None:
            body.pop("long_run_doubling_months")
        return _jsonable(body)


#: ``extends`` is read while the file is merged and is not kept in the scenario.
EXTENDS = Param("", "extends", "str", "", "scenario this one overrides (name or relative path)", "")
#: The tables of scalar keys, in the order of the README table; then the arrays of tables.
TABLES = ("", "data", "start", "growth", "report", "ceilings")
ARRAY_TABLES = ("reversion", "anchors", "windows")


def _params() -> dict[str, tuple[Param, ...]]:
    keys = (*declared(Scenario), *declared(DataSpec, "data"), *declared(CeilingSpec, "ceilings"))
    out = {t: tuple(p for p in keys if p.table == t) for t in TABLES}
    top = list(out[""])
    top.insert([p.key for p in top].index("description") + 1, EXTENDS)
    out[""] = tuple(top)
    return out


#: Every scalar key, by table (derived from the fields above).
PARAMS: dict[str, tuple[Param, ...]] = _params()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj
