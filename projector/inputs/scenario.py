"""Scenarios: TOML files parsed and validated into frozen dataclasses.

Dependency direction: ``scenario`` imports nothing else from projector except
``errors``; every other module may import it.

A scenario states every choice the method leaves open (``../shared/docs/method.md``):
the data and its era boundaries, the start compute, the Moore reference rate and its
units reading, the weight-function shape, the reversion mixture, the anchors and what
to report. Each parameter is declared once in :data:`PARAMS` (type, range, units,
default, help); the same declarations drive validation and the README table.

A scenario may ``extends`` another (a name in ``scenarios/`` or a path relative to the
file); tables merge key by key and arrays of tables (``reversion``, ``anchors``) are
replaced whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from projector.errors import InputError

__all__ = [
    "DISTRIBUTIONS",
    "PARAMS",
    "Anchor",
    "Component",
    "DataSpec",
    "Scenario",
    "TrendWindow",
    "find_scenario",
    "load_scenario",
    "override",
    "parse_set",
    "rehash",
    "scenario_dir",
    "settable_keys",
    "table_keys",
    "with_overrides",
]

_REQUIRED = object()


@dataclasses.dataclass(frozen=True)
class Param:
    """Declaration of one scenario key: its type, allowed values, units and help."""

    key: str
    kind: str  # "int", "float", "str", "bool", "date", "floats", "choice"
    units: str
    help: str
    default: Any = _REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    special: tuple[str, ...] = ()  # string values accepted besides the kind


# Declared once: validation, defaults and the documentation table all read these.
PARAMS: dict[str, tuple[Param, ...]] = {
    "": (
        Param("name", "str", "", "scenario name; results go to results/<name>/"),
        Param("description", "str", "", "one paragraph saying what the scenario assumes", ""),
        Param("extends", "str", "", "scenario this one overrides (name or relative path)", ""),
        Param("seed", "int", "", "seed of all random draws", 0, 0, 2**63 - 1),
        Param("paths", "int", "paths", "number of Monte Carlo paths", 10_000, 1, 10_000_000),
        Param(
            "start_year",
            "float",
            "decimal year",
            "projection start s; 'latest-data' = newest publication date in the data; "
            "'cutoff' = data.cutoff as a decimal year (hindcasts)",
            _REQUIRED,
            1950,
            2200,
            special=("latest-data", "cutoff"),
        ),
        Param("end_year", "float", "decimal year", "projection horizon", _REQUIRED, 1951, 2500),
        Param("steps_per_year", "int", "1/year", "time-grid resolution (12 = monthly)", 12, 1, 366),
    ),
    "data": (
        Param(
            "dataset",
            "str",
            "",
            "'bundled' or a path to an Epoch CSV export (relative to the scenario file)",
            "bundled",
        ),
        Param(
            "cutoff",
            "date",
            "",
            "drop systems published after this date; 'none' keeps all",
            "none",
            special=("none",),
        ),
        Param("pre_dl_start", "date", "", "first date of the pre-Deep-Learning era", "1950-01-01"),
        Param("dl_start", "date", "", "first date of the Deep-Learning era", "2010-01-01"),
        Param(
            "notable_only",
            "bool",
            "",
            "Airtable-format exports: keep rows with a notability criterion",
            True,
        ),
    ),
    "start": (
        Param(
            "compute",
            "float",
            "log10 FLOP",
            "C(s): 'frontier' (largest in data at or before s), 'trend' (DL fit at s) or a number",
            "frontier",
            0,
            60,
            special=("frontier", "trend"),
        ),
        Param(
            "log10_sd",
            "float",
            "OOM",
            "sd of a normal error on log10 C(s), drawn once per path; 'data' = the start "
            "system's stated uncertainty (column uncertainty_factor), 0 where it has none",
            0.0,
            0,
            5,
            special=("data",),
        ),
    ),
    "growth": (
        Param(
            "moore_doubling_months",
            "float",
            "months",
            "reference doubling time of the long-run rate",
            20.0,
            1,
            600,
        ),
        Param(
            "moore_units",
            "choice",
            "",
            "units of the reference rate (method.md section 3)",
            "consistent",
            choices=("consistent", "published-notebook"),
        ),
        Param(
            "weight_shape",
            "choice",
            "",
            "w(t): 'gaussian' (w(R)=exp(-1/2)), 'half-at-reversion' (w(R)=1/2), "
            "'logistic' (1/(1+exp((t-R)/width)), w(R)=1/2) or 'step' (1 before R, 0 from R)",
            "gaussian",
            choices=("gaussian", "half-at-reversion", "logistic", "step"),
        ),
        Param(
            "logistic_width_years",
            "float",
            "years",
            "width of the logistic weight shape",
            2.0,
            0.01,
            100,
        ),
        Param(
            "reversion_before_start",
            "choice",
            "",
            "a reversion date drawn before the start: 'mirror' (the 2022 formula sees only "
            "(R-s)^2), 'truncate' (condition the mixture on R > s) or 'immediate' (w = 0 "
            "from the start)",
            "truncate",
            choices=("mirror", "truncate", "immediate"),
        ),
        Param(
            "fit",
            "choice",
            "",
            "systems the Deep-Learning rate is bootstrapped from: 'all' or 'frontier' (the "
            "record-setting systems only)",
            "all",
            choices=("all", "frontier"),
        ),
        Param(
            "estimate_noise_factor",
            "float",
            "factor",
            "per-estimate error in the bootstrap: each resampled compute x a log-uniform "
            "factor in [1/f, f] (1 = none; the Three Eras paper used 2)",
            1.0,
            1,
            100,
        ),
        Param(
            "frontier_noise",
            "choice",
            "",
            "'resampled': add to each path the frontier's own stall-and-jump deviations from "
            "its trend, resampled from a random past origin; 'none': smooth paths (the study)",
            "none",
            choices=("none", "resampled"),
        ),
        Param(
            "frontier_noise_scale",
            "float",
            "1",
            "multiplies the resampled frontier deviations (1 = as observed)",
            1.0,
            0,
            5,
        ),
        Param(
            "frontier_noise_years",
            "float",
            "years",
            "resample deviations from origins in this many years before the start "
            "(0 = the whole Deep-Learning era)",
            0.0,
            0,
            100,
        ),
        Param(
            "nonpositive",
            "choice",
            "",
            "a bootstrap rate <= 0: 'error' stops the run, 'clip' raises it to clip_floor",
            "error",
            choices=("error", "clip"),
        ),
        Param("clip_floor", "float", "OOM/year", "floor used by nonpositive='clip'", 1e-3, 1e-9, 1),
    ),
    "report": (
        Param("years", "floats", "decimal year", "years reported in the summary", _REQUIRED),
        Param(
            "quantiles",
            "floats",
            "probability",
            "quantiles reported besides the median",
            [0.025, 0.25, 0.75, 0.975],
            0,
            1,
        ),
    ),
}

# Reversion distribution families and their parameters (all in years).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("median_years_after_start", "sigma"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "point": ("year",),
}
_COMPONENT_KEYS = ("name", "weight", "distribution", "relative_to")
_RELATIVE = ("calendar", "start")
_ANCHOR_KEYS = ("name", "log10_flop", "weight", "note")


@dataclasses.dataclass(frozen=True)
class Component:
    """One reversion-date component: pick with ``weight``, draw from ``distribution``."""

    name: str
    weight: float
    distribution: str
    params: tuple[tuple[str, float], ...]
    # "calendar": year parameters are calendar years; "start": years after the start s.
    # lognormal is always in years after the start.
    relative_to: str = "calendar"

    def param(self, key: str) -> float:
        return dict(self.params)[key]


@dataclasses.dataclass(frozen=True)
class Anchor:
    """A compute threshold [log10 FLOP] a path may cross."""

    name: str
    log10_flop: float
    note: str = ""
    weight: float | None = None  # belief in this hypothesis; all or none given, summing to 1


@dataclasses.dataclass(frozen=True)
class TrendWindow:
    """An extra window for ``projector trends``: dates inclusive, ``end`` None = cut-off."""

    name: str
    start: dt.date
    end: dt.date | None
    scale: str  # all, regular or large


@dataclasses.dataclass(frozen=True)
class DataSpec:
    dataset: str  # "bundled" or an absolute path
    cutoff: dt.date | None
    pre_dl_start: dt.date
    dl_start: dt.date
    notable_only: bool


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A validated scenario. Every field is plain data; see :data:`PARAMS` for units."""

    name: str
    description: str
    seed: int
    paths: int
    start_year: float | None  # None: the newest publication date in the data
    start_rule: str  # "year", "latest-data" or "cutoff" (how start_year was set)
    end_year: float
    steps_per_year: int
    data: DataSpec
    start_compute: float | str  # log10 FLOP, "frontier" or "trend"
    start_log10_sd: float | str  # OOM, or "data"
    moore_doubling_months: float
    moore_units: str
    weight_shape: str
    logistic_width_years: float
    reversion_before_start: str
    fit: str
    estimate_noise_factor: float
    frontier_noise: str
    frontier_noise_scale: float
    frontier_noise_years: float
    nonpositive: str
    clip_floor: float
    reversion: tuple[Component, ...]
    anchors: tuple[Anchor, ...]
    windows: tuple[TrendWindow, ...]
    report_years: tuple[float, ...]
    quantiles: tuple[float, ...]
    source: str  # the file it was read from
    sha256: str  # hash of the resolved scenario (after `extends` and overrides)
    file_sha256: str  # hash of the file's bytes
    overrides: tuple[tuple[str, str], ...] = ()  # (dotted key, value as given), in order
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def resolved(self) -> dict[str, Any]:
        """The resolved scenario as a JSON-able dict (for provenance)."""
        body = dataclasses.asdict(dataclasses.replace(self, raw={}))
        body.pop("raw")
        return _jsonable(body)


