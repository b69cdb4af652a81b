"""Milestone ML systems: load, normalise, cut off and split into eras.

Dependency direction: ``data`` imports ``errors`` only; ``trends``, ``engine`` and the
CLI import it.

Three input formats give the same :class:`Systems` table (method.md section 1):

- the bundled dataset (``projector/inputs/data/systems.csv``, schema in ``SCHEMA.md`` there);
- Epoch's 2022 Google-Sheet export (``Publication date`` as DD/MM/YYYY,
  ``Training compute (FLOPs)``);
- Epoch's later Airtable export (ISO dates, ``Training compute (FLOP)``,
  ``Notability criteria``; ``System`` renamed ``Model`` in 2025);
- Epoch's 2026 "AI models" exports, ``all_ai_models.csv``, ``notable_ai_models.csv``,
  ``large_scale_ai_models.csv`` and ``frontier_ai_models.csv`` (:data:`EPOCH_2026_MARKERS`):
  the same key columns in another order, a ``Frontier model`` flag, ``Open model
  weights?``, ``Training dataset size (total)``, comma-separated domain lists with new
  labels (``Audio``, ``Earth science``, ``Medicine``), no ``Notability criteria`` column
  in the large-scale view, and ``Training compute lower bound`` / ``upper bound``.

All Epoch formats share the churn of daily exports, handled here once: names with
trailing whitespace or newlines (whitespace runs become one space), compute cells that
are empty or ``NaN`` (no figure), the ``Unknown`` confidence label, and a stated
interval (lower and upper bound) that takes precedence over the label.

Rows without a training compute are not systems the method can use and are skipped by
:func:`load_dataset` (:func:`read_rows` keeps them, for curators); a row whose compute
or date is present but unreadable is an error naming the row.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import io
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from projector.dates import decimal_year  # the one calendar; re-exported for readers of systems
from projector.errors import InputError
from projector.inputs.epoch_formats import (
    EPOCH_2026_MARKERS,
    clean_text,
    detect,
    interval_factor,
    is_frontier,
    is_notable,
    parse_date,
    read_number,
)

__all__ = [
    "BUNDLED",
    "BUNDLED_COLUMNS",
    "COMPUTE_BOUNDS",
    "COMPUTE_METHODS",
    "CONFIDENCE_FACTORS",
    "DOMAINS",
    "EPOCH_2026_MARKERS",
    "SourceRow",
    "SourceRows",
    "Systems",
    "bundled_records",
    "decimal_year",
    "load_dataset",
    "read_rows",
]

BUNDLED = "bundled"
_BUNDLED_FILE = "systems.csv"
#: Columns of the bundled dataset, in order (schema in ``projector/inputs/data/SCHEMA.md``).
BUNDLED_COLUMNS = (
    "system",
    "organization",
    "domain",
    "publication_date",
    "training_compute_flop",
    "parameters",
    "source",
    "compute_method",
    "uncertainty_factor",
    "compute_bound",
    "inputs",
    "notes",
)
COMPUTE_METHODS = ("reported", "ops", "gpu_time", "third_party")
#: ``compute_bound`` values: empty for a point estimate, ``lower`` for a lower bound.
COMPUTE_BOUNDS = ("", "lower")
#: Epoch AI's confidence labels as the multiplicative factor f of a 90% interval
#: [C/f, C*f] (Epoch's stated meanings: "Confident" within a factor of 3, "Likely"
#: within 10, "Speculative" within 30; "Unknown", no assessment, read as 30 like the
#: bundled rows; see ``projector/inputs/data/SCHEMA.md``).
CONFIDENCE_FACTORS = {"confident": 3.0, "likely": 10.0, "speculative": 30.0, "unknown": 30.0}
#: z of the 95% quantile of a normal: log10(f) / Z90 is the sd of log10 compute.
Z90 = 1.6449
DOMAINS = (
    "language",
    "vision",
    "games",
    "speech",
    "multimodal",
    "image-generation",
    "robotics",
    "biology",
    "recommendation",
    "other",
)


def _bundled_bytes() -> bytes:
    ref = importlib.resources.files("projector.inputs") / "data" / _BUNDLED_FILE
    try:
        return ref.read_bytes()
    except OSError:
        raise InputError(
            f"bundled dataset projector/inputs/data/{_BUNDLED_FILE} is missing from this "
            "installation; reinstall projector or pass --dataset PATH"
        ) from None


def bundled_records() -> list[dict[str, str]]:
    """The bundled dataset's rows as dictionaries of strings, checked against the schema.

    Checks the header, the domain, compute-method and compute-bound vocabularies,
    dates, the uncertainty factor, and that every row names a source; numbers are
    checked by :func:`load_dataset`.

    Raises
    ------
    InputError
        Naming ``systems.csv``, the line and the column.
    """
    text = _bundled_bytes().decode("utf-8-sig")
    reader = _reader(text)
    if tuple(reader.fieldnames or ()) != BUNDLED_COLUMNS:
        raise InputError(f"{_BUNDLED_FILE}: header must be {','.join(BUNDLED_COLUMNS)}")
    rows = []
    for lineno, row in checked_rows(_BUNDLED_FILE, reader):
        where = f"{_BUNDLED_FILE}: line {lineno}"
        if row["domain"] not in DOMAINS:
            raise InputError(f"{where}: domain must be one of {', '.join(DOMAINS)}")
        if row["compute_method"] not in COMPUTE_METHODS:
            raise InputError(f"{where}: compute_method must be one of {', '.join(COMPUTE_METHODS)}")
        if row["compute_bound"] not in COMPUTE_BOUNDS:
            raise InputError(f"{where}: compute_bound must be empty or 'lower'")
        _uncertainty_factor(where, row["uncertainty_factor"])
        try:
            dt.date.fromisoformat(row["publication_date"])
        except ValueError:
            raise InputError(f"{where}: publication_date must be YYYY-MM-DD") from None
        if not row["source"].strip():
            raise InputError(f"{where}: source is required")
        rows.append(row)
    return rows


def _uncertainty_factor(where: str, text: str) -> float:
    """An ``uncertainty_factor`` cell as a float (NaN when empty); must be >= 1."""
    if not text.strip():
        return math.nan
    try:
        factor = float(text)
    except ValueError:
        factor = math.nan
    if not (math.isfinite(factor) and factor >= 1):
        raise InputError(
            f"{where}: uncertainty_factor must be empty or a number >= 1, got {text!r}"
        )
    return factor


def _reader(text: str) -> csv.DictReader[str]:
    """A strict CSV reader over ``text``: an unterminated quote is an error, not data."""
    return csv.DictReader(io.StringIO(text, newline=""), strict=True)


def checked_rows(label: str, reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with the line each starts on; a malformed or cut-off row is an InputError.

    Catches what :mod:`csv` reports (an unterminated quote, a field over its size
    limit) and rows with fewer fields than the header (a file cut off mid-row).
    """
    n_columns = len(reader.fieldnames or ())
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{label}: line {line}: malformed CSV ({exc}); is the file cut off?"
            ) from None
        if None in row.values() or len(row) < n_columns:
            got = sum(v is not None for v in row.values())
            raise InputError(
                f"{label}: line {line}: {got} field(s) where the header has {n_columns} fields; "
                "is the row cut off?"
            )
        if None in row:  # more fields than the header
            raise InputError(f"{label}: line {line}: more fields than the header's {n_columns}")
        yield line, row
        line = reader.line_num + 1


