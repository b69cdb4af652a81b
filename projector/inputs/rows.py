"""The ``[[anchors]]`` and ``[[windows]]`` rows, validated against their declarations.

Dependency direction: imports ``errors`` and ``params`` only; ``scenario`` uses it. The
keys, types, ranges and choices are the fields of :class:`~projector.inputs.params.Anchor`
and :class:`~projector.inputs.params.TrendWindow`; what is checked here beyond one value
(unique names, weights all-or-none and summing to 1, ``end`` after ``start``) is what
a single key cannot say.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from projector.errors import InputError
from projector.inputs.declare import Param, check_number, row_keys
from projector.inputs.params import Anchor, TrendWindow

__all__ = ["anchors", "windows"]


def _name(at: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{at}: key 'name' must be a non-empty string")
    return value


def anchors(where: str, raw: Any) -> tuple[Anchor, ...]:
    """Validate ``[[anchors]]``: at least one (issue 24: every summary, table and figure
    of a run reports crossings of its anchors; a run with none has nothing to say)."""
    if raw is None:
        raise InputError(
            f"{where}: no [[anchors]]; give at least one (name, log10_flop), or extend a "
            'scenario that has them (extends = "default")'
        )
    if not isinstance(raw, list):
        raise InputError(f"{where}: [[anchors]] must be an array of tables")
    if not raw:
        raise InputError(
            f"{where}: anchors = [] leaves no anchor to report crossings of; give at least "
            "one [[anchors]] table (name, log10_flop)"
        )
    decl: dict[str, Param] = {p.key: p for p in row_keys(Anchor)}
    valid = ", ".join(decl)
    out = []
    for i, item in enumerate(raw):
        at = f"{where}: anchors[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be a table")
        for k in item:
            if k not in decl:
                raise InputError(f"{at}: unknown key '{k}' (valid: {valid})")
        name = _name(at, item.get("name"))
        value = check_number(at, decl["log10_flop"], item.get("log10_flop"), float)
        note = item.get("note", decl["note"].default)
        if not isinstance(note, str):
            raise InputError(f"{at}: key 'note' must be a string")
        weight = item.get("weight", decl["weight"].default)
        if weight is not None:
            weight = check_number(at, decl["weight"], weight, float)
        out.append(Anchor(name=name, log10_flop=value, weight=weight, note=note))
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


def _date(at: str, name: str, value: Any) -> dt.date:
    # a TOML date, not a string: windows are written by hand and a quoted date is a slip
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InputError(f"{at}: key '{name}' must be a date (YYYY-MM-DD, unquoted)")
    return value


def windows(where: str, raw: Any) -> tuple[TrendWindow, ...]:
    """``[[windows]]``: name, start (date), optional end (date) and scale."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{where}: 'windows' must be an array of tables ([[windows]])")
    decl = {p.key: p for p in row_keys(TrendWindow)}
    out = []
    for k, item in enumerate(raw):
        at = f"{where}: windows[{k}]"
        if not isinstance(item, dict):
            raise InputError(f"{at}: must be a table")
        unknown = set(item) - set(decl)
        if unknown:
            raise InputError(
                f"{at}: unknown key(s) {', '.join(sorted(unknown))}; valid: {', '.join(decl)}"
            )
        name = _name(at, item.get("name"))
        start = _date(at, "start", item.get("start"))
        end = item.get("end", decl["end"].default)
        if end is not None:
            end = _date(at, "end", end)
            if end <= start:
                raise InputError(f"{at}: key 'end' must be after start")
        scale = item.get("scale", decl["scale"].default)
        if scale not in decl["scale"].choices:
            raise InputError(f"{at}: key 'scale' must be one of {', '.join(decl['scale'].choices)}")
        out.append(TrendWindow(name=name, start=start, end=end, scale=scale))
    return tuple(out)
