"""Units and checks of the compute estimates: FLOP, multiply-adds, petaFLOP/s-days.

Dependency direction: ``units`` -> ``ops``, ``gpu``, ``inputs``. One multiply-add (MAC) is two
FLOP, as in vendors' peak figures; one petaFLOP/s-day is 8.64e19 FLOP.
"""

from __future__ import annotations

import math

from projector.errors import InputError

FLOP_PER_MAC = 2.0
FLOP_PER_PFLOPS_DAY = 1e15 * 86_400.0  # 8.64e19
DEFAULT_BACKWARD_RATIO = 2.0
UTILIZATION_LLM = 0.30
UTILIZATION_OTHER = 0.40


def macs_to_flop(macs: float, /) -> float:
    """Multiply-adds to FLOP (one multiply-add = 2 FLOP)."""
    return macs * FLOP_PER_MAC


def flop_to_macs(flop: float, /) -> float:
    """FLOP to multiply-adds."""
    return flop / FLOP_PER_MAC


def pflops_days_to_flop(pflops_days: float, /) -> float:
    """petaFLOP/s-days to FLOP (x 8.64e19)."""
    return pflops_days * FLOP_PER_PFLOPS_DAY


def flop_to_pflops_days(flop: float, /) -> float:
    """FLOP to petaFLOP/s-days."""
    return flop / FLOP_PER_PFLOPS_DAY


_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_count(text: str, /) -> float:
    """A count as people write it: ``3k``, ``1.5M``, ``70B``, ``2T``, ``1.4e12``, ``1,720,320``.

    Suffixes (case-insensitive): k = 1e3, M = 1e6, B or G = 1e9, T = 1e12.

    Raises
    ------
    InputError
        Not a number, or not finite (``inf``, ``nan``, or too large for a float).
    """
    clean = text.strip().replace(",", "").replace("_", "")
    scale = 1.0
    if clean and clean[-1].lower() in _SUFFIXES:
        scale = _SUFFIXES[clean[-1].lower()]
        clean = clean[:-1]
    try:
        value = float(clean) * scale
    except ValueError:
        raise InputError(
            f"expected a number such as 70B, 1.5M, 3k or 1.4e12, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"expected a finite number, got {text!r}")
    return value


def _finite(flop: float, /) -> float:
    """A training compute that overflowed is an input error, not ``inf`` FLOP."""
    if not math.isfinite(flop):
        raise InputError(
            "the estimate overflows (is not a finite number of FLOP): check the inputs' sizes"
        )
    return flop


def _check(name: str, value: float, *, positive: bool = True) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "> 0" if positive else ">= 0"
        raise InputError(f"{name} must be a finite number {need}, got {value:g}")
    return value