@dataclasses.dataclass(frozen=True)
class Systems:
    """A normalised table of milestone systems, one row per system.

    Attributes are aligned 1-D arrays; ``year`` is the decimal publication year and
    ``log10_compute`` is log10 of training compute [FLOP]. ``log10_uncertainty_sd`` is
    the standard deviation of log10 compute [OOM] implied by the estimate's 90%
    interval ``[C/f, C*f]``, ``log10(f) / 1.6449`` (NaN where not assessed);
    ``censored`` marks figures that are lower bounds (the true compute is at least
    this). Both default to "not assessed" and "point estimate" when not given.
    """

    name: npt.NDArray[np.str_]
    organization: npt.NDArray[np.str_]
    domain: npt.NDArray[np.str_]
    date: npt.NDArray[np.datetime64]
    year: npt.NDArray[np.float64]
    log10_compute: npt.NDArray[np.float64]
    parameters: npt.NDArray[np.float64]  # NaN where unknown
    reference: npt.NDArray[np.str_]
    label: str  # "bundled" or the file path
    sha256: str  # hash of the file's bytes
    log10_uncertainty_sd: npt.NDArray[np.float64] = dataclasses.field(
        default_factory=lambda: np.empty(0)
    )
    censored: npt.NDArray[np.bool_] = dataclasses.field(
        default_factory=lambda: np.empty(0, dtype=bool)
    )

    def __post_init__(self) -> None:
        n = len(self.year)
        for name, fill in (("log10_uncertainty_sd", np.nan), ("censored", False)):
            value = getattr(self, name)
            if len(value) == 0 and n:
                object.__setattr__(self, name, np.full(n, fill, dtype=type(fill)))
            elif len(value) != n:
                raise ValueError(f"Systems.{name} has {len(value)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.year)

    def take(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Systems:
        """Rows selected by a boolean mask or index array."""
        fields = {
            f.name: getattr(self, f.name)[mask]
            for f in dataclasses.fields(self)
            if f.name not in ("label", "sha256")
        }
        return Systems(**fields, label=self.label, sha256=self.sha256)

    def uncensored(self) -> Systems:
        """Rows whose figure is a point estimate: lower bounds (``censored``) left out.

        Fits of a trend use these; a lower bound is still a system (listed, counted in
        coverage, a floor for the frontier), never a figure to regress on.
        """
        return self.take(~self.censored)

    def one_per_paper(self) -> Systems:
        """Keep the highest-compute row among rows sharing a reference (method.md 1)."""
        order = np.lexsort((-self.log10_compute, self.reference))
        keep = []
        last = None
        for i in order:
            ref = self.reference[i].strip().lower()
            if ref and ref == last:
                continue
            keep.append(i)
            last = ref
        return self.take(np.sort(np.asarray(keep, dtype=np.intp)))

    def until(self, cutoff: dt.date | None) -> Systems:
        """Drop systems published after ``cutoff`` (inclusive cut-off)."""
        if cutoff is None:
            return self
        return self.take(self.date <= np.datetime64(cutoff, "D"))

    def between(self, first: dt.date | None, end: dt.date | None) -> Systems:
        """Systems with ``first <= date < end`` (either bound may be None)."""
        mask = np.ones(len(self), dtype=bool)
        if first is not None:
            mask &= self.date >= np.datetime64(first, "D")
        if end is not None:
            mask &= self.date < np.datetime64(end, "D")
        return self.take(mask)


MAX_DATASET_BYTES = 256 << 20  #: the largest dataset CSV read [bytes] (Epoch's: about 5 MB)


class SourceRow(NamedTuple):
    """One row of a dataset file as read, before any row is dropped (see :func:`read_rows`).

    ``compute_flop`` is NaN where the row has no figure and ``date`` None where it has
    no date; ``domain`` is the file's own label (Epoch: a comma-separated list).
    """

    line: int
    name: str
    organization: str
    domain: str
    date: dt.date | None
    compute_flop: float  # [FLOP], NaN: no figure
    parameters: float  # NaN where unknown
    reference: str
    log10_uncertainty_sd: float  # [OOM], NaN where not assessed
    censored: bool
    notable: bool
    frontier: bool  # Epoch 2026: the ``Frontier model`` flag


class SourceRows(NamedTuple):
    """The rows of one dataset file with its label, format and hash."""

    label: str  # "bundled" or the file path
    kind: str  # a key of epoch_formats.FORMATS
    sha256: str
    rows: list[SourceRow]


def read_rows(
    source: str | Path = BUNDLED, *, notable_only: bool = False, today: dt.date | None = None
) -> SourceRows:
    """Every row of the bundled dataset or an Epoch CSV export, rows without a figure kept.

    The reader behind :func:`load_dataset`, for curators comparing files
    (``projector data diff``): names are cleaned (whitespace runs, newlines included,
    become one space), an empty or ``NaN`` compute is NaN, an empty date is None.

    Parameters
    ----------
    source
        ``"bundled"`` or the path of a CSV file in any of the formats.
    notable_only
        Drop rows that are not notable before reading them (see :func:`load_dataset`).
    today
        Publication dates after this are errors on rows with a figure (default: today).

    Raises
    ------
    InputError
        As :func:`load_dataset`, except that no row with a figure is not an error.
    """
    if str(source) == BUNDLED:
        raw = _bundled_bytes()
        label = BUNDLED
    else:
        from projector.inputs.files import read_input_file

        path = Path(source)
        raw = read_input_file(path, what="a dataset CSV", limit=MAX_DATASET_BYTES)
        label = str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: dataset is not UTF-8 text") from None
    reader = _reader(text)
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(f"{label}: line 1: malformed CSV header ({exc})") from None
    fmt = detect(label, [c.strip() for c in columns])
    if list(columns) != [c.strip() for c in columns]:  # " Model" in a hand-saved export
        reader.fieldnames = [c.strip() for c in columns]
    rows = _rows(
        label,
        checked_rows(label, reader),
        fmt,
        notable_only=notable_only,
        today=today or dt.date.today(),
    )
    return SourceRows(label, fmt[0], hashlib.sha256(raw).hexdigest(), rows)


def load_dataset(
    source: str | Path = BUNDLED, *, notable_only: bool = True, today: dt.date | None = None
) -> Systems:
    """Load the bundled dataset or an Epoch CSV export into a :class:`Systems` table.

    Parameters
    ----------
    source
        ``"bundled"`` or the path of a CSV file in any of the formats.
    notable_only
        For Airtable-era exports ("All ML Systems" views, ``all_ai_models.csv``), keep
        only rows with a notability criterion or, in the 2026 exports, the
        ``Frontier model`` flag (and drop rows marked ``Exclude``); for the 2022 "all"
        sheet, keep ``Inclusion criteria met = Yes``. Views without a notability
        column (``large_scale_ai_models.csv``) are kept whole.
    today
        Publication dates after this are errors (default: today's date).

    Raises
    ------
    InputError
        File missing or unreadable, no recognised columns, a row cut off or malformed,
        a date in the future, or an unreadable or non-finite value, naming the file,
        row and column.
    """
    read = read_rows(source, notable_only=notable_only, today=today)
    rows = [r for r in read.rows if math.isfinite(r.compute_flop)]
    if not rows:
        raise InputError(f"{read.label}: no rows with a training compute")
    return _table(rows, read.label, read.sha256)


def _log10_sd(where: str, kind: str, col: dict[str, str], row: dict[str, str]) -> float:
    """sd of log10 compute [OOM] from a factor (bundled), a stated interval or a label."""
    text = (row.get(col["uncertainty"]) or "").strip()
    if kind == "bundled":
        factor = _uncertainty_factor(where, text)
    else:
        factor = interval_factor(row) or CONFIDENCE_FACTORS.get(text.lower(), math.nan)
    return math.log10(factor) / Z90 if math.isfinite(factor) else math.nan


def _rows(
    label: str,
    reader: Iterable[tuple[int, dict[str, str]]],
    fmt: tuple[str, dict[str, str]],
    *,
    notable_only: bool,
    today: dt.date,
) -> list[SourceRow]:
    kind, col = fmt
    out = []
    for lineno, row in reader:
        notable = is_notable(kind, row)
        if notable_only and not notable:
            continue
        where = f"{label}: line {lineno}"
        raw_c = (row.get(col["compute"]) or "").strip()
        compute = read_number(raw_c, blank_words=kind != "bundled")
        if compute is None:
            comma = " (a decimal comma? write 1.5e24)" if "," in raw_c else ""
            raise InputError(
                f"{where}: column '{col['compute']}' must be a number of FLOP, got {raw_c!r}{comma}"
            )
        has_figure = not math.isnan(compute)
        if has_figure and not (math.isfinite(compute) and compute > 0):
            raise InputError(
                f"{where}: column '{col['compute']}' must be a finite number > 0, got {raw_c!r}"
            )
        raw_d = (row.get(col["date"]) or "").strip()
        date: dt.date | None = None
        try:
            date = parse_date(raw_d, kind) if raw_d or has_figure else None
        except ValueError:
            if has_figure:  # a row without a figure is never used; its date only shown
                expect = "DD/MM/YYYY" if kind == "sheet-2022" else "YYYY-MM-DD"
                raise InputError(
                    f"{where}: column '{col['date']}' must be a date {expect}, got {raw_d!r}"
                ) from None
        if has_figure and date is not None and date > today:
            raise InputError(
                f"{where}: column '{col['date']}' is {date}, after today ({today}); "
                "a publication date cannot be in the future"
            )
        raw_p = (row.get(col["params"]) or "").strip()
        params = read_number(raw_p)
        if params is None:
            if kind == "bundled":
                raise InputError(
                    f"{where}: column '{col['params']}' must be a number, got {raw_p!r}"
                )
            params = math.nan  # parameters are informative only in Epoch's free-text cells
        if math.isinf(params) or (kind == "bundled" and raw_p and not params > 0):
            raise InputError(
                f"{where}: column '{col['params']}' must be a finite number > 0, got {raw_p!r}"
            )
        censored = kind == "bundled" and (row.get("compute_bound") or "").strip() == "lower"
        out.append(
            SourceRow(
                line=lineno,
                name=clean_text(row.get(col["name"])),
                organization=clean_text(row.get(col["org"])),
                domain=clean_text(row.get(col["domain"])),
                date=date,
                compute_flop=compute,
                parameters=params,
                reference=clean_text(row.get(col["ref"])),
                log10_uncertainty_sd=_log10_sd(where, kind, col, row),
                censored=censored,
                notable=notable,
                frontier=is_frontier(row),
            )
        )
    return out


def _table(rows: list[SourceRow], label: str, sha: str) -> Systems:
    # every row with a figure has a date (_rows): the filter only tells the type checker
    dated = sorted(
        ((r.date, r) for r in rows if r.date is not None), key=lambda d: (d[0], d[1].name)
    )
    rows = [r for _, r in dated]
    return Systems(
        name=np.array([r.name for r in rows], dtype=str),
        organization=np.array([r.organization for r in rows], dtype=str),
        domain=np.array([r.domain for r in rows], dtype=str),
        date=np.array([d for d, _ in dated], dtype="datetime64[D]"),
        year=np.array([decimal_year(d) for d, _ in dated], dtype=np.float64),
        log10_compute=np.array([math.log10(r.compute_flop) for r in rows], dtype=np.float64),
        parameters=np.array([r.parameters for r in rows], dtype=np.float64),
        reference=np.array([r.reference for r in rows], dtype=str),
        label=label,
        sha256=sha,
        log10_uncertainty_sd=np.array([r.log10_uncertainty_sd for r in rows], dtype=np.float64),
        censored=np.array([r.censored for r in rows], dtype=bool),
    )
