"""Milestone ML systems: load, normalise, cut off and split into eras.

Dependency direction: ``data`` imports ``errors`` only; ``trends``, ``engine`` and the
CLI import it.

Three input formats give the same :class:`Systems` table (method.md section 1):

- the bundled dataset (``projector/inputs/data/systems.csv``, schema in ``SCHEMA.md`` there);
- Epoch's 2022 Google-Sheet export (``Publication date`` as DD/MM/YYYY,
  ``Training compute (FLOPs)``);
- Epoch's later Airtable export (ISO dates, ``Training compute (FLOP)``,
  ``Notability criteria``; ``System`` renamed ``Model`` in 2025).

Rows without a training compute are not systems the method can use and are skipped;
a row whose compute or date is present but unreadable is an error naming the row.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import io
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from projector.dates import decimal_year  # the one calendar; re-exported for readers of systems
from projector.errors import InputError

__all__ = [
    "BUNDLED",
    "BUNDLED_COLUMNS",
    "COMPUTE_BOUNDS",
    "COMPUTE_METHODS",
    "CONFIDENCE_FACTORS",
    "DOMAINS",
    "Systems",
    "bundled_records",
    "decimal_year",
    "load_dataset",
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
#: within 10, "Speculative" within 30; see ``projector/inputs/data/SCHEMA.md``).
CONFIDENCE_FACTORS = {"confident": 3.0, "likely": 10.0, "speculative": 30.0}
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


#: A number whose commas group thousands (``1,000,000`` or ``2,500.5e3``): the only commas
#: a figure may hold. ``1,5e24`` (a decimal comma) is not one: dropping its comma would
#: read it as 15e24, ten times the figure meant.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


def _plain_number(text: str) -> float:
    """A CSV figure as a float: commas only as thousands separators (ValueError else)."""
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(text)
        text = text.replace(",", "")
    return float(text)


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


#: The largest dataset CSV read [bytes]: Epoch's full export is about 5 MB.
MAX_DATASET_BYTES = 256 << 20


def load_dataset(
    source: str | Path = BUNDLED, *, notable_only: bool = True, today: dt.date | None = None
) -> Systems:
    """Load the bundled dataset or an Epoch CSV export into a :class:`Systems` table.

    Parameters
    ----------
    source
        ``"bundled"`` or the path of a CSV file in any of the three formats.
    notable_only
        For Airtable-era exports ("All ML Systems" views), keep only rows with a
        notability criterion (and drop rows marked ``Exclude``); for the 2022 "all"
        sheet, keep ``Inclusion criteria met = Yes``.
    today
        Publication dates after this are errors (default: today's date).

    Raises
    ------
    InputError
        File missing or unreadable, no recognised columns, a row cut off or malformed,
        a date in the future, or an unreadable or non-finite value, naming the file,
        row and column.
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
    fmt = _detect(label, list(columns))
    rows = _rows(
        label,
        checked_rows(label, reader),
        fmt,
        notable_only=notable_only,
        today=today or dt.date.today(),
    )
    if not rows:
        raise InputError(f"{label}: no rows with a training compute")
    sha = hashlib.sha256(raw).hexdigest()
    return _table(rows, label, sha)


# Column names per format: name, organisation, date, compute, parameters, reference,
# domain, and where the uncertainty comes from (factor column or confidence label).
_FORMATS = {
    "bundled": (
        "system",
        "organization",
        "publication_date",
        "training_compute_flop",
        "parameters",
        "source",
        "domain",
        "uncertainty_factor",
    ),
    "sheet-2022": (
        "System",
        "Organization(s)",
        "Publication date",
        "Training compute (FLOPs)",
        "Parameters",
        "Reference",
        "Domain",
        "Confidence",
    ),
    "airtable": (
        "System",
        "Organization",
        "Publication date",
        "Training compute (FLOP)",
        "Parameters",
        "Reference",
        "Domain",
        "Confidence",
    ),
}


def _detect(label: str, columns: list[str]) -> tuple[str, dict[str, str]]:
    cols = set(columns)
    if "training_compute_flop" in cols:
        name = "bundled"
    elif "Training compute (FLOPs)" in cols:
        name = "sheet-2022"
    elif "Training compute (FLOP)" in cols:
        name = "airtable"
    else:
        raise InputError(
            f"{label}: not a recognised dataset: expected a column 'training_compute_flop' "
            "(bundled), 'Training compute (FLOPs)' (Epoch 2022 sheet) or "
            "'Training compute (FLOP)' (Epoch Airtable export)"
        )
    keys = ("name", "org", "date", "compute", "params", "ref", "domain", "uncertainty")
    mapping = dict(zip(keys, _FORMATS[name], strict=True))
    if name == "airtable" and "System" not in cols and "Model" in cols:
        mapping["name"] = "Model"
    missing = [c for k, c in mapping.items() if k in ("name", "date", "compute") and c not in cols]
    if missing:
        raise InputError(f"{label}: missing column(s) {', '.join(repr(m) for m in missing)}")
    return name, mapping


def _parse_date(value: str, fmt: str) -> dt.date:
    value = value.strip()
    if fmt == "sheet-2022":
        return dt.datetime.strptime(value, "%d/%m/%Y").date()
    return dt.date.fromisoformat(value[:10])


class _Row(NamedTuple):
    name: str
    organization: str
    domain: str
    date: dt.date
    log10_compute: float
    parameters: float
    reference: str
    log10_uncertainty_sd: float
    censored: bool


def _log10_sd(where: str, kind: str, col: dict[str, str], row: dict[str, str]) -> float:
    """sd of log10 compute [OOM] from a factor (bundled) or a confidence label (Epoch)."""
    text = (row.get(col["uncertainty"]) or "").strip()
    if kind == "bundled":
        factor = _uncertainty_factor(where, text)
    else:
        factor = CONFIDENCE_FACTORS.get(text.lower(), math.nan)
    return math.log10(factor) / Z90 if math.isfinite(factor) else math.nan


def _rows(
    label: str,
    reader: Iterable[tuple[int, dict[str, str]]],
    fmt: tuple[str, dict[str, str]],
    *,
    notable_only: bool,
    today: dt.date,
) -> list[_Row]:
    kind, col = fmt
    out = []
    for lineno, row in reader:
        if notable_only and kind == "airtable":
            if "Notability criteria" in row and not (row["Notability criteria"] or "").strip():
                continue
            if (row.get("Exclude") or "").strip() in ("1", "TRUE", "True", "checked"):
                continue
        if notable_only and kind == "sheet-2022" and "Inclusion criteria met" in row:
            if (row["Inclusion criteria met"] or "").strip().lower() != "yes":
                continue
        raw_c = (row.get(col["compute"]) or "").strip()
        if not raw_c:
            continue
        where = f"{label}: line {lineno}"
        try:
            compute = _plain_number(raw_c)
        except ValueError:
            comma = " (a decimal comma? write 1.5e24)" if "," in raw_c else ""
            raise InputError(
                f"{where}: column '{col['compute']}' must be a number of FLOP, got "
                f"{raw_c!r}{comma}"
            ) from None
        if not math.isfinite(compute) or compute <= 0:
            raise InputError(
                f"{where}: column '{col['compute']}' must be a finite number > 0, got {raw_c!r}"
            )
        raw_d = (row.get(col["date"]) or "").strip()
        try:
            date = _parse_date(raw_d, kind)
        except ValueError:
            expect = "DD/MM/YYYY" if kind == "sheet-2022" else "YYYY-MM-DD"
            raise InputError(
                f"{where}: column '{col['date']}' must be a date {expect}, got {raw_d!r}"
            ) from None
        if date > today:
            raise InputError(
                f"{where}: column '{col['date']}' is {date}, after today ({today}); "
                "a publication date cannot be in the future"
            )
        raw_p = (row.get(col["params"]) or "").strip()
        try:
            params = _plain_number(raw_p) if raw_p else math.nan
        except ValueError:
            params = math.nan  # parameters are informative only in Epoch's free-text cells
            if kind == "bundled":
                raise InputError(
                    f"{where}: column '{col['params']}' must be a number, got {raw_p!r}"
                ) from None
        if math.isinf(params) or (kind == "bundled" and raw_p and not params > 0):
            raise InputError(
                f"{where}: column '{col['params']}' must be a finite number > 0, got {raw_p!r}"
            )
        censored = kind == "bundled" and (row.get("compute_bound") or "").strip() == "lower"
        out.append(
            _Row(
                (row.get(col["name"]) or "").strip(),
                (row.get(col["org"]) or "").strip(),
                (row.get(col["domain"]) or "").strip(),
                date,
                math.log10(compute),
                params,
                (row.get(col["ref"]) or "").strip(),
                _log10_sd(where, kind, col, row),
                censored,
            )
        )
    return out


def _table(rows: list[_Row], label: str, sha: str) -> Systems:
    rows.sort(key=lambda r: (r.date, r.name))
    return Systems(
        name=np.array([r.name for r in rows], dtype=str),
        organization=np.array([r.organization for r in rows], dtype=str),
        domain=np.array([r.domain for r in rows], dtype=str),
        date=np.array([r.date for r in rows], dtype="datetime64[D]"),
        year=np.array([decimal_year(r.date) for r in rows], dtype=np.float64),
        log10_compute=np.array([r.log10_compute for r in rows], dtype=np.float64),
        parameters=np.array([r.parameters for r in rows], dtype=np.float64),
        reference=np.array([r.reference for r in rows], dtype=str),
        label=label,
        sha256=sha,
        log10_uncertainty_sd=np.array([r.log10_uncertainty_sd for r in rows], dtype=np.float64),
        censored=np.array([r.censored for r in rows], dtype=bool),
    )
