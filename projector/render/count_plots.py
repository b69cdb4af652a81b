"""Figures of counts: models above each threshold by year, with bands and what was seen.

Dependency direction: ``studies.counts`` -> ``count_plots`` -> ``cli``; as in
``render.plots``, each function takes the counts Dataset and returns a matplotlib Figure
built without pyplot (matplotlib is the ``plot`` extra).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from projector.render.plots import _subplots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["counts_figure"]


def counts_figure(ds: xr.Dataset, /) -> Figure:
    """One panel per threshold: the median count by year with its 50% and 90% bands,
    the realised counts before the start as intervals [at least, at most], and the
    published forecasts at that threshold (points, or bars for ranges).

    Parameters
    ----------
    ds
        From :func:`projector.studies.counts.counts`.
    """
    n = ds.sizes["threshold"]
    fig, axes = _subplots(1, n, figsize=(4.2 * n, 4.0), layout="constrained", squeeze=False)
    ends = ds["year"].values.astype(float) + 1.0
    start = float(ds.attrs["counts_start"])
    for i, ax in enumerate(axes[0]):
        t = float(ds["threshold"].values[i])
        q = ds["count_above_quantile"].values[i]  # (year, quantile)
        lo = ds["observed_at_least"].values[i]
        x = np.concatenate([[start], ends])
        band = {j: np.concatenate([[lo], q[:, j]]) for j in range(q.shape[1])}
        ax.fill_between(x, band[0], band[4], color="#9ecae1", alpha=0.5, label="90% band")
        ax.fill_between(x, band[1], band[3], color="#3182bd", alpha=0.5, label="50% band")
        ax.plot(x, band[2], color="#08519c", lw=1.8, label="median")
        if "history_at_least" in ds:
            h = ds["history_time"].values
            a, b = ds["history_at_least"].values[i], ds["history_at_most"].values[i]
            ax.vlines(h, a, b, color="black", lw=2.5)
            ax.plot(h, a, "k_", ms=8, label="realised [at least, at most]")
        for p in range(ds.sizes.get("published", 0)):
            if float(ds["published_threshold"][p]) != t:
                continue
            by = float(ds["published_by"][p])
            low, high = float(ds["published_low"][p]), float(ds["published_high"][p])
            central = float(ds["published_central"][p])
            epoch = str(ds["published_source"][p].values).startswith("Epoch")
            color, label = ("#d95f02", "Epoch AI") if epoch else ("#1b9e77", "GovAI")
            if math.isfinite(central):
                ax.plot([by], [central], "o", color=color, label=label)
            elif math.isfinite(high):
                ax.vlines([by], low, high, color=color, lw=4, alpha=0.8, label=f"{label} 90%")
            else:
                ax.plot([by], [low], "^", color=color, label=f"{label} (more than)")
        ax.set_yscale("symlog", linthresh=10)
        ax.set_title(f"at or above 1e{t:g} FLOP" if t.is_integer() else f"at or above 10^{t:.2f}")
        ax.set_xlabel("date (a year's count is at its end: 2027 = end of 2026)")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        seen = dict(zip(labels, handles, strict=True))
        ax.legend(seen.values(), seen.keys(), fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("notable models (cumulative)")
    fig.suptitle(
        f"{ds.attrs.get('scenario_name', '')}: models at or above each threshold, "
        f"{ds.sizes['path']} paths ({ds.attrs.get('counts_method', '')})",
        fontsize=10,
    )
    return fig