def scenario_dir() -> Path:
    """The ``scenarios/`` folder of the checkout (next to the package)."""
    return Path(__file__).resolve().parents[2] / "scenarios"


def find_scenario(name_or_path: str) -> Path:
    """Resolve a scenario name (``scenarios/<name>.toml``) or a path to a file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise InputError(f"{name_or_path}: no such scenario file")
        return p
    candidate = scenario_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = sorted(f.stem for f in scenario_dir().glob("*.toml"))
        raise InputError(f"{name_or_path}: no such scenario (known: {', '.join(known)})")
    return candidate


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario.

    Raises
    ------
    InputError
        Naming the file and the key, and what was expected.
    """
    path = find_scenario(str(name_or_path))
    raw, file_bytes = _read_merged(path, seen=())
    return _build(raw, path, hashlib.sha256(file_bytes).hexdigest())


# --- reading and merging ----------------------------------------------------------


#: Bounds on what a scenario file may be: its size [bytes], the nesting of its tables and
#: arrays, the length of an ``extends`` chain and of a name (it becomes folder names such
#: as ``results/backtest-<name>`` and hidden temporaries beside them, within NAME_MAX).
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 16
MAX_EXTENDS = 32
MAX_NAME_BYTES = 200


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{path}: {size:,} bytes is too large for a scenario file "
                f"(at most {MAX_FILE_BYTES:,})"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{path}: too large for a scenario file (at most {MAX_FILE_BYTES:,} bytes)"
        )
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise InputError(
            f"{path}: tables or arrays nested too deeply (at most {MAX_DEPTH})"
        ) from None
    _check_depth(str(path), parsed)
    return parsed, data


