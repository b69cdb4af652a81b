"""Physical and economic constraints on one training run, from a cited table.

Dependency direction: imports ``errors`` only; ``model.ceilings`` turns what it returns
into FLOP ceilings (issue 20). The bundled table is
``projector/inputs/data/constraints.csv``; its schema and curation rules are in
``CONSTRAINTS.md`` beside it.

Each constraint has *level* rows (a low, central and high value at a year, with the
source and its quoted statement) and at most one *growth* row (a per-year factor, low,
central and high) that carries it past its last sourced year. :meth:`Constraints.at`
gives the (low, central, high) at any year: interpolated linearly in log between
sourced years, extrapolated with the growth row outside them, and held at the nearest
sourced value when there is no growth row.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import importlib.resources
import io
import math
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.systems import checked_rows

__all__ = [
    "COLUMNS",
    "CONSTRAINTS",
    "KINDS",
    "SOURCE_TYPES",
    "ConstraintRow",
    "ConstraintSpec",
    "Constraints",
    "load_constraints",
]

_BUNDLED_FILE = "constraints.csv"
#: Columns of a constraints table, in order (schema in ``CONSTRAINTS.md``).
COLUMNS = (
    "constraint",
    "kind",
    "year",
    "low",
    "central",
    "high",
    "unit",
    "percentiles",
    "range_basis",
    "source_url",
    "quote",
    "source_type",
    "vintage",
    "notes",
)
KINDS = ("level", "growth")
SOURCE_TYPES = ("primary", "secondary", "derived")
#: The unit of every growth row: a multiplicative factor per year.
GROWTH_UNIT = "x/year"
_YEARS = (1950, 2100)
_VINTAGE = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?|undated)$")


@dataclasses.dataclass(frozen=True)
class ConstraintSpec:
    """What a constraint measures: its unit and whether it is a fraction in (0, 1]."""

    unit: str
    meaning: str
    fraction: bool = False


#: The constraints a table may name, each declared once (unit, meaning).
CONSTRAINTS: dict[str, ConstraintSpec] = {
    "power_run": ConstraintSpec("W", "all-in facility power available to one run"),
    "chip_stock": ConstraintSpec("H100e", "stock of AI chips in H100-equivalents"),
    "chip_share_run": ConstraintSpec("fraction", "share of the chip stock one run uses", True),
    "budget_run": ConstraintSpec("USD", "spend on one training run (amortized)"),
    "price_performance": ConstraintSpec(
        "FLOP/USD", "training FLOP per dollar, utilization included"
    ),
    "duration_run": ConstraintSpec("day", "maximum wall-clock duration of one run"),
    "peak_flop_per_s": ConstraintSpec("FLOP/s", "dense FP8 peak of the leading training chip"),
    "energy_efficiency": ConstraintSpec("FLOP/s/W", "peak FLOP/s per W of all-in power"),
    "mfu": ConstraintSpec("fraction", "model FLOP utilization of a large run", True),
    "data_stock": ConstraintSpec("token", "stock of training tokens"),
}


@dataclasses.dataclass(frozen=True)
class ConstraintRow:
    """One row of the table: a level at a year, or a per-year growth factor.

    ``low <= central <= high``, all > 0; for a level row they are in the constraint's
    unit, for a growth row factors per year. ``line`` is the row's line in the file.
    """

    constraint: str
    kind: str
    year: int
    low: float
    central: float
    high: float
    unit: str
    percentiles: str
    range_basis: str
    source_url: str
    quote: str
    source_type: str
    vintage: str
    notes: str
    line: int

    @property
    def values(self) -> tuple[float, float, float]:
        return (self.low, self.central, self.high)


Triple = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


@dataclasses.dataclass(frozen=True)
class Constraints:
    """A validated constraints table; ``label`` names the file, ``sha256`` its bytes."""

    rows: tuple[ConstraintRow, ...]
    label: str
    sha256: str

    def names(self) -> tuple[str, ...]:
        """Constraints with at least one level row, in declaration order."""
        present = {r.constraint for r in self.rows if r.kind == "level"}
        return tuple(n for n in CONSTRAINTS if n in present)

    def levels(self, name: str, /) -> tuple[ConstraintRow, ...]:
        """The level rows of ``name``, by year."""
        rows = [r for r in self.rows if r.constraint == name and r.kind == "level"]
        if not rows:
            have = ", ".join(self.names())
            raise InputError(f"{self.label}: no level rows for constraint {name!r}; has: {have}")
        return tuple(sorted(rows, key=lambda r: r.year))

    def growth(self, name: str, /) -> ConstraintRow | None:
        """The growth row of ``name``, or None (the constraint is held outside its years)."""
        return next((r for r in self.rows if r.constraint == name and r.kind == "growth"), None)

    def at(self, name: str, year: npt.ArrayLike, /) -> Triple:
        """``(low, central, high)`` of ``name`` at ``year`` (any shape) [its unit].

        Between sourced years: linear in log10 of each of low, central and high, so the
        value hits the sourced figures exactly at sourced years and is monotone between
        them. After the last sourced year: that year's values times the growth row's
        low, central and high factor per year respectively (so the range widens and
        stays ordered); before the first, divided by the high, central and low factor.
        Without a growth row the nearest sourced values are held.
        """
        levels = self.levels(name)
        years = np.array([r.year for r in levels], dtype=np.float64)
        y = np.asarray(year, dtype=np.float64)
        grow = self.growth(name)
        out = []
        # exp(log(x)) is off by an ulp; a sourced year returns the sourced figure itself
        exact = np.isin(y, years)
        for k in range(3):
            sourced = np.array([r.values[k] for r in levels])
            inside = np.interp(y, years, np.log(sourced))
            if grow is not None:
                after = np.log(grow.values[k]) * np.maximum(y - years[-1], 0.0)
                # Going back in time the low end shrinks fastest: divide by the high factor.
                before = np.log(grow.values[2 - k]) * np.maximum(years[0] - y, 0.0)
                inside = inside + after - before
            out.append(np.where(exact, np.interp(y, years, sourced), np.exp(inside)))
        return out[0], out[1], out[2]


def _bundled() -> tuple[bytes, str]:
    ref = importlib.resources.files("projector.inputs") / "data" / _BUNDLED_FILE
    try:
        return ref.read_bytes(), _BUNDLED_FILE
    except OSError:
        raise InputError(
            f"bundled table projector/inputs/data/{_BUNDLED_FILE} is missing from this "
            "installation; reinstall projector"
        ) from None


def load_constraints(path: str | Path | None = None) -> Constraints:
    """Load and validate a constraints table (default: the bundled one).

    Raises
    ------
    InputError
        Naming the file, the line and the column: a wrong header, a row cut off, an
        unknown constraint (listing the valid ones), kind, unit or source type, a bad
        year or vintage, a value that is not a number > 0 (a fraction above 1),
        ``low > central`` or ``central > high``, a missing source URL or quote, or a
        repeated (constraint, kind, year).
    """
    if path is None:
        raw, label = _bundled()
    else:
        label = str(path)
        from projector.inputs.files import read_input_file

        raw = read_input_file(path, what="a constraints table CSV", limit=64 << 20)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: constraints table is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = tuple(reader.fieldnames or ())
    except csv.Error as exc:
        raise InputError(f"{label}: line 1: malformed CSV header ({exc})") from None
    if header != COLUMNS:
        raise InputError(f"{label}: line 1: header must be {','.join(COLUMNS)}")
    rows = [_row(label, line, raw_row) for line, raw_row in checked_rows(label, reader)]
    _check_table(label, rows)
    return Constraints(tuple(rows), label, hashlib.sha256(raw).hexdigest())


def _row(label: str, line: int, row: dict[str, str]) -> ConstraintRow:
    def at(column: str) -> str:
        return f"{label}: line {line}: column '{column}'"

    cell = {k: (v or "").strip() for k, v in row.items()}
    name = cell["constraint"]
    if name not in CONSTRAINTS:
        raise InputError(
            f"{at('constraint')}: unknown constraint {name!r}; valid: {', '.join(CONSTRAINTS)}"
        )
    kind = cell["kind"]
    if kind not in KINDS:
        raise InputError(f"{at('kind')}: must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        year = int(cell["year"])
    except ValueError:
        year = 0
    if not _YEARS[0] <= year <= _YEARS[1]:
        raise InputError(
            f"{at('year')}: must be a whole year {_YEARS[0]}-{_YEARS[1]}, got {cell['year']!r}"
        )
    spec = CONSTRAINTS[name]
    values = []
    for column in ("low", "central", "high"):
        try:
            value = float(cell[column])
        except ValueError:
            raise InputError(f"{at(column)}: must be a number, got {cell[column]!r}") from None
        if not (math.isfinite(value) and value > 0):
            # log interpolation and every ceiling need a positive quantity
            raise InputError(f"{at(column)}: must be a finite number > 0, got {cell[column]!r}")
        if kind == "level" and spec.fraction and value > 1:
            raise InputError(f"{at(column)}: {name} is a fraction and must be <= 1, got {value}")
        values.append(value)
    low, central, high = values
    if low > central:
        raise InputError(f"{at('low')}: low ({low:g}) is above central ({central:g})")
    if central > high:
        raise InputError(f"{at('high')}: high ({high:g}) is below central ({central:g})")
    unit = cell["unit"]
    expected = GROWTH_UNIT if kind == "growth" else spec.unit
    if unit != expected:
        raise InputError(f"{at('unit')}: {name} {kind} rows are in {expected!r}, got {unit!r}")
    if not re.match(r"^https?://\S+$", cell["source_url"]):
        raise InputError(f"{at('source_url')}: every row needs its source's http(s) URL")
    if not cell["quote"]:
        raise InputError(f"{at('quote')}: every row needs the source's statement, quoted")
    if cell["source_type"] not in SOURCE_TYPES:
        raise InputError(
            f"{at('source_type')}: must be one of {', '.join(SOURCE_TYPES)}, "
            f"got {cell['source_type']!r}"
        )
    if not _VINTAGE.match(cell["vintage"]):
        raise InputError(
            f"{at('vintage')}: must be YYYY, YYYY-MM, YYYY-MM-DD or 'undated', "
            f"got {cell['vintage']!r}"
        )
    return ConstraintRow(
        constraint=name,
        kind=kind,
        year=year,
        low=low,
        central=central,
        high=high,
        unit=unit,
        percentiles=cell["percentiles"],
        range_basis=cell["range_basis"],
        source_url=cell["source_url"],
        quote=cell["quote"],
        source_type=cell["source_type"],
        vintage=cell["vintage"],
        notes=cell["notes"],
        line=line,
    )


def _check_table(label: str, rows: list[ConstraintRow]) -> None:
    """What no single row can say: unique keys, one growth row, a level for each growth."""
    seen: dict[tuple[str, str, int], int] = {}
    growth: dict[str, int] = {}
    for r in rows:
        key = (r.constraint, r.kind, r.year)
        if key in seen:
            raise InputError(
                f"{label}: line {r.line}: column 'year': {r.constraint} {r.kind} {r.year} "
                f"repeats line {seen[key]}"
            )
        seen[key] = r.line
        if r.kind == "growth":
            if r.constraint in growth:
                raise InputError(
                    f"{label}: line {r.line}: column 'kind': {r.constraint} has a growth row "
                    f"already (line {growth[r.constraint]}); give one"
                )
            growth[r.constraint] = r.line
    levels = {r.constraint for r in rows if r.kind == "level"}
    for name, line in growth.items():
        if name not in levels:
            raise InputError(
                f"{label}: line {line}: column 'constraint': {name} has a growth row but no "
                "level row to grow from"
            )
