"""The ``[ceilings]`` keys (issue 20), declared as the fields of one frozen dataclass.

Dependency direction: imports ``declare`` only; ``params`` holds a :class:`CeilingSpec` in
every :class:`~projector.inputs.params.Scenario` and re-exports it; ``model.limits`` reads it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from projector.inputs.declare import key

__all__ = ["CeilingSpec"]


def _factor(name: str) -> Any:
    return key(
        "float",
        "factor",
        f"multiplies the constraints table's {name} (low, central and high) at every year; "
        "a fraction stays <= 1",
        toml=f"ceilings.{name}",
        default=1.0,
        low=1e-6,
        high=1e6,
        typical=(0.25, 4),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class CeilingSpec:
    """``[ceilings]``: physical and economic ceilings on each path (issue 20)."""

    mode: str = key(
        "choice",
        "",
        "'off'; 'report' (paths unchanged, the summary says how much of them lies above "
        "each ceiling); 'clip' (a path cannot exceed its ceiling); 'saturate' (paths grow "
        "at their Deep-Learning rate and slow smoothly onto their ceiling, which replaces "
        "the reversion story)",
        toml="ceilings.mode",
        result="ceiling_mode",
        default="off",
        choices=("off", "report", "clip", "saturate"),
    )
    table: str = key(
        "str",
        "",
        "'bundled' or a path to a constraints CSV (relative to the scenario file)",
        toml="ceilings.table",
        result="ceiling_table",
        default="bundled",
    )  # "bundled" or an absolute path once loaded
    correlation: float = key(
        "float",
        "1",
        "correlation of every pair of constraint draws of a path (a common factor: 0 = "
        "independent, 1 = all at the same quantile)",
        toml="ceilings.correlation",
        result="ceiling_correlation",
        default=0.0,
        low=0,
        high=1,
        typical=(0, 1),
    )
    softness: float = key(
        "float",
        "OOM",
        "saturate: width of the smooth approach to the ceiling (a soft minimum; the path "
        "passes 0.3 x softness below the ceiling where it meets it)",
        toml="ceilings.softness",
        result="ceiling_softness",
        default=0.3,
        low=0.01,
        high=5,
        typical=(0.1, 1),
    )
    power_run: float = _factor("power_run")
    energy_efficiency: float = _factor("energy_efficiency")
    mfu: float = _factor("mfu")
    duration_run: float = _factor("duration_run")
    chip_stock: float = _factor("chip_stock")
    chip_share_run: float = _factor("chip_share_run")
    budget_run: float = _factor("budget_run")
    price_performance: float = _factor("price_performance")
    data_stock: float = _factor("data_stock")
