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
    "rehash",
    "scenario_dir",
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
            "projection start s; 'latest-data' = newest publication date in the data",
            _REQUIRED,
            1950,
            2200,
            special=("latest-data",),
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
            "w(t): 'gaussian' (w(R)=exp(-1/2)) or 'half-at-reversion' (w(R)=1/2)",
            "gaussian",
            choices=("gaussian", "half-at-reversion"),
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
_COMPONENT_KEYS = ("name", "weight", "distribution")
_ANCHOR_KEYS = ("name", "log10_flop", "note")


@dataclasses.dataclass(frozen=True)
class Component:
    """One reversion-date component: pick with ``weight``, draw from ``distribution``."""

    name: str
    weight: float
    distribution: str
    params: tuple[tuple[str, float], ...]

    def param(self, key: str) -> float:
        return dict(self.params)[key]


@dataclasses.dataclass(frozen=True)
class Anchor:
    """A compute threshold [log10 FLOP] a path may cross."""

    name: str
    log10_flop: float
    note: str = ""


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
    end_year: float
    steps_per_year: int
    data: DataSpec
    start_compute: float | str  # log10 FLOP, "frontier" or "trend"
    moore_doubling_months: float
    moore_units: str
    weight_shape: str
    nonpositive: str
    clip_floor: float
    reversion: tuple[Component, ...]
    anchors: tuple[Anchor, ...]
    windows: tuple[TrendWindow, ...]
    report_years: tuple[float, ...]
    quantiles: tuple[float, ...]
    source: str  # the file it was read from
    sha256: str  # hash of the resolved scenario (after `extends`)
    file_sha256: str  # hash of the file's bytes

    def resolved(self) -> dict[str, Any]:
        """The resolved scenario as a JSON-able dict (for provenance)."""
        return _jsonable(dataclasses.asdict(self))


def scenario_dir() -> Path:
    """The ``scenarios/`` folder of the checkout (next to the package)."""
    return Path(__file__).resolve().parent.parent / "scenarios"


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


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(data.decode("utf-8")), data
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def _read_merged(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], bytes]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise InputError(f"{path}: 'extends' forms a cycle ({chain})")
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
        comps.append(Component(name, weight, dist, tuple(params)))
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
        out.append(Anchor(name, value, note))
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: anchor names must be unique, got {names}")
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


def _build(raw: dict[str, Any], path: Path, file_sha: str) -> Scenario:
    where = str(path)
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
    start = top["start_year"]
    start_year = None if start == "latest-data" else float(start)
    end_year = float(top["end_year"])
    if start_year is not None and end_year <= start_year:
        raise InputError(f"{where}: key 'end_year' must be after start_year ({start_year:g})")
    d = sec["data"]
    if d["dl_start"] <= d["pre_dl_start"]:
        raise InputError(f"{where}: key 'data.dl_start' must be after data.pre_dl_start")
    cutoff = None if d["cutoff"] == "none" else d["cutoff"]
    if cutoff is not None and cutoff <= d["dl_start"]:
        raise InputError(f"{where}: key 'data.cutoff' must be after data.dl_start")
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
        end_year=end_year,
        steps_per_year=top["steps_per_year"],
        data=DataSpec(d["dataset"], cutoff, d["pre_dl_start"], d["dl_start"], d["notable_only"]),
        start_compute=sec["start"]["compute"],
        moore_doubling_months=sec["growth"]["moore_doubling_months"],
        moore_units=sec["growth"]["moore_units"],
        weight_shape=sec["growth"]["weight_shape"],
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
    )
    if not scen.name or any(c in scen.name for c in "/\\") or scen.name.startswith("."):
        raise InputError(f"{where}: key 'name' must be a plain name usable as a folder")
    return rehash(scen)


def with_overrides(
    scen: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | None = None,
) -> Scenario:
    """``scen`` with command-line overrides applied and its hash recomputed.

    The overrides are recorded in the resolved scenario (and so in every result's
    provenance); ``file_sha256`` still identifies the file as written.
    """
    if paths is None and seed is None and dataset is None:
        return scen
    data = scen.data if dataset is None else dataclasses.replace(scen.data, dataset=dataset)
    return rehash(
        dataclasses.replace(
            scen,
            paths=scen.paths if paths is None else paths,
            seed=scen.seed if seed is None else seed,
            data=data,
        )
    )


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
