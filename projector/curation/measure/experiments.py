"""One model built, counted and timed, and the sweep over architectures, depths and batches.

Dependency direction: ``models``, ``counting``, ``ratio``, ``utilization`` -> ``experiments``
-> :mod:`projector.cli.measure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projector.curation.measure.counting import Measurement, add_graph_counts, count_step
from projector.curation.measure.models import (
    ARCHITECTURE_HELP,
    ARCHITECTURES,
    _check_size,
    build_model,
)
from projector.curation.measure.ratio import TOLERANCE, layer_rows, summary_row
from projector.curation.measure.utilization import Peak, time_step
from projector.errors import InputError


def measure_model(
    arch: str,
    depth: int,
    batch: int,
    /,
    *,
    width: int | None = None,
    seq_len: int | None = None,
    peak: Peak | None = None,
    repeats: int = 10,
    tolerance: float = TOLERANCE,
    graph: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], Measurement]:
    """Build, count and (with ``peak``) time one model; with ``graph``, count it again
    from its compiled graphs (:func:`add_graph_counts`).

    Returns
    -------
    (network row, layer rows, measurement); see :func:`summary_row` and :func:`layer_rows`.
    """
    built = build_model(arch, depth, width=width, seq_len=seq_len)
    m = count_step(built, batch)
    timing = time_step(built, batch, peak, repeats=repeats) if peak is not None else None
    row = summary_row(m, tolerance=tolerance, timing=timing)
    if graph:
        row = add_graph_counts(row, built)
    return row, layer_rows(m, tolerance=tolerance), m


def sweep(
    archs: Sequence[str],
    depths: Sequence[int],
    batches: Sequence[int],
    /,
    *,
    width: int | None = None,
    seq_len: int | None = None,
    peak: Peak | None = None,
    repeats: int = 10,
    tolerance: float = TOLERANCE,
    graph: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for every (architecture, depth, batch), in that order.

    Returns
    -------
    (network rows, layer rows); each layer row starts with ``arch``, ``depth``, ``batch``.
    """
    for name, values in (("depth", depths), ("batch", batches)):
        for v in values:
            _check_size(name, v)
    for arch in archs:
        if arch not in ARCHITECTURES:
            raise InputError(f"unknown architecture {arch!r}; expected one of: {ARCHITECTURE_HELP}")
    rows = []
    all_layers = []
    for arch in archs:
        for depth in depths:
            for batch in batches:
                row, layers, _ = measure_model(
                    arch,
                    depth,
                    batch,
                    width=width,
                    seq_len=seq_len,
                    peak=peak,
                    repeats=repeats,
                    tolerance=tolerance,
                    graph=graph,
                )
                rows.append(row)
                key = {"arch": arch, "depth": depth, "batch": batch}
                all_layers += [key | layer for layer in layers]
    return rows, all_layers
