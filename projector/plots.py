"""Figures from result cubes. The only module that imports matplotlib.

Dependency direction: ``results`` -> ``plots``; functions take a Dataset and an
optional ``ax`` and return the Figure; they never call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display is assumed

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["fan_chart"]


def fan_chart(ds: xr.Dataset, *, ax: Axes | None = None, n_paths: int = 8, seed: int = 0) -> Figure:
    """Median, 50% and 95% bands of log10 compute over time, sample paths and anchors.

    Parameters
    ----------
    ds
        A result cube (``log10_compute`` (path, time) [log10 FLOP], ``anchor_log10_flop``).
    ax
        Axes to draw on; a new figure is made when omitted.
    n_paths
        How many individual paths to draw (chosen at random with ``seed``).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    t = ds["time"].values
    c = ds["log10_compute"].values
    q = np.quantile(c, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
    ax.fill_between(t, q[0], q[4], color="tab:blue", alpha=0.18, lw=0, label="95% band")
    ax.fill_between(t, q[1], q[3], color="tab:blue", alpha=0.35, lw=0, label="50% band")
    rng = np.random.default_rng(seed)
    for k, j in enumerate(rng.choice(c.shape[0], size=min(n_paths, c.shape[0]), replace=False)):
        ax.plot(t, c[j], color="0.35", lw=0.6, alpha=0.7, label="sample paths" if k == 0 else None)
    ax.plot(t, q[2], color="tab:blue", lw=2, label="median")
    levels = ds["anchor_log10_flop"].values
    span = float(max(q[4].max(), levels.max()) - min(q[0].min(), levels.min())) or 1.0
    last_right = -np.inf
    for name, level in sorted(zip(ds["anchor"].values, levels, strict=True), key=lambda p: p[1]):
        ax.axhline(level, color="tab:red", lw=0.8, ls="--", alpha=0.8)
        # Labels of anchors closer than ~3% of the axis go to the left edge instead.
        right = level - last_right > 0.03 * span
        if right:
            last_right = level
        ax.annotate(
            f"{name} ($10^{{{level:g}}}$)",
            (t[-1] if right else t[0], level),
            xytext=(-4 if right else 4, 2),
            textcoords="offset points",
            ha="right" if right else "left",
            va="bottom",
            fontsize=8,
            color="tab:red",
        )
    a = ds.attrs
    ax.set_title(
        f"{a.get('scenario_name', '')}: training compute of the largest system "
        f"({a.get('paths', c.shape[0])} paths)",
        fontsize=11,
    )
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute [FLOP]")
    ax.set_xlim(t[0], t[-1])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig
