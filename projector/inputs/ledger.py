"""The forecast ledger: published forecasts of frontier training compute, read and checked.

Dependency direction: ``errors`` and ``dates`` -> ``ledger`` -> ``studies.ledger`` and the
CLI. No scoring and no writing here: :func:`load_ledger` reads and validates, and
:func:`appended` builds the bytes of a ledger with rows added (``studies.ledger`` checks
and writes them).

The bundled ledger is ``projector/inputs/data/forecasts.csv``; its columns and the
meaning of each are in ``FORECASTS.md`` beside it. Values of ``largest_run`` forecasts
and thresholds are log10 FLOP; ``count_above`` values are numbers of systems.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from projector.errors import InputError

__all__ = [
    "BUNDLED_LEDGER",
    "COLUMNS",
    "KINDS",
    "QUANTITIES",
    "VERIFICATION",
    "Forecast",
    "Ledger",
    "appended",
    "format_row",
    "load_ledger",
    "parse_ledger",
]

BUNDLED_LEDGER = "bundled"
_FILE = "forecasts.csv"
#: Columns of a ledger file, in order (``FORECASTS.md``).
COLUMNS = (
    "id",
    "forecaster",
    "title",
    "made",
    "target_quantity",
    "target_date",
    "kind",
    "point",
    "low",
    "high",
    "level",
    "quantiles",
    "probability",
    "threshold",
    "exclude",
    "resolution",
    "source",
    "verification",
    "scenario_sha256",
    "data_sha256",
    "notes",
)
#: What a forecast is about. ``largest_run``: log10 FLOP of the largest training run
#: published by the target date; ``count_above``: systems at or above ``threshold`` by
#: then; ``event``: the largest run (outside ``exclude``) at or above ``threshold`` by
#: then; ``other``: a quantity the systems data cannot resolve (cluster size, power,
#: cost), kept for the record and never scored.
QUANTITIES = ("largest_run", "count_above", "event", "other")
KINDS = ("point", "interval", "quantiles", "probability", "text")
VERIFICATION = ("verified", "secondary", "recorded")


@dataclasses.dataclass(frozen=True)
class Forecast:
    """One ledger row, parsed. Numbers are NaN where the row leaves them empty."""

    id: str
    forecaster: str
    title: str
    made: dt.date
    target_quantity: str
    target_date: dt.date
    kind: str
    point: float
    low: float
    high: float
    level: float
    quantiles: tuple[tuple[float, float], ...]  # (level, value), levels increasing
    probability: float
    threshold: float
    exclude: tuple[str, ...]
    resolution: str
    source: str
    verification: str
    scenario_sha256: str
    data_sha256: str
    notes: str
    line: int

    @property
    def scored(self) -> bool:
        """Whether the systems data can resolve it (every quantity but ``other``)."""
        return self.target_quantity != "other" and self.kind != "text"

    def summary(self) -> str:
        """The forecast in a few characters, for tables."""
        unit = "" if self.target_quantity == "count_above" else "10^"
        if self.kind == "point":
            return f"{unit}{self.point:g}"
        if self.kind == "interval":
            mid = "" if math.isnan(self.point) else f"{unit}{self.point:g} "
            return f"{mid}[{self.low:g}, {self.high:g}] ({self.level:.0%})"
        if self.kind == "quantiles":
            return ", ".join(f"q{lv * 100:g}={v:g}" for lv, v in self.quantiles)
        if self.kind == "probability":
            return f"P = {self.probability:g}"
        return "see notes"


@dataclasses.dataclass(frozen=True)
class Ledger:
    """A ledger file's forecasts, in file order."""

    forecasts: tuple[Forecast, ...]
    label: str
    sha256: str


def _bundled_bytes() -> bytes:
    ref = importlib.resources.files("projector.inputs") / "data" / _FILE
    try:
        return ref.read_bytes()
    except OSError:
        raise InputError(
            f"bundled ledger projector/inputs/data/{_FILE} is missing from this installation; "
            "reinstall projector or pass --ledger FILE"
        ) from None