def _check_depth(where: str, tree: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int, str]] = [(tree, 0, "")]
    while stack:
        node, depth, key = stack.pop()
        if depth > MAX_DEPTH:
            at = f" at '{key[:80]}'" if key else ""
            raise InputError(
                f"{where}: tables or arrays nested more than {MAX_DEPTH} deep{at}; flatten them"
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1, f"{key}.{k}" if key else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, depth + 1, f"{key}[{i}]") for i, v in enumerate(node))


def _read_merged(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], bytes]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise InputError(f"{path}: 'extends' forms a cycle ({chain})")
    if len(seen) >= MAX_EXTENDS:
        raise InputError(
            f"{seen[0]}: 'extends' chain longer than {MAX_EXTENDS} files (reached {path}); "
            "shorten it"
        )
    raw, data = _read_toml(path)
    parent = raw.pop("extends", None)
    # Relative paths in [data] are relative to the file that states them.
    ds = raw.get("data", {}).get("dataset") if isinstance(raw.get("data"), dict) else None
    if isinstance(ds, str) and ds != "bundled" and not Path(ds).is_absolute():
        raw["data"]["dataset"] = str((path.parent / ds).resolve())
    if parent is None:
        return raw, data
    if not isinstance(parent, str):
        raise InputError(f"{path}: key 'extends' must be a scenario name or path")
    ppath = path.parent / parent if parent.endswith(".toml") else None
    try:
        base_path = ppath if ppath is not None else find_scenario(parent)
    except InputError as exc:
        raise InputError(f"{path}: key 'extends': {exc}") from None
    base, _ = _read_merged(base_path, (*seen, resolved))
    return _merge(base, raw), data


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# --- validation -------------------------------------------------------------------


