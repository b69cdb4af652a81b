"""Epoch's export formats: which one a header is, and how its cells read.

Dependency direction: imports ``errors`` only; ``inputs.systems`` uses it. The formats
and their differences are listed in the docstring of :mod:`projector.inputs.systems`.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from projector.errors import InputError

__all__ = [
    "EPOCH_2026_MARKERS",
    "EPOCH_AIRTABLE",
    "FORMATS",
    "clean_text",
    "detect",
    "interval_factor",
    "is_frontier",
    "is_notable",
    "parse_date",
    "read_number",
]

# Column names per format: name, organisation, date, compute, parameters, reference,
# domain, and where the uncertainty comes from (factor column or confidence label).
FORMATS = {
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
    "ai-models-2026": (
        "Model",
        "Organization",
        "Publication date",
        "Training compute (FLOP)",
        "Parameters",
        "Reference",
        "Domain",
        "Confidence",
    ),
}
EPOCH_AIRTABLE = ("airtable", "ai-models-2026")
#: Columns first seen in Epoch's 2026 exports; any one of them marks the format.
EPOCH_2026_MARKERS = (
    "Frontier model",
    "Open model weights?",
    "Training dataset size (total)",
    "(DEPRECATED) Training dataset size (datapoints)",  # the large-scale view
    "Hardware utilization (HFU)",
    "Training compute cost (cloud)",
)
_LOWER, _UPPER = "Training compute lower bound", "Training compute upper bound"
_TRUE = ("1", "true", "yes", "checked")


def detect(label: str, columns: list[str]) -> tuple[str, dict[str, str]]:
    cols = set(columns)
    if "training_compute_flop" in cols:
        name = "bundled"
    elif "Training compute (FLOPs)" in cols:
        name = "sheet-2022"
    elif "Training compute (FLOP)" in cols:
        name = "ai-models-2026" if cols & set(EPOCH_2026_MARKERS) else "airtable"
    else:
        raise InputError(
            f"{label}: not a recognised dataset: expected a column 'training_compute_flop' "
            "(bundled), 'Training compute (FLOPs)' (Epoch 2022 sheet) or "
            "'Training compute (FLOP)' (Epoch Airtable export, 2023-2026)"
        )
    keys = ("name", "org", "date", "compute", "params", "ref", "domain", "uncertainty")
    mapping = dict(zip(keys, FORMATS[name], strict=True))
    if name in EPOCH_AIRTABLE:  # "System" until 2024, "Model" since 2025
        mapping["name"] = "Model" if "Model" in cols or "System" not in cols else "System"
    missing = [c for k, c in mapping.items() if k in ("name", "date", "compute") and c not in cols]
    if missing:
        raise InputError(f"{label}: missing column(s) {', '.join(repr(m) for m in missing)}")
    return name, mapping


def parse_date(value: str, fmt: str) -> dt.date:
    value = value.strip()
    if fmt == "sheet-2022":
        return dt.datetime.strptime(value, "%d/%m/%Y").date()
    # "2026-04-24", or with a time as pandas and Airtable write it ("2026-04-24 00:00:00")
    return dt.date.fromisoformat(value[:10])


#: A number whose commas group thousands (``1,000,000`` or ``2,500.5e3``): the only commas
#: a figure may hold. ``1,5e24`` (a decimal comma) is not one: dropping its comma would
#: read it as 15e24, ten times the figure meant.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


def read_number(text: str, *, blank_words: bool = True) -> float | None:
    """A number cell; NaN for no figure (empty, or ``NaN`` as pandas writes a gap in a
    republished export, unless ``blank_words`` is False); None if unreadable (commas
    only as thousands separators: a decimal comma is unreadable)."""
    text = text.strip()
    if "," in text:
        if not _GROUPED.fullmatch(text):
            return None
        text = text.replace(",", "")
    if not text or (blank_words and text.lower() in ("nan", "none", "null")):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def interval_factor(row: dict[str, str]) -> float | None:
    """f = sqrt(high / low) of Epoch's stated interval (SCHEMA.md), None if not stated."""
    low, high = (read_number(row.get(c) or "") for c in (_LOWER, _UPPER))
    if low is None or high is None or not (0 < low <= high < math.inf):
        return None
    return max(math.sqrt(high / low), 1.0)


def is_notable(kind: str, row: dict[str, str]) -> bool:
    """Epoch's notability of a row (method.md 1); the bundled rows are all notable."""
    if kind in EPOCH_AIRTABLE:
        if (row.get("Exclude") or "").strip().lower() in _TRUE:
            return False
        if "Notability criteria" not in row:  # the large-scale and frontier views
            return True
        return bool((row["Notability criteria"] or "").strip()) or is_frontier(row)
    if kind == "sheet-2022" and "Inclusion criteria met" in row:
        return (row["Inclusion criteria met"] or "").strip().lower() == "yes"
    return True


def is_frontier(row: dict[str, str]) -> bool:
    # Epoch's flag for a model in the top 10 by training compute when it was released:
    # a record candidate is what the frontier series is made of, notability or not.
    return (row.get("Frontier model") or "").strip().lower() in _TRUE


def clean_text(text: str | None) -> str:
    """A name or label with whitespace runs (newlines, tabs) as one space, ends stripped."""
    return " ".join((text or "").split())
