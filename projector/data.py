"""Milestone ML systems: load, normalise, cut off and split into eras.

Dependency direction: ``data`` imports ``errors`` only; ``trends``, ``engine`` and the
CLI import it.

Three input formats give the same :class:`Systems` table (method.md section 1):

- the bundled dataset (``projector/data/systems.csv``, schema in ``SCHEMA.md`` there);
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
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from projector.errors import InputError

__all__ = [
    "BUNDLED",
    "BUNDLED_COLUMNS",
    "COMPUTE_METHODS",
    "DOMAINS",
    "Systems",
    "bundled_records",
    "decimal_year",
    "load_dataset",
]

BUNDLED = "bundled"
_BUNDLED_FILE = "systems.csv"
#: Columns of the bundled dataset, in order (schema in ``projector/data/SCHEMA.md``).
BUNDLED_COLUMNS = (
    "system",
    "organization",
    "domain",
    "publication_date",
    "training_compute_flop",
    "parameters",
    "source",
    "compute_method",
    "inputs",
    "notes",
)
COMPUTE_METHODS = ("reported", "ops", "gpu_time", "third_party")
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
    ref = importlib.resources.files("projector") / "data" / _BUNDLED_FILE
    try:
        return ref.read_bytes()
    except OSError:
        raise InputError(
            f"bundled dataset projector/data/{_BUNDLED_FILE} is missing from this installation; "
            "reinstall projector or pass --dataset PATH"
        ) from None


def bundled_records() -> list[dict[str, str]]:
    """The bundled dataset's rows as dictionaries of strings, checked against the schema.

    Checks the header, the domain and compute-method vocabularies, dates, and that
    every row names a source; numbers are checked by :func:`load_dataset`.

    Raises
    ------
    InputError
        Naming ``systems.csv``, the line and the column.
    """
    text = _bundled_bytes().decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != BUNDLED_COLUMNS:
        raise InputError(f"{_BUNDLED_FILE}: header must be {','.join(BUNDLED_COLUMNS)}")
    rows = []
    for lineno, row in enumerate(reader, start=2):
        where = f"{_BUNDLED_FILE}: line {lineno}"
        if row["domain"] not in DOMAINS:
            raise InputError(f"{where}: domain must be one of {', '.join(DOMAINS)}")
        if row["compute_method"] not in COMPUTE_METHODS:
            raise InputError(f"{where}: compute_method must be one of {', '.join(COMPUTE_METHODS)}")
        try:
            dt.date.fromisoformat(row["publication_date"])
        except ValueError:
            raise InputError(f"{where}: publication_date must be YYYY-MM-DD") from None
        if not row["source"].strip():
            raise InputError(f"{where}: source is required")
        rows.append(row)
    return rows


@dataclasses.dataclass(frozen=True)
class Systems:
    """A normalised table of milestone systems, one row per system.

    Attributes are aligned 1-D arrays; ``year`` is the decimal publication year and
    ``log10_compute`` is log10 of training compute [FLOP].
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


def decimal_year(date: dt.date) -> float:
    """``year + (day_of_year - 1) / days_in_year`` (method.md section 1)."""
    start = dt.date(date.year, 1, 1)
    days = (dt.date(date.year + 1, 1, 1) - start).days
    return date.year + (date - start).days / days


def load_dataset(source: str | Path = BUNDLED, *, notable_only: bool = True) -> Systems:
    """Load the bundled dataset or an Epoch CSV export into a :class:`Systems` table.

    Parameters
    ----------
    source
        ``"bundled"`` or the path of a CSV file in any of the three formats.
    notable_only
        For Airtable-era exports ("All ML Systems" views), keep only rows with a
        notability criterion (and drop rows marked ``Exclude``); for the 2022 "all"
        sheet, keep ``Inclusion criteria met = Yes``.

    Raises
    ------
    InputError
        File missing or unreadable, no recognised columns, or an unreadable value,
        naming the file, row and column.
    """
    if str(source) == BUNDLED:
        raw = _bundled_bytes()
        label = BUNDLED
    else:
        path = Path(source)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read dataset ({exc.strerror})") from None
        label = str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: dataset is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    fmt = _detect(label, list(columns))
    rows = _rows(label, reader, fmt, notable_only=notable_only)
    if not rows:
        raise InputError(f"{label}: no rows with a training compute")
    sha = hashlib.sha256(raw).hexdigest()
    return _table(rows, label, sha)


# Column names per format: name, organisation, date, compute, parameters, reference, domain.
_FORMATS = {
    "bundled": (
        "system",
        "organization",
        "publication_date",
        "training_compute_flop",
        "parameters",
        "source",
        "domain",
    ),
    "sheet-2022": (
        "System",
        "Organization(s)",
        "Publication date",
        "Training compute (FLOPs)",
        "Parameters",
        "Reference",
        "Domain",
    ),
    "airtable": (
        "System",
        "Organization",
        "Publication date",
        "Training compute (FLOP)",
        "Parameters",
        "Reference",
        "Domain",
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
    keys = ("name", "org", "date", "compute", "params", "ref", "domain")
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


def _rows(
    label: str,
    reader: Iterable[dict[str, str]],
    fmt: tuple[str, dict[str, str]],
    *,
    notable_only: bool,
) -> list[tuple[str, str, str, dt.date, float, float, str]]:
    kind, col = fmt
    out = []
    for lineno, row in enumerate(reader, start=2):  # line 1 is the header
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
            compute = float(raw_c.replace(",", ""))
        except ValueError:
            raise InputError(
                f"{where}: column '{col['compute']}' must be a number of FLOP, got {raw_c!r}"
            ) from None
        if not math.isfinite(compute) or compute <= 0:
            raise InputError(f"{where}: column '{col['compute']}' must be > 0, got {raw_c!r}")
        raw_d = (row.get(col["date"]) or "").strip()
        try:
            date = _parse_date(raw_d, kind)
        except ValueError:
            expect = "DD/MM/YYYY" if kind == "sheet-2022" else "YYYY-MM-DD"
            raise InputError(
                f"{where}: column '{col['date']}' must be a date {expect}, got {raw_d!r}"
            ) from None
        raw_p = (row.get(col["params"]) or "").strip()
        try:
            params = float(raw_p.replace(",", "")) if raw_p else math.nan
        except ValueError:
            params = math.nan  # parameters are informative only; never fitted
        out.append(
            (
                (row.get(col["name"]) or "").strip(),
                (row.get(col["org"]) or "").strip(),
                (row.get(col["domain"]) or "").strip(),
                date,
                math.log10(compute),
                params,
                (row.get(col["ref"]) or "").strip(),
            )
        )
    return out


def _table(
    rows: list[tuple[str, str, str, dt.date, float, float, str]], label: str, sha: str
) -> Systems:
    rows.sort(key=lambda r: (r[3], r[0]))
    names, orgs, domains, dates, logc, params, refs = zip(*rows, strict=True)
    return Systems(
        name=np.array(names, dtype=str),
        organization=np.array(orgs, dtype=str),
        domain=np.array(domains, dtype=str),
        date=np.array(dates, dtype="datetime64[D]"),
        year=np.array([decimal_year(d) for d in dates], dtype=np.float64),
        log10_compute=np.array(logc, dtype=np.float64),
        parameters=np.array(params, dtype=np.float64),
        reference=np.array(refs, dtype=str),
        label=label,
        sha256=sha,
    )
