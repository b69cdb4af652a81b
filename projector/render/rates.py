"""Growth rates in words; no xarray, so ``projector validate`` prints them cheaply."""

from __future__ import annotations

import math

__all__ = ["rate_text"]


def rate_text(oom_per_year: float, /) -> str:
    """A growth rate three ways: ``0.181 OOM/year (1.52x/year, doubling 20.0 months)``."""
    if not math.isfinite(oom_per_year) or oom_per_year <= 0:
        return f"{oom_per_year:.3f} OOM/year (never doubles)"
    doubling = 12.0 * math.log10(2.0) / oom_per_year
    return (
        f"{oom_per_year:.3f} OOM/year ({10.0**oom_per_year:.2f}x/year, "
        f"doubling {doubling:.1f} months)"
    )
