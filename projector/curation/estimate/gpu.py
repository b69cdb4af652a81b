"""Method 2, hardware time: chips x hours x peak FLOP/s x utilization.

Dependency direction: ``hardware`` and ``units`` -> ``gpu`` -> ``inputs``.
"""

from __future__ import annotations

from projector.curation.estimate.units import (
    UTILIZATION_LLM,
    UTILIZATION_OTHER,
    _check,
    _finite,
)
from projector.curation.hardware import find_chip, peak_flop_per_s
from projector.errors import InputError


def gpu_time(
    chip: str,
    count: float,
    hours: float,
    /,
    *,
    precision: str | None = None,
    utilization: float | None = None,
    llm: bool = False,
) -> tuple[float, str, float]:
    """Training FLOP from hardware time: ``count x hours x 3600 x peak x utilization``.

    Parameters
    ----------
    chip
        An accelerator in ``accelerators.csv`` (see :mod:`projector.curation.hardware`).
    count
        Chips (not TPU cores) used for the whole run.
    hours
        Wall-clock training time [h]; or chip-hours with ``count=1``.
    precision
        Numeric format; by default the chip's bf16, else fp16, else fp32 peak.
    utilization
        Fraction of peak achieved (model FLOP utilization); by default 0.30 for large
        language models (``llm=True``) and 0.40 otherwise.

    Returns
    -------
    (flop, precision used, utilization used)
    """
    acc = find_chip(chip)
    _check("count", count)
    _check("hours", hours)
    prec = acc.default_precision() if precision is None else precision.lower()
    peak = peak_flop_per_s(acc.chip, prec)
    if utilization is None:
        utilization = UTILIZATION_LLM if llm else UTILIZATION_OTHER
    if not 0 < utilization <= 1:
        raise InputError(f"utilization must be in (0, 1], got {utilization:g}")
    return _finite(count * hours * 3600.0 * peak * utilization), prec, utilization