def _read(path: str | Path | None) -> tuple[str, bytes]:
    if path is None or str(path) == BUNDLED_LEDGER:
        return _FILE, _bundled_bytes()
    p = Path(path)
    try:
        return str(p), p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such ledger file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a folder; give a ledger CSV file") from None


def load_ledger(path: str | Path | None = None, /) -> Ledger:
    """Read and check a ledger (default: the bundled one).

    Raises
    ------
    InputError
        One line naming the file, the row (its line and id) and the column: a missing
        column, an empty source, an unknown quantity, kind or verification, a malformed
        date or number, a target date before the forecast date, an interval with
        low > high, quantiles out of order, a probability outside [0, 1], a repeated id.
    """
    label, raw = _read(path)
    return parse_ledger(label, raw)


def parse_ledger(label: str, raw: bytes, /) -> Ledger:
    """A ledger from a file's bytes; ``label`` names it in messages (:func:`load_ledger`)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: ledger is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = tuple(reader.fieldnames or ())
    except csv.Error as exc:
        raise InputError(f"{label}: line 1: malformed CSV header ({exc})") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{label}: missing column(s) {', '.join(missing)}; a ledger has {','.join(COLUMNS)}"
        )
    from projector.inputs.systems import checked_rows

    forecasts: list[Forecast] = []
    seen: dict[str, int] = {}
    for line, row in checked_rows(label, reader):
        f = _parse(label, line, row)
        if f.id in seen:
            raise InputError(
                f"{label}: line {line}: id {f.id!r} repeats line {seen[f.id]}; ids must be unique"
            )
        seen[f.id] = line
        forecasts.append(f)
    if not forecasts:
        raise InputError(f"{label}: the ledger has no forecasts")
    return Ledger(tuple(forecasts), label, hashlib.sha256(raw).hexdigest())


def _parse(label: str, line: int, row: Mapping[str, str]) -> Forecast:
    cell = {k: (row.get(k) or "").strip() for k in COLUMNS}
    fid = cell["id"] or "?"
    where = f"{label}: line {line} (id {fid})"

    def need(column: str) -> str:
        if not cell[column]:
            raise InputError(f"{where}: column '{column}' is empty; it is required")
        return cell[column]

    def choice(column: str, valid: Sequence[str]) -> str:
        value = need(column)
        if value not in valid:
            raise InputError(
                f"{where}: column '{column}' must be one of {', '.join(valid)}, got {value!r}"
            )
        return value

    def date(column: str) -> dt.date:
        value = need(column)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"{where}: column '{column}' must be a date YYYY-MM-DD, got {value!r}"
            ) from None

    def number(column: str, text: str | None = None) -> float:
        value = cell[column] if text is None else text
        if not value:
            return math.nan
        try:
            x = float(value)
        except ValueError:
            x = math.nan
        if not math.isfinite(x):
            raise InputError(f"{where}: column '{column}' must be a number, got {value!r}")
        return x

    need("id")
    need("forecaster")
    need("source")
    quantity = choice("target_quantity", QUANTITIES)
    kind = choice("kind", KINDS)
    verification = choice("verification", VERIFICATION)
    made, target = date("made"), date("target_date")
    if target < made:
        raise InputError(
            f"{where}: column 'target_date' {target} is before the forecast date 'made' {made}"
        )
    point, low, high = number("point"), number("low"), number("high")
    level, probability, threshold = number("level"), number("probability"), number("threshold")
    quantiles = _quantiles(where, cell["quantiles"], number)
    scored = quantity != "other" and kind != "text"
    if kind == "point" and math.isnan(point):
        raise InputError(f"{where}: column 'point' is empty; a point forecast needs it")
    if kind == "interval":
        for c, v in (("low", low), ("high", high), ("level", level)):
            if math.isnan(v):
                raise InputError(
                    f"{where}: column '{c}' is empty; an interval needs low, high, level"
                )
        if low > high:
            raise InputError(f"{where}: columns 'low' > 'high' ({low:g} > {high:g})")
        if not 0 < level < 1:
            raise InputError(f"{where}: column 'level' must be in (0, 1), got {level:g}")
        if not math.isnan(point) and not low <= point <= high:
            raise InputError(f"{where}: column 'point' {point:g} is outside [low, high]")
    if kind == "quantiles" and len(quantiles) < 2:
        raise InputError(f"{where}: column 'quantiles' needs at least two LEVEL:VALUE pairs")
    if kind == "probability":
        if not 0 <= probability <= 1:
            raise InputError(
                f"{where}: column 'probability' must be in [0, 1], got {cell['probability']!r}"
            )
    elif not math.isnan(probability) and not 0 <= probability <= 1:
        raise InputError(f"{where}: column 'probability' must be in [0, 1]")
    if quantity in ("count_above", "event") and scored and math.isnan(threshold):
        raise InputError(f"{where}: column 'threshold' is empty; a {quantity} forecast needs it")
    if quantity == "event" and scored and kind != "probability":
        raise InputError(f"{where}: an event forecast has kind 'probability', got {kind!r}")
    if quantity != "event" and kind == "probability":
        raise InputError(f"{where}: kind 'probability' is for target_quantity 'event'")
    return Forecast(
        id=cell["id"],
        forecaster=cell["forecaster"],
        title=cell["title"],
        made=made,
        target_quantity=quantity,
        target_date=target,
        kind=kind,
        point=point,
        low=low,
        high=high,
        level=level,
        quantiles=quantiles,
        probability=probability,
        threshold=threshold,
        exclude=tuple(s.strip() for s in cell["exclude"].split(";") if s.strip()),
        resolution=cell["resolution"],
        source=cell["source"],
        verification=verification,
        scenario_sha256=cell["scenario_sha256"],
        data_sha256=cell["data_sha256"],
        notes=cell["notes"],
        line=line,
    )


def _quantiles(where: str, text: str, number: object) -> tuple[tuple[float, float], ...]:
    """``0.05:2;0.5:6;0.95:10`` as ((0.05, 2), (0.5, 6), (0.95, 10)), checked."""
    if not text:
        return ()
    out: list[tuple[float, float]] = []
    for part in (p.strip() for p in text.split(";") if p.strip()):
        pieces = part.split(":")
        if len(pieces) != 2:
            raise InputError(
                f"{where}: column 'quantiles' must be LEVEL:VALUE pairs separated by ';' "
                f"(e.g. 0.05:2;0.5:6;0.95:10), got {part!r}"
            )
        level = number("quantiles", pieces[0].strip())  # type: ignore[operator]
        value = number("quantiles", pieces[1].strip())  # type: ignore[operator]
        if not 0 < level < 1:
            raise InputError(f"{where}: column 'quantiles': level {level:g} is not in (0, 1)")
        out.append((level, value))
    levels = [lv for lv, _ in out]
    values = [v for _, v in out]
    if levels != sorted(set(levels)) or values != sorted(values):
        raise InputError(
            f"{where}: column 'quantiles' must have increasing levels and non-decreasing values"
        )
    return tuple(out)


def format_row(values: Mapping[str, object], /) -> dict[str, str]:
    """A row for :func:`append_rows`: every column, as text (numbers with repr precision)."""
    out = {}
    for c in COLUMNS:
        v = values.get(c, "")
        out[c] = f"{v:.6g}" if isinstance(v, float) else str(v)
    return out


def appended(ledger_bytes: bytes, rows: Sequence[Mapping[str, object]], /) -> bytes:
    """The bytes of a ledger file with ``rows`` appended (a header first when empty).

    The result is not checked here: parse it with :func:`parse_ledger` before writing.
    """
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    text = ledger_bytes.decode("utf-8-sig") if ledger_bytes else ""
    if not text:
        writer.writeheader()
    elif not text.endswith("\n"):
        text += "\n"
    for row in rows:
        writer.writerow(format_row(row))
    return (text + buf.getvalue()).encode("utf-8")