def _check(where: str, p: Param, value: Any) -> Any:
    """Validate one value against its declaration; return the typed value."""
    if isinstance(value, str) and value in p.special:
        return value
    expect = _describe(p)
    bad = InputError(f"{where}: key '{p.key}' must be {expect}, got {value!r}")
    if p.kind == "str":
        if not isinstance(value, str):
            raise bad
        return value
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if p.kind == "choice":
        if value not in p.choices:
            raise bad
        return value
    if p.kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise bad from None
        raise bad
    if p.kind == "floats":
        if not isinstance(value, list) or not value:
            raise bad
        return [_number(where, p, v, float, expect) for v in value]
    return _number(where, p, value, int if p.kind == "int" else float, expect)


def _number(where: str, p: Param, value: Any, kind: type, expect: str) -> Any:
    bad = InputError(f"{where}: key '{p.key}' must be {expect}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    if kind is int and not isinstance(value, int):
        raise bad
    if not math.isfinite(value):
        raise bad
    if (p.low is not None and value < p.low) or (p.high is not None and value > p.high):
        raise bad
    return kind(value)


def _describe(p: Param) -> str:
    if p.kind == "choice":
        return "one of " + ", ".join(repr(c) for c in p.choices)
    if p.kind == "date":
        base = "an ISO date (YYYY-MM-DD)"
    elif p.kind == "floats":
        base = "a non-empty list of numbers"
    elif p.kind in ("int", "float"):
        base = "an integer" if p.kind == "int" else "a number"
    else:
        base = {"str": "a string", "bool": "true or false"}[p.kind]
    if p.low is not None and p.high is not None and p.kind == "int":
        base += f" in [{int(p.low)}, {int(p.high)}]"
    elif p.low is not None and p.high is not None and p.kind != "date":
        base += f" in [{p.low:g}, {p.high:g}]"
    if p.units:
        base += f" [{p.units}]"
    if p.special:
        base += " or " + " or ".join(repr(s) for s in p.special)
    return base


def _section(
    where: str,
    table: Any,
    params: tuple[Param, ...],
    label: str,
    allowed_extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InputError(f"{where}: [{label}] must be a table")
    valid = {p.key for p in params}
    for key in table:
        if key not in valid and key not in allowed_extra:
            prefix = f"{label}." if label else ""
            names = ", ".join(sorted(valid | set(allowed_extra)))
            raise InputError(f"{where}: unknown key '{prefix}{key}' (valid: {names})")
    out: dict[str, Any] = {}
    for p in params:
        if p.key in table:
            out[p.key] = _check(where, p, table[p.key])
        elif p.default is _REQUIRED:
            prefix = f"{label}." if label else ""
            raise InputError(f"{where}: missing key '{prefix}{p.key}' ({_describe(p)})")
        else:
            out[p.key] = _check(where, p, p.default)
    return out


def _components(where: str, raw: Any) -> tuple[Component, ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{where}: [[reversion]] must list at least one component")
    comps = []
    for i, item in enumerate(raw):
        at = f"{where}: reversion[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be a table")
        dist = item.get("distribution")
        if dist not in DISTRIBUTIONS:
            raise InputError(
                f"{at}: key 'distribution' must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}"
            )
        keys = DISTRIBUTIONS[dist]
        for key in item:
            if key not in _COMPONENT_KEYS and key not in keys:
                valid = ", ".join((*_COMPONENT_KEYS, *keys))
                raise InputError(f"{at}: unknown key '{key}' for {dist} (valid: {valid})")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{at}: key 'name' must be a non-empty string")
        weight = _number(
            at,
            Param("weight", "float", "", "", low=0, high=1),
            item.get("weight"),
            float,
            "a number in [0, 1]",
        )
        params = []
        for key in keys:
            if key not in item:
                raise InputError(f"{at}: missing key '{key}' for distribution {dist}")
            v = _number(at, Param(key, "float", "", ""), item[key], float, "a number [years]")
            params.append((key, v))
        _check_family(at, dist, dict(params))
        relative = item.get("relative_to", "start" if dist == "lognormal" else "calendar")
        if relative not in _RELATIVE or (dist == "lognormal" and relative != "start"):
            valid = "'start' (lognormal is in years after the start)"
            if dist != "lognormal":
                valid = "one of " + ", ".join(repr(r) for r in _RELATIVE)
            raise InputError(f"{at}: key 'relative_to' must be {valid}, got {relative!r}")
        comps.append(Component(name, weight, dist, tuple(params), relative))
    names = [c.name for c in comps]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: reversion component names must be unique, got {names}")
    total = sum(c.weight for c in comps)
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"{where}: reversion weights must sum to 1, got {total:.6g}")
    return tuple(comps)


def _check_family(at: str, dist: str, p: dict[str, float]) -> None:
    problems = {
        "normal": p.get("sd", 1) <= 0 and "sd must be > 0",
        "lognormal": (p.get("median_years_after_start", 1) <= 0 or p.get("sigma", 1) <= 0)
        and "median_years_after_start and sigma must be > 0",
        "uniform": p.get("low", 0) >= p.get("high", 1) and "low must be < high",
        "triangular": not (
            p.get("low", 0) <= p.get("mode", 0.5) <= p.get("high", 1)
            and p.get("low", 0) < p.get("high", 1)
        )
        and "need low <= mode <= high and low < high",
    }
    if problems.get(dist):
        raise InputError(f"{at}: {dist}: {problems[dist]}")


def _anchors(where: str, raw: Any) -> tuple[Anchor, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: [[anchors]] must be an array of tables")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}: anchors[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be a table")
        for key in item:
            if key not in _ANCHOR_KEYS:
                raise InputError(f"{at}: unknown key '{key}' (valid: {', '.join(_ANCHOR_KEYS)})")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{at}: key 'name' must be a non-empty string")
        value = _number(
            at,
            Param("log10_flop", "float", "", "", low=0, high=100),
            item.get("log10_flop"),
            float,
            "a number in [0, 100] [log10 FLOP]",
        )
        note = item.get("note", "")
        if not isinstance(note, str):
            raise InputError(f"{at}: key 'note' must be a string")
        weight = item.get("weight")
        if weight is not None:
            weight = _number(
                at,
                Param("weight", "float", "", "", low=0, high=1),
                weight,
                float,
                "a number in [0, 1]",
            )
        out.append(Anchor(name, value, note, weight))
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: anchor names must be unique, got {names}")
    given = [a.weight is not None for a in out]
    if any(given) and not all(given):
        missing = [a.name for a in out if a.weight is None]
        raise InputError(
            f"{where}: anchors[].weight must be given for every anchor or none; "
            f"missing for {', '.join(missing)}"
        )
    if all(given) and out:
        total = sum(a.weight or 0.0 for a in out)
        if abs(total - 1.0) > 1e-6:
            raise InputError(f"{where}: anchor weights must sum to 1, got {total:.6g}")
    return tuple(out)


def _windows(where: str, raw: Any) -> tuple[TrendWindow, ...]:
    """``[[windows]]``: name, start (date), optional end (date) and scale."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: 'windows' must be an array of tables ([[windows]])")
    out = []
    for k, item in enumerate(raw):
        at = f"{where}: windows[{k}]"
        if not isinstance(item, dict):
            raise InputError(f"{at}: must be a table")
        unknown = set(item) - {"name", "start", "end", "scale"}
        if unknown:
            raise InputError(
                f"{at}: unknown key(s) {', '.join(sorted(unknown))}; valid: name, start, end, scale"
            )
        name, start, end = item.get("name"), item.get("start"), item.get("end")
        scale = item.get("scale", "all")
        if not isinstance(name, str) or not name:
            raise InputError(f"{at}: key 'name' must be a non-empty string")
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise InputError(f"{at}: key 'start' must be a date (YYYY-MM-DD, unquoted)")
        if end is not None and (not isinstance(end, dt.date) or isinstance(end, dt.datetime)):
            raise InputError(f"{at}: key 'end' must be a date (YYYY-MM-DD, unquoted)")
        if end is not None and end <= start:
            raise InputError(f"{at}: key 'end' must be after start")
        if scale not in ("all", "regular", "large"):
            raise InputError(f"{at}: key 'scale' must be one of all, regular, large")
        out.append(TrendWindow(name, start, end, scale))
    return tuple(out)


def _decimal_year(date: dt.date) -> float:
    """``year + (day_of_year - 1) / days_in_year`` (method.md section 1)."""
    first = dt.date(date.year, 1, 1)
    return date.year + (date - first).days / (dt.date(date.year + 1, 1, 1) - first).days


def _build(
    raw: dict[str, Any],
    path: Path,
    file_sha: str,
    overrides: tuple[tuple[str, str], ...] = (),
) -> Scenario:
    where = str(path) if not overrides else f"{path} (with --set)"
    tables = ("data", "start", "growth", "report", "reversion", "anchors", "windows")
    top = _section(
        where,
        {k: v for k, v in raw.items() if k not in tables},
        PARAMS[""],
        "",
        allowed_extra=tables,
    )
    if "name" not in raw:
        raise InputError(f"{where}: missing key 'name' (a string)")
    sec = {
        label: _section(where, raw.get(label, {}), PARAMS[label], label)
        for label in ("data", "start", "growth", "report")
    }
    d = sec["data"]
    if (
        d["dataset"] != "bundled"
        and Path(d["dataset"]).exists()
        and not Path(d["dataset"]).is_file()
    ):
        # a FIFO or device would block or never end; a folder cannot be read
        raise InputError(f"{where}: key 'data.dataset': {d['dataset']} is not a regular file")
    if d["dl_start"] <= d["pre_dl_start"]:
        raise InputError(f"{where}: key 'data.dl_start' must be after data.pre_dl_start")
    cutoff = None if d["cutoff"] == "none" else d["cutoff"]
    if cutoff is not None and cutoff <= d["dl_start"]:
        raise InputError(f"{where}: key 'data.cutoff' must be after data.dl_start")
    start = top["start_year"]
    rule = start if isinstance(start, str) else "year"
    if start == "cutoff":
        if cutoff is None:
            raise InputError(
                f"{where}: key 'start_year' = 'cutoff' needs a data.cutoff date (it is 'none')"
            )
        start_year: float | None = _decimal_year(cutoff)
    else:
        start_year = None if start == "latest-data" else float(start)
    end_year = float(top["end_year"])
    if start_year is not None and end_year <= start_year:
        raise InputError(f"{where}: key 'end_year' must be after start_year ({start_year:g})")
    years = tuple(sorted(sec["report"]["years"]))
    for y in years:
        if y > end_year or (start_year is not None and y < start_year):
            raise InputError(
                f"{where}: key 'report.years' has {y:g}, outside the projection "
                f"[{'latest-data' if start_year is None else f'{start_year:g}'}, {end_year:g}]"
            )
    qs = sec["report"]["quantiles"]
    if any(not 0 < q < 1 for q in qs):
        raise InputError(f"{where}: key 'report.quantiles' must be numbers in (0, 1), got {qs}")
    quantiles = tuple(sorted(set(qs) | {0.5}))
    scen = Scenario(
        name=top["name"],
        description=top["description"],
        seed=top["seed"],
        paths=top["paths"],
        start_year=start_year,
        start_rule=rule,
        end_year=end_year,
        steps_per_year=top["steps_per_year"],
        data=DataSpec(d["dataset"], cutoff, d["pre_dl_start"], d["dl_start"], d["notable_only"]),
        start_compute=sec["start"]["compute"],
        start_log10_sd=sec["start"]["log10_sd"],
        moore_doubling_months=sec["growth"]["moore_doubling_months"],
        moore_units=sec["growth"]["moore_units"],
        weight_shape=sec["growth"]["weight_shape"],
        logistic_width_years=sec["growth"]["logistic_width_years"],
        reversion_before_start=sec["growth"]["reversion_before_start"],
        fit=sec["growth"]["fit"],
        estimate_noise_factor=sec["growth"]["estimate_noise_factor"],
        frontier_noise=sec["growth"]["frontier_noise"],
        frontier_noise_scale=sec["growth"]["frontier_noise_scale"],
        frontier_noise_years=sec["growth"]["frontier_noise_years"],
        nonpositive=sec["growth"]["nonpositive"],
        clip_floor=sec["growth"]["clip_floor"],
        reversion=_components(where, raw.get("reversion")),
        anchors=_anchors(where, raw.get("anchors")),
        windows=_windows(where, raw.get("windows")),
        report_years=years,
        quantiles=quantiles,
        source=str(path),
        sha256="",
        file_sha256=file_sha,
        overrides=overrides,
        raw=raw,
    )
    _check_name(where, scen.name)
    return rehash(scen)


def _check_name(where: str, name: str) -> None:
    """A scenario name becomes a folder name (``results/<name>``): say why one cannot."""
    why = ""
    if not name.strip():
        why = "is empty"
    elif "\0" in name:
        why = "contains a NUL character"
    elif any(c in name for c in "/\\"):
        why = "contains a slash"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        why = "contains a control character (a line break or tab?)"
    elif name.startswith("."):
        why = "starts with '.' (hidden, or '.' / '..')"
    elif name != name.strip():
        why = "starts or ends with a space"
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        why = f"is longer than {MAX_NAME_BYTES} bytes"
    if why:
        shown = repr(name if len(name) <= 40 else name[:40] + "...")
        raise InputError(
            f"{where}: key 'name' {shown} {why}; it must be a plain name usable as a folder"
        )


def with_overrides(
    scen: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | None = None,
) -> Scenario:
    """``scen`` with the command line's ``--paths``, ``--seed`` and ``--dataset`` applied.

    The same as :func:`override` with the keys ``paths``, ``seed`` and ``data.dataset``.
    """
    changes: dict[str, Any] = {}
    if paths is not None:
        changes["paths"] = paths
    if seed is not None:
        changes["seed"] = seed
    if dataset is not None:
        changes["data.dataset"] = str(Path(dataset).resolve())
    return override(scen, changes)


def settable_keys() -> list[str]:
    """Every scalar scenario key that :func:`override` accepts, by dotted name."""
    keys = [p.key for p in PARAMS[""] if p.key not in ("name", "description", "extends")]
    for table in ("data", "start", "growth", "report"):
        keys += [f"{table}.{p.key}" for p in PARAMS[table]]
    return keys


def parse_set(text: str, /) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line: the value read as a TOML value, else a string.

    ``growth.moore_doubling_months=18`` gives 18 (an integer, accepted where a number is),
    ``data.cutoff=2020-01-01`` a date, ``report.years=[2030,2040]`` a list,
    ``growth.weight_shape=logistic`` the string ``"logistic"``.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(
            f"--set {text!r}: expected KEY=VALUE, e.g. growth.moore_doubling_months=18"
        )
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    except RecursionError:
        raise InputError(f"--set {key}: value nested too deeply") from None
    _check_depth(f"--set {key}", parsed)
    return key, parsed


def override(scen: Scenario, changes: Mapping[str, Any], /) -> Scenario:
    """``scen`` with scalar keys changed by dotted name, validated like the file.

    The one way to change a key (``--set``, sweeps, backtests, sensitivity analysis).
    The changes are recorded in ``overrides`` and so in the hash and every result's
    provenance.

    Raises
    ------
    InputError
        An unknown key (listing the valid ones) or a value the key does not accept.
    """
    if not changes:
        return scen
    valid = settable_keys()
    raw = json.loads(json.dumps(scen.raw, default=_json_default))  # deep copy
    _restore_dates(raw)
    recorded = list(scen.overrides)
    tables = {k: v for k, v in changes.items() if k.split(".")[0] in ("reversion", "anchors")}
    for key, value in tables.items():
        recorded.append((key, str(value)))
    _set_in_tables(scen, raw, tables)
    for key, value in changes.items():
        if key in tables:
            continue
        if key not in valid:
            names = [*valid, *table_keys(scen)]
            raise InputError(f"--set {key}: unknown key (valid: {', '.join(names)})")
        table, _, leaf = key.rpartition(".")
        target = raw
        if table:
            target = raw.setdefault(table, {})
            if not isinstance(target, dict):
                raise InputError(f"{scen.source}: [{table}] must be a table")
        if isinstance(value, str) and key.endswith(("cutoff", "_start")) and value != "none":
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass  # the validator names the key and what it expects
        target[leaf] = value
        recorded.append((key, _jsonable(value) if not isinstance(value, str) else value))
    return _build(raw, Path(scen.source), scen.file_sha256, tuple((k, str(v)) for k, v in recorded))


def table_keys(scen: Scenario, /) -> list[str]:
    """Keys of the scenario's tables that :func:`override` accepts by name:
    ``reversion.<component>.<weight or parameter>``, ``anchors.<anchor>.log10_flop``
    (and ``.weight`` where anchors carry weights)."""
    keys = []
    for c in scen.reversion:
        keys += [f"reversion.{c.name}.weight"] + [f"reversion.{c.name}.{k}" for k, _ in c.params]
    for a in scen.anchors:
        keys.append(f"anchors.{a.name}.log10_flop")
        if a.weight is not None:
            keys.append(f"anchors.{a.name}.weight")
    return keys


def _set_in_tables(scen: Scenario, raw: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Apply ``reversion.<name>.<key>`` and ``anchors.<name>.<key>`` changes to ``raw``.

    Weights keep summing to 1: the weights set here are taken as given and the others
    share what is left, ``1 - sum(set)``, in their original proportions (so varying one
    component's weight moves the others proportionally). Setting weights that sum to
    more than 1 is an error.
    """
    valid = table_keys(scen)
    touched: dict[str, dict[str, float]] = {"reversion": {}, "anchors": {}}
    for key, value in changes.items():
        if key not in valid:
            raise InputError(f"--set {key}: unknown key (valid: {', '.join(valid)})")
        table, name, leaf = key.split(".", 2)
        items = raw.get(table)
        if not isinstance(items, list):
            raise InputError(f"{scen.source}: [[{table}]] must be an array of tables")
        item = next(i for i in items if isinstance(i, dict) and i.get("name") == name)
        item[leaf] = value
        if leaf == "weight":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"--set {key}: must be a number in [0, 1], got {value!r}")
            touched[table][name] = float(value)
    for table, set_weights in touched.items():
        if not set_weights:
            continue
        items = [i for i in raw[table] if isinstance(i, dict)]
        fixed = sum(set_weights.values())
        if fixed > 1 + 1e-9:
            raise InputError(
                f"--set {table}.*.weight: the weights set sum to {fixed:.6g}, more than 1"
            )
        others = [i for i in items if i.get("name") not in set_weights]
        rest = sum(float(i.get("weight", 0.0)) for i in others)
        for i in others:
            i["weight"] = (1.0 - fixed) * float(i.get("weight", 0.0)) / rest if rest > 0 else 0.0
        if not others and abs(fixed - 1.0) > 1e-6:
            raise InputError(
                f"--set {table}.*.weight: every weight is set and they sum to {fixed:.6g}, not 1"
            )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, dt.date):
        return {"__date__": obj.isoformat()}
    raise TypeError(type(obj).__name__)


def _restore_dates(obj: Any) -> Any:
    """Undo :func:`_json_default` in place (dates inside the raw TOML tree)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict) and set(v) == {"__date__"}:
                obj[k] = dt.date.fromisoformat(v["__date__"])
            else:
                _restore_dates(v)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, dict) and set(v) == {"__date__"}:
                obj[i] = dt.date.fromisoformat(v["__date__"])
            else:
                _restore_dates(v)
    return obj


def rehash(scen: Scenario) -> Scenario:
    """Return ``scen`` with ``sha256`` recomputed from its content (after overrides)."""
    body = scen.resolved()
    for key in ("sha256", "file_sha256", "source"):
        body.pop(key)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return dataclasses.replace(scen, sha256=digest)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj
