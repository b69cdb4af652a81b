"""Scenarios: TOML files read, merged (``extends``), validated and overridden.

Dependency direction: imports ``errors``, ``dates`` and the declarations (``declare``,
``params``, ``reversion``, ``rows``) only; every other module may import it.

A scenario states every choice the method leaves open (``../shared/docs/method.md``):
the data and its era boundaries, the start compute, the Moore reference rate and its
units reading, the weight-function shape, the reversion mixture, the anchors and what
to report. Each key is declared once, as a field of :class:`~projector.inputs.params.Scenario`
(type, range, units, default, help); validation, the README table, provenance and the
tests' strategies read that declaration, and :func:`_build` fills the fields from it.

A scenario may ``extends`` another (a name in ``scenarios/`` or a path relative to the
file); tables merge key by key and arrays of tables (``reversion``, ``anchors``) are
replaced whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from projector.dates import decimal_year
from projector.errors import InputError
from projector.inputs.declare import Param, declared, section
from projector.inputs.params import (
    ARRAY_TABLES,
    PARAMS,
    TABLES,
    Anchor,
    CeilingSpec,
    DataSpec,
    Scenario,
    TrendWindow,
    _jsonable,
)
from projector.inputs.reversion import FAMILIES, Component, components
from projector.inputs.rows import anchors, windows

__all__ = [
    "DISTRIBUTIONS",
    "PARAMS",
    "Anchor",
    "Component",
    "DataSpec",
    "Param",
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

#: Date keys (a string set by --set is read as a date) and the words they accept besides.
_DATE_KEYS = {p.dotted: p.special for t in TABLES for p in PARAMS[t] if p.kind == "date"}
#: Arrays of tables whose rows :func:`override` changes by name (:func:`table_keys`).
_SETTABLE_ROWS = ("reversion", "anchors")

#: Reversion families and their parameters (all in years), from ``reversion.FAMILIES``.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {f.name: f.params for f in FAMILIES.values()}


def scenario_dir() -> Path:
    """The shipped scenarios: the checkout's ``scenarios/``, else the wheel's copy."""
    from projector.inputs import shipped

    return shipped.scenario_dir()


def find_scenario(name_or_path: str) -> Path:
    """Resolve a scenario name or a path to a file (see :mod:`projector.inputs.shipped`)."""
    from projector.inputs import shipped

    return shipped.find_scenario(name_or_path)


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
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting
        # for one; anything but a regular file is then refused before a byte is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise InputError(
                f"{path}: not a regular file (a folder, FIFO or device); give a scenario .toml file"
            )
        with os.fdopen(fd, "rb") as fh:
            if info.st_size > MAX_FILE_BYTES:
                raise InputError(
                    f"{path}: {info.st_size:,} bytes is too large for a scenario file "
                    f"(at most {MAX_FILE_BYTES:,})"
                )
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
    for table, name in (("data", "dataset"), ("ceilings", "table")):
        ds = raw.get(table, {}).get(name) if isinstance(raw.get(table), dict) else None
        if isinstance(ds, str) and ds != "bundled" and not Path(ds).is_absolute():
            raw[table][name] = str((path.parent / ds).resolve())
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
    _drop_other_long_run_rule(base, raw)
    return _merge(base, raw), data


#: The two ways to state the long-run rate: set it, or derive it from a reference rate.
LONG_RUN_RULES = ("long_run_doubling_months", "moore_doubling_months")


def _drop_other_long_run_rule(base: dict[str, Any], over: Mapping[str, Any]) -> None:
    """A file (or ``--set``) that states one long-run rule replaces the other rule of the
    scenario it extends: ``growth.long_run_doubling_months`` over an inherited
    ``growth.moore_doubling_months`` is not "both given" (both in one place are)."""
    given = over.get("growth")
    inherited = base.get("growth")
    if not isinstance(given, Mapping) or not isinstance(inherited, dict):
        return
    for mine, other in (LONG_RUN_RULES, LONG_RUN_RULES[::-1]):
        if mine in given and other not in given and other in inherited:
            base["growth"] = {k: v for k, v in inherited.items() if k != other}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(
    raw: dict[str, Any],
    path: Path,
    file_sha: str,
    overrides: tuple[tuple[str, str], ...] = (),
) -> Scenario:
    # name what was changed (by --set, --paths, --seed, --dataset, a sweep or the API),
    # not where it came from, which only the caller knows
    changed = ", ".join(dict.fromkeys(k for k, _ in overrides))
    where = str(path) if not overrides else f"{path} (with changes to {changed})"
    tables = (*TABLES[1:], *ARRAY_TABLES)
    sec = {
        "": section(
            where, {k: v for k, v in raw.items() if k not in tables}, PARAMS[""], "", tables
        ),
        **{t: section(where, raw.get(t, {}), PARAMS[t], t) for t in TABLES[1:]},
    }
    if "name" not in raw:
        raise InputError(f"{where}: missing key 'name' (a string)")
    # Every declared key, by the attribute that holds it: the fields are the mapping.
    values = {p.attr: sec[p.table][p.key] for p in declared(Scenario)}
    data = {p.attr: sec["data"][p.key] for p in declared(DataSpec, "data")}
    ceilings = {p.attr: sec["ceilings"][p.key] for p in declared(CeilingSpec, "ceilings")}
    # What one key cannot say alone: relations between keys, and the derived forms.
    if (
        data["dataset"] != "bundled"
        and Path(data["dataset"]).exists()
        and not Path(data["dataset"]).is_file()
    ):
        # a FIFO or device would block or never end; a folder cannot be read
        raise InputError(f"{where}: key 'data.dataset': {data['dataset']} is not a regular file")
    if data["dl_start"] <= data["pre_dl_start"]:
        raise InputError(f"{where}: key 'data.dl_start' must be after data.pre_dl_start")
    cutoff = data["cutoff"] = None if data["cutoff"] == "none" else data["cutoff"]
    if cutoff is not None and cutoff <= data["dl_start"]:
        raise InputError(f"{where}: key 'data.cutoff' must be after data.dl_start")
    start = values["start_year"]
    rule = start if isinstance(start, str) else "year"
    if start == "cutoff":
        if cutoff is None:
            raise InputError(
                f"{where}: key 'start_year' = 'cutoff' needs a data.cutoff date (it is 'none')"
            )
        start_year: float | None = decimal_year(cutoff)
    else:
        start_year = None if start == "latest-data" else float(start)
    end_year = float(values["end_year"])
    if start_year is not None and end_year <= start_year:
        raise InputError(f"{where}: key 'end_year' must be after start_year ({start_year:g})")
    years = tuple(sorted(values["report_years"]))
    for y in years:
        if y > end_year or (start_year is not None and y < start_year):
            raise InputError(
                f"{where}: key 'report.years' has {y:g}, outside the projection "
                f"[{'latest-data' if start_year is None else f'{start_year:g}'}, {end_year:g}]"
            )
    if values["long_run_doubling_months"] == "derived":
        values["long_run_doubling_months"] = None
    elif "moore_doubling_months" in raw.get("growth", {}):
        raise InputError(
            f"{where}: keys 'growth.long_run_doubling_months' and "
            "'growth.moore_doubling_months' are both given: the long-run rate is either set "
            "itself or derived from the reference doubling time; give one"
        )
    qs = values["quantiles"]
    if any(not 0 < q < 1 for q in qs):
        raise InputError(f"{where}: key 'report.quantiles' must be numbers in (0, 1), got {qs}")
    values.update(
        start_year=start_year,
        end_year=end_year,
        thresholds=() if values["thresholds"] == "none" else tuple(values["thresholds"]),
        report_years=years,
        quantiles=tuple(sorted(set(qs) | {0.5})),
    )
    scen = Scenario(
        **values,
        start_rule=rule,
        data=DataSpec(**data),
        ceilings=CeilingSpec(**ceilings),
        reversion=components(where, raw.get("reversion")),
        anchors=anchors(where, raw.get("anchors")),
        windows=windows(where, raw.get("windows")),
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
    fixed = ("name", "description", "extends")
    return [p.dotted for t in TABLES for p in PARAMS[t] if p.dotted not in fixed]


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
    tables = {k: v for k, v in changes.items() if k.split(".")[0] in _SETTABLE_ROWS}
    for key, value in tables.items():
        recorded.append((key, str(value)))
    _set_in_tables(scen, raw, tables)
    _drop_other_long_run_rule(
        raw,
        {"growth": {k.partition(".")[2]: v for k, v in changes.items() if k.startswith("growth.")}},
    )
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
        if isinstance(value, str) and key in _DATE_KEYS and value not in _DATE_KEYS[key]:
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
