"""Tables, figures and files of ``projector measure``: tidy CSV, Markdown, PNG and JSON.

Dependency direction: ``measure`` -> ``measure_report`` -> ``measure_cli``. Rows are the
plain dictionaries of :func:`projector.measure.sweep`; nothing here imports torch.
matplotlib is imported inside the figure functions and only its object-oriented
``Figure`` is used, so the user's backend is never switched.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from projector.fileio import atomic_path

__all__ = [
    "CONVENTIONS",
    "markdown_table",
    "ratio_figure",
    "rows_json",
    "utilization_figure",
    "write_csv",
    "write_figure",
    "write_text",
]

#: How the counts are made, printed under every table.
CONVENTIONS = (
    "Counts: FLOP per training step of the whole batch, one multiply-add = 2 FLOP "
    "(torch.utils.flop_counter.FlopCounterMode's unit, calibrated on a 1x1x1 matrix "
    "product: conversion x{conversion:g}). Element-wise operations (ReLU, GELU, tanh, "
    "sigmoid, add, mul, div, dropout, max-pooling, the SGD update) are counted by "
    "projector at 1 FLOP per element (2 for a scaled add). ratio = backward/forward; "
    "ratio_with_update adds the optimiser's update to the backward pass. "
    "fwd/est and bwd/est: the framework's matrix-multiply-class count over "
    "projector.estimate's layer-by-layer count (first layer backward ratio 1, others 2); "
    "MISMATCH when off by more than {tolerance:.0%}."
)


def _cell(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool):
        return "MISMATCH" if value else "ok"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], /) -> str:
    """A Markdown table of ``rows``; ``columns`` are ``(key, header)`` pairs."""
    head = "| " + " | ".join(h for _, h in columns) + " |"
    rule = (
        "|"
        + "|".join(
            "---:" if k not in ("arch", "layer", "kind", "spec") else "---" for k, _ in columns
        )
        + "|"
    )
    body = ["| " + " | ".join(_cell(r.get(k, "")) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_json(rows: Any, /) -> str:
    """JSON text of rows (NaN and infinities become null, as JSON has no NaN)."""
    if isinstance(rows, Mapping):
        return json.dumps({k: _plain_tree(v) for k, v in rows.items()}, indent=2)
    return json.dumps(_plain_tree(rows), indent=2)


def _plain_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_tree(v) for v in value]
    return _plain(value)


def write_csv(rows: Sequence[Mapping[str, Any]], target: Path, /) -> Path:
    """Write tidy rows (one observation per row; columns = union of keys in order)."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with atomic_path(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return target


def write_text(text: str, target: Path, /) -> Path:
    """Write a text file through a temporary name and a rename."""
    with atomic_path(target) as tmp:
        tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return target


def write_figure(fig: Any, target: Path, /) -> Path:
    """Save a Figure as PNG through a temporary name and a rename."""
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    return target


def _new_figure(ncols: int, width: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 4.5), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def ratio_figure(rows: Sequence[Mapping[str, Any]], /) -> Any:
    """Backward/forward ratio by depth, one line per (architecture, batch size).

    Left: the backward pass alone; right: with the optimiser's update, which is paid once
    per step and so weighs more at small batches. Dashed lines at 1:1, 2:1 and 3:1.
    """
    fig, axes = _new_figure(2, 11.0)
    series: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for r in rows:
        series.setdefault((str(r["arch"]), int(r["batch"])), []).append(r)
    for ax, key, title in (
        (axes[0], "ratio", "backward / forward"),
        (axes[1], "ratio_with_update", "(backward + SGD update) / forward"),
    ):
        for (arch, batch), rs in series.items():
            rs = sorted(rs, key=lambda r: int(r["depth"]))
            ax.plot(
                [int(r["depth"]) for r in rs],
                [float(r[key]) for r in rs],
                marker="o",
                label=f"{arch}, batch {batch}",
            )
        for level in (1.0, 2.0, 3.0):
            ax.axhline(level, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth (layers or blocks)")
        ax.set_ylabel("FLOP ratio")
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.suptitle("Measured backward-forward FLOP ratio (FlopCounterMode, CPU)")
    return fig


def utilization_figure(rows: Sequence[Mapping[str, Any]], /) -> Any:
    """Utilization (counted FLOP / (time x peak)) by architecture, one bar per batch size."""
    import numpy as np

    fig, axes = _new_figure(1, 8.0)
    ax = axes[0]
    archs = list(dict.fromkeys(f"{r['arch']} d{r['depth']}" for r in rows))
    batches = sorted({int(r["batch"]) for r in rows})
    width = 0.8 / len(batches)
    x = np.arange(len(archs))
    for k, batch in enumerate(batches):
        values = {
            f"{r['arch']} d{r['depth']}": float(r["utilization"])
            for r in rows
            if int(r["batch"]) == batch
        }
        ax.bar(
            x + (k - (len(batches) - 1) / 2) * width,
            [values.get(a, np.nan) for a in archs],
            width,
            label=f"batch {batch}",
        )
    ax.set_xticks(x, archs, rotation=20)
    ax.set_ylabel("utilization (fraction of peak)")
    ax.legend(fontsize=8)
    peak = rows[0]["peak_flop_per_s"] if rows else math.nan
    ax.set_title(f"Training-step utilization against a peak of {peak:.3g} FLOP/s")
    return fig
