"""Accelerators and their peak dense FLOP/s, from ``projector/inputs/data/accelerators.csv``.

Dependency direction: a leaf beside ``data``; ``estimate`` imports it.

Each row of the table is one (chip, precision) pair with the vendor datasheet the peak
comes from. Peaks are *dense* (no structured-sparsity doubling), per chip (a TPU v2/v3
chip has two cores), and count one multiply-add as two FLOP, as vendors do.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import importlib.resources
import math

from projector.errors import InputError

__all__ = [
    "PRECISIONS",
    "Accelerator",
    "accelerators",
    "find_chip",
    "peak_flop_per_s",
]

#: Numeric formats the table may list, from widest to narrowest.
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "fp16", "bf16", "fp8", "int8")
_TABLE = "accelerators.csv"
_COLUMNS = ("chip", "vendor", "precision", "peak_flop_per_s", "source")


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """One accelerator: peak dense FLOP/s per precision [FLOP/s] and their sources."""

    chip: str
    vendor: str
    peaks: dict[str, float]
    sources: dict[str, str]

    def default_precision(self) -> str:
        """The format large training runs of this chip's generation used: bf16, fp16 or fp32."""
        for p in ("bf16", "fp16", "fp32"):
            if p in self.peaks:
                return p
        return next(iter(self.peaks))


def _key(name: str) -> str:
    """Case, space, hyphen and underscore-insensitive chip key ("TPU v4" == "tpuv4")."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


@functools.cache
def accelerators() -> dict[str, Accelerator]:
    """The accelerator table, keyed by normalised chip name (see :func:`find_chip`).

    Raises
    ------
    InputError
        A malformed row in the table, naming the line and column.
    """
    text = (importlib.resources.files("projector.inputs") / "data" / _TABLE).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise InputError(f"{_TABLE}: header must be {','.join(_COLUMNS)}")
    chips: dict[str, Accelerator] = {}
    for lineno, row in enumerate(reader, start=2):
        where = f"{_TABLE}: line {lineno}"
        chip, precision = row["chip"].strip(), row["precision"].strip()
        if precision not in PRECISIONS:
            raise InputError(f"{where}: precision must be one of {', '.join(PRECISIONS)}")
        try:
            peak = float(row["peak_flop_per_s"])
        except ValueError:
            raise InputError(f"{where}: peak_flop_per_s must be a number") from None
        if not (math.isfinite(peak) and peak > 0):
            raise InputError(f"{where}: peak_flop_per_s must be > 0")
        if not row["source"].strip():
            raise InputError(f"{where}: source (the datasheet) is required")
        acc = chips.setdefault(_key(chip), Accelerator(chip, row["vendor"].strip(), {}, {}))
        if precision in acc.peaks:
            raise InputError(f"{where}: {chip} {precision} listed twice")
        acc.peaks[precision] = peak
        acc.sources[precision] = row["source"].strip()
    return chips


def find_chip(name: str, /) -> Accelerator:
    """Look a chip up by name, ignoring case, spaces and hyphens.

    Raises
    ------
    InputError
        Unknown chip, listing the known ones.
    """
    table = accelerators()
    try:
        return table[_key(name)]
    except KeyError:
        known = ", ".join(a.chip for a in table.values())
        raise InputError(f"unknown chip {name!r}; known chips: {known}") from None


def peak_flop_per_s(chip: str, precision: str, /) -> float:
    """Peak dense throughput of ``chip`` at ``precision`` [FLOP/s].

    Raises
    ------
    InputError
        Unknown chip, or a precision the chip's datasheet does not list.
    """
    acc = find_chip(chip)
    try:
        return acc.peaks[precision.lower()]
    except KeyError:
        has = ", ".join(acc.peaks)
        raise InputError(
            f"chip {acc.chip} has no {precision!r} peak in its datasheet; it has: {has}"
        ) from None
