"""Tables, figures and files of ``projector measure``: tidy CSV, Markdown, PNG and JSON.

Dependency direction: ``measure`` -> ``measure_report`` -> ``measure_cli``. Rows are the
plain dictionaries of :func:`projector.curation.measure.sweep`; nothing here imports torch.
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

from projector.pipeline.fileio import atomic_path

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
    "projector.curation.estimate's layer-by-layer count (first layer backward ratio 1, others 2); "
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


def _new_figure(nrows: int, ncols: int, width: float, height: float) -> tuple[Any, Any]:
    from projector.extras import require

    Figure = require("matplotlib.figure", "plot", "measure figures").Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


#: Ratios above this are drawn at the top edge of their panel, with their value.
_RATIO_CEILING = 3.5


def ratio_figure(rows: Sequence[Mapping[str, Any]], /) -> Any:
    """Backward/forward ratio by depth: one panel per architecture, a colour per batch size.

    Solid: backward / forward; dashed: (backward + SGD update) / forward, the update
    being paid once per step and so weighing more at small batches. Crosses mark rows
    whose measured count disagrees with the analytic one (the cross-check's MISMATCH).
    Grey lines at 1:1, 2:1 and 3:1; values above 3.5 sit on the top edge, labelled.
    """
    archs = list(dict.fromkeys(str(r["arch"]) for r in rows))
    batches = sorted({int(r["batch"]) for r in rows})
    ncols = min(3, len(archs)) or 1
    nrows = max(1, math.ceil(len(archs) / ncols))
    fig, axes = _new_figure(nrows, ncols, 4.2 * ncols, 3.4 * nrows)
    colours = [f"C{k}" for k in range(len(batches))]
    for ax in axes.flat[len(archs) :]:
        ax.set_visible(False)
    for ax, arch in zip(axes.flat, archs, strict=False):
        for colour, batch in zip(colours, batches, strict=True):
            rs = sorted(
                (r for r in rows if r["arch"] == arch and int(r["batch"]) == batch),
                key=lambda r: int(r["depth"]),
            )
            depth = [int(r["depth"]) for r in rs]
            for key, style, label in (
                ("ratio", "-", f"batch {batch}"),
                ("ratio_with_update", "--", f"batch {batch}, with update"),
            ):
                values = [float(r[key]) for r in rs]
                shown = [min(v, _RATIO_CEILING) for v in values]
                ax.plot(depth, shown, style, color=colour, marker="o", ms=3, label=label)
                for d, v in zip(depth, values, strict=True):
                    if v > _RATIO_CEILING:
                        ax.annotate(
                            f"{v:.3g}",
                            (d, _RATIO_CEILING),
                            fontsize=7,
                            color=colour,
                            xytext=(2, -9),
                            textcoords="offset points",
                        )
            bad = [
                (int(r["depth"]), min(float(r["ratio"]), _RATIO_CEILING))
                for r in rs
                if r.get("mismatch")
            ]
            if bad:
                ax.plot(*zip(*bad, strict=True), "x", color="black", ms=7)
        for level in (1.0, 2.0, 3.0):
            ax.axhline(level, color="grey", lw=0.7, ls=":")
        ax.set_ylim(0.0, _RATIO_CEILING + 0.1)
        ax.set_xscale("log", base=2)
        ax.set_title(
            arch
            + (
                "  (x: MISMATCH)"
                if any(r.get("mismatch") for r in rows if r["arch"] == arch)
                else ""
            ),
            fontsize=10,
        )
        ax.set_xlabel("depth (layers or blocks)")
        ax.set_ylabel("backward / forward FLOP")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Measured backward-forward FLOP ratio (PyTorch FlopCounterMode)")
    return fig


def utilization_figure(rows: Sequence[Mapping[str, Any]], /) -> Any:
    """Utilization by architecture, a bar per batch size.

    Bars: counted FLOP / (step time x peak) with the framework's count; black dots: the
    same with the analytic count (they differ where the framework mis-counts).
    """
    import numpy as np

    fig, axes = _new_figure(1, 1, 8.0, 4.5)
    ax = axes[0, 0]
    labels = list(dict.fromkeys(f"{r['arch']} d{r['depth']}" for r in rows))
    batches = sorted({int(r["batch"]) for r in rows})
    width = 0.8 / len(batches)
    x = np.arange(len(labels))
    for k, batch in enumerate(batches):
        by = {f"{r['arch']} d{r['depth']}": r for r in rows if int(r["batch"]) == batch}
        pos = x + (k - (len(batches) - 1) / 2) * width
        ax.bar(
            pos,
            [float(by[a]["utilization"]) if a in by else np.nan for a in labels],
            width,
            label=f"batch {batch}",
        )
        ax.plot(
            pos,
            [float(by[a]["estimate_utilization"]) if a in by else np.nan for a in labels],
            "o",
            color="black",
            ms=4,
            label="with the analytic count" if k == 0 else None,
        )
    ax.set_xticks(x, labels, rotation=20)
    ax.set_ylabel("utilization (fraction of peak)")
    ax.legend(fontsize=8)
    peaks = [float(r["peak_flop_per_s"]) for r in rows] or [math.nan]
    ax.set_title(
        f"Training-step utilization (peak {min(peaks):.3g}-{max(peaks):.3g} FLOP/s)", fontsize=10
    )
    return fig
