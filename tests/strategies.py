"""Hypothesis strategies for scenario keys, read from their declaration (inputs.params).

A key's strategy draws what the declaration allows: one of its choices, or a number in
its typical range (else its allowed range), so a new key or a changed range reaches the
property tests without editing them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from projector.inputs.declare import Param
from projector.inputs.params import PARAMS

__all__ = ["param", "values"]


def param(dotted: str, /) -> Param:
    """The declaration of ``dotted`` (``growth.weight_shape``, ``paths``, ...)."""
    table, _, leaf = dotted.rpartition(".")
    return next(p for p in PARAMS[table] if p.key == leaf)


def values(dotted: str, /, *, typical: bool = True) -> st.SearchStrategy[Any]:
    """Values ``dotted`` accepts: its choices, or numbers in its typical (or allowed)
    range; booleans for a flag."""
    p = param(dotted)
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "bool":
        return st.booleans()
    low, high = p.typical if typical and p.typical else (p.low, p.high)
    if low is None or high is None:
        raise ValueError(f"{dotted}: no range declared to draw from")
    if p.kind == "int":
        return st.integers(int(low), int(high))
    if p.kind == "float":
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    raise ValueError(f"{dotted}: no strategy for kind {p.kind!r}")
