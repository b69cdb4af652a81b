"""How a scenario key is declared, and how a value is checked against its declaration.

Dependency direction: imports ``errors`` only; ``params`` (the declaration itself),
``reversion`` and ``rows`` use it. A key is a dataclass field made by :func:`key`: its
metadata holds a :class:`Param` (type, allowed range or choices, units, default, help,
typical range, the result attribute that records it), which :func:`declared` reads back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from projector.errors import InputError

__all__ = [
    "REQUIRED",
    "Param",
    "check_number",
    "check_value",
    "declared",
    "describe",
    "key",
    "row_keys",
    "section",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a key that has none: the file must set it.
REQUIRED: Any = _Required()
_META = "projector.param"


@dataclasses.dataclass(frozen=True)
class Param:
    """Declaration of one key: where it lives, its type, allowed values, units and help.

    ``kind`` is one of ``int``, ``float``, ``str``, ``bool``, ``date``, ``floats`` (a
    non-empty list of numbers) or ``choice``; ``special`` are strings accepted besides it.
    ``typical`` is the range most scenarios use (for the docs and property tests).
    """

    table: str  # "" (top level), "data", "start", "growth", "report", or a row's table
    key: str  # the name inside the table, as messages say it
    kind: str
    units: str
    help: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    special: tuple[str, ...] = ()
    typical: tuple[float, float] | None = None
    attr: str = ""  # the attribute of the dataclass that holds the value
    nonempty: bool = False  # a string that must not be empty
    result: str = ""  # the result's provenance attribute that records it ("" = none)
    summarized: bool = False  # the summaries read that attribute (a result must have it)

    @property
    def dotted(self) -> str:
        """``table.key``, or ``key`` at the top level."""
        return f"{self.table}.{self.key}" if self.table else self.key


def key(
    kind: str,
    units: str,
    help: str,
    *,
    toml: str = "",
    default: Any = REQUIRED,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] = (),
    special: tuple[str, ...] = (),
    typical: tuple[float, float] | None = None,
    nonempty: bool = False,
    result: str = "",
    summarized: bool = False,
    row: bool = True,
    init_default: Any = REQUIRED,
) -> Any:
    """A dataclass field that declares a key (``toml``: its dotted name when it is not
    the field's name). ``init_default`` is the constructor's default, if it has one;
    ``row=False`` marks a field that is not itself a key of the row."""
    param = Param(
        toml.rpartition(".")[0],
        toml.rpartition(".")[2],
        kind,
        units,
        help,
        default,
        low,
        high,
        choices,
        special,
        typical,
        nonempty=nonempty,
        result=result,
        summarized=summarized,
    )
    meta = {_META: param if row else None}
    if init_default is REQUIRED:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=init_default, metadata=meta)


def declared(cls: type, table: str | None = None) -> tuple[Param, ...]:
    """The keys declared by ``cls``'s fields, in field order, with ``attr`` filled in.

    ``table`` names the table of fields that do not state one (``DataSpec`` -> "data")."""
    out = []
    for f in dataclasses.fields(cls):
        p = f.metadata.get(_META)
        if p is None:
            continue
        name = p.key or f.name
        out.append(dataclasses.replace(p, key=name, table=p.table or (table or ""), attr=f.name))
    return tuple(out)


def row_keys(cls: type) -> tuple[Param, ...]:
    """The keys a row of an array of tables accepts (its declared fields)."""
    return declared(cls)


# --- validation against a declaration -------------------------------------------------


def check_value(where: str, p: Param, value: Any) -> Any:
    """Validate one value against its declaration; return the typed value."""
    if isinstance(value, str) and value in p.special:
        return value
    expect = describe(p)
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
            return _check_date(where, p, value)
        if isinstance(value, str):
            try:
                parsed = dt.date.fromisoformat(value)
            except ValueError:
                raise bad from None
            return _check_date(where, p, parsed)
        raise bad
    if p.kind == "floats":
        if not isinstance(value, list) or not value:
            raise bad
        return [check_number(where, p, v, float) for v in value]
    return check_number(where, p, value, int if p.kind == "int" else float)


#: The dates a scenario may name: the data's era (the oldest system is from 1950) to the
#: latest start year (2200). A date outside has no meaning for a run (no data before it,
#: or a decimal year past the calendar's end once a year is added to it).
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2200, 12, 31))


def _check_date(where: str, p: Param, value: dt.date) -> dt.date:
    low, high = DATE_RANGE
    if not low <= value <= high:
        raise InputError(f"{where}: key '{p.key}' must be a date from {low} to {high}, got {value}")
    return value


def check_number(where: str, p: Param, value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (int or float) if it is a finite number in ``p``'s range."""
    bad = InputError(f"{where}: key '{p.key}' must be {describe(p)}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    if kind is int and not isinstance(value, int):
        raise bad
    if not math.isfinite(value):
        raise bad
    if (p.low is not None and value < p.low) or (p.high is not None and value > p.high):
        raise bad
    return kind(value)


def describe(p: Param) -> str:
    """What ``p`` expects, as the messages and the README table say it."""
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


def section(
    where: str,
    table: Any,
    params: tuple[Param, ...],
    label: str,
    allowed_extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A scalar table validated against its keys: ``{key: typed value}``, defaults filled.

    Unknown keys are errors that list the valid ones."""
    if not isinstance(table, dict):
        raise InputError(f"{where}: [{label}] must be a table")
    valid = {p.key for p in params}
    prefix = f"{label}." if label else ""
    for k in table:
        if k not in valid and k not in allowed_extra:
            names = ", ".join(sorted(valid | set(allowed_extra)))
            raise InputError(f"{where}: unknown key '{prefix}{k}' (valid: {names})")
    out: dict[str, Any] = {}
    for p in params:
        if p.key in table:
            out[p.key] = check_value(where, p, table[p.key])
        elif p.default is REQUIRED:
            raise InputError(f"{where}: missing key '{prefix}{p.key}' ({describe(p)})")
        else:
            out[p.key] = check_value(where, p, p.default)
    return out
