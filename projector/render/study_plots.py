"""Figures of studies: the Three Eras trends, backtests, sensitivity and comparisons.

Dependency direction: ``plots`` -> ``study_plots``; as there, each function takes the
study's result (a Dataset or the study object) and returns a matplotlib Figure built
without pyplot, and matplotlib is the ``plot`` extra.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from projector.extras import require
from projector.inputs.systems import decimal_year
from projector.render.plots import _anchor_lines, _cmap, _subplots

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["backtest_figure", "compare_overlay", "sensitivity_figure", "trends_figure"]


_CLASS_STYLE = {
    0: ("low outlier", "#bbbbbb", "x"),
    1: ("regular scale", "#1f77b4", "o"),
    2: ("large scale", "#d62728", "D"),
}


_PRE_DL_COLOR = "#2ca02c"


_FIG1_WINDOWS = {"compute": ("pre-dl", "dl-regular", "large-scale"),
                 "parameters": ("params-pre-dl", "params-dl-all")}  # fmt: skip


def trends_figure(
    ds: xr.Dataset,
    *,
    quantity: str = "compute",
    windows: tuple[str, ...] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Systems against publication date on a log axis, with fitted lines and 95% bands.

    The Three Eras paper's Figure 1 for a ``projector trends`` Dataset: points coloured
    by era (pre-Deep-Learning in green) and scale class; for each window, the OLS line
    and the 2.5-97.5% band of the bootstrap lines.

    Parameters
    ----------
    ds
        From :func:`projector.model.trends_cube.trends_to_dataset`.
    quantity
        ``compute`` (log10 FLOP) or ``parameters``.
    windows
        Window names to draw; by default the paper's (pre-dl, dl-regular, large-scale).
    """
    if quantity not in _FIG1_WINDOWS:
        raise ValueError(f"quantity must be compute or parameters, got {quantity!r}")
    if ax is None:
        fig, ax = _subplots(figsize=(10, 6), layout="constrained")
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    year = ds["publication_year"].values
    value = ds["log10_compute" if quantity == "compute" else "log10_parameters"].values
    cls = ds["scale_class"].values
    pre = year < 2010
    ax.scatter(year[pre], value[pre], s=14, c=_PRE_DL_COLOR, marker="o", alpha=0.8,
               label="pre-Deep-Learning era")  # fmt: skip
    for code, (label, color, marker) in _CLASS_STYLE.items():
        m = (~pre) & (cls == code)
        if m.any():
            ax.scatter(year[m], value[m], s=16, c=color, marker=marker, alpha=0.75,
                       label=f"Deep-Learning era, {label}")  # fmt: skip
    names = [str(w) for w in ds["window"].values]
    palette = ("#2ca02c", "#1f77b4", "#d62728", "#9467bd", "#ff7f0e", "#8c564b")
    for k, name in enumerate(windows or _FIG1_WINDOWS[quantity]):
        if name not in names:
            continue
        w = ds.sel(window=name)
        if not np.isfinite(float(w["slope_oom_per_year"])):
            continue
        t = np.linspace(float(w["fit_first_year"]), float(w["fit_last_year"]), 60)
        lines = w["boot_intercept"].values[:, None] + w["boot_slope"].values[:, None] * t
        lo, hi = np.nanquantile(lines, [0.025, 0.975], axis=0)
        fitted = float(w["intercept"]) + float(w["slope_oom_per_year"]) * t
        color = palette[k % len(palette)]
        ax.fill_between(t, lo, hi, color=color, alpha=0.15, lw=0)
        ax.plot(t, fitted, color=color, lw=2,
                label=f"{name}: {float(w['doubling_months']):.1f}-month doubling "
                f"(n={int(w['n'])})")  # fmt: skip
    unit = "training compute [FLOP]" if quantity == "compute" else "trainable parameters"
    ax.set_ylabel(f"log10 {unit}")
    ax.set_xlabel("publication date")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    what = "Training compute" if quantity == "compute" else "Parameters"
    label = str(ds.attrs.get("dataset", "")).split("/")[-1]
    ax.set_title(f"{what} of milestone ML systems ({label})")
    return fig


def backtest_figure(bt: Any, *, method: str | None = None) -> Figure:
    """The realised frontier with each cut-off's projected bands, and PIT histograms.

    Left: the truth's frontier (step line) and, for ``method`` (default: the
    scenario), the median, 50% and 95% bands projected from each cut-off at each
    horizon. Right: histograms of the PIT values of every method (a calibrated
    forecast is flat).
    """
    method = method or bt.scenario.name
    fig, (ax, ax_pit) = _subplots(1, 2, figsize=(12.5, 5.0), gridspec_kw={"width_ratios": [2.2, 1]})
    ok = np.isfinite(bt.frontier_values)
    ax.step(
        bt.frontier_years[ok],
        bt.frontier_values[ok],
        where="post",
        color="black",
        lw=1.4,
        label="realised frontier",
    )
    band = getattr(bt, "frontier_band", None)
    if band is not None:  # an uncertain truth: where 90% of its draws put the frontier
        ok = np.isfinite(band[0])
        years, lo, hi = bt.frontier_years[ok], band[0][ok], band[1][ok]
        ax.fill_between(years, lo, hi, step="post", color="black", alpha=0.15, lw=0,
                        label="90% of the truth draws")  # fmt: skip
        for edge in (lo, hi):  # the edges stay visible over the projected bands
            ax.step(years, edge, where="post", color="black", lw=0.7, ls=":", zorder=3)
    rows = [r for r in bt.rows if r["method"] == method]
    cutoffs = sorted({r["cutoff"] for r in rows})
    cmap = _cmap("viridis")
    for k, c in enumerate(cutoffs):
        mine = sorted((r for r in rows if r["cutoff"] == c), key=lambda r: r["horizon"])
        year0 = decimal_year(dt.date.fromisoformat(c))
        x = np.array([year0] + [year0 + r["horizon"] for r in mine])
        start = mine[0]["frontier_at_cutoff"]
        color = cmap(k / max(1, len(cutoffs) - 1))
        lo95 = [start] + [r["q025"] for r in mine]
        hi95 = [start] + [r["q975"] for r in mine]
        lo50 = [start] + [r["q25"] for r in mine]
        hi50 = [start] + [r["q75"] for r in mine]
        ax.fill_between(x, lo95, hi95, color=color, alpha=0.12, lw=0)
        ax.fill_between(x, lo50, hi50, color=color, alpha=0.25, lw=0)
        ax.plot(x, [start] + [r["median"] for r in mine], color=color, lw=1.0)
    if cutoffs:  # the colour of each cut-off's bands, from the first to the last
        first, last = (decimal_year(dt.date.fromisoformat(c)) for c in (cutoffs[0], cutoffs[-1]))
        colors = require("matplotlib.colors", "plot", "plots")
        cm = require("matplotlib.cm", "plot", "plots")
        norm = colors.Normalize(vmin=first, vmax=max(last, first + 1e-6))
        bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01)
        bar.set_label(f"cut-off ({len(cutoffs)}: {cutoffs[0]} to {cutoffs[-1]})")
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute of the largest notable system [FLOP]")
    ax.set_title(f"{method}: projected bands (50%, 95%) from each cut-off")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    bins = np.linspace(0, 1, 11)
    hists = getattr(bt, "pit_hists", None)
    for m in bt.methods:
        lw = 1.6 if m == method else 1.0
        if hists:  # an uncertain truth: expected cases per bin, over the truth draws
            mine = [v for (mm, _, _), v in hists.items() if mm == m]
            counts = np.sum(mine, axis=0) if mine else np.zeros(bins.size - 1)
            ax_pit.stairs(counts, bins, lw=lw, label=m)
            continue
        pit = [r["pit"] for r in bt.rows if r["method"] == m]
        ax_pit.hist(pit, bins=bins, histtype="step", lw=lw, label=m)
    n = len([r for r in bt.rows if r["method"] == method])
    ax_pit.axhline(n / 10, color="grey", ls=":", lw=1, label="uniform: what calibration looks like")
    ax_pit.set_xlabel("PIT (fraction of the ensemble below reality)")
    ax_pit.set_ylabel("cases")
    ax_pit.set_title("PIT histogram")
    ax_pit.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def sensitivity_figure(sens: Any, *, outputs: list[str] | None = None) -> Figure:
    """Ranked bars of each key's index (Sobol ST with S1 inside, or Morris mu*), per output.

    ``outputs`` defaults to log10 compute at the first and last report years and the
    median crossing of the anchors with weights (or all anchors), at most six panels.
    """
    names = list(sens.results)
    if outputs is None:
        years = [n for n in names if n.startswith("log10_compute@")]
        crossings = [n for n in names if n.startswith("crossing_median:")]
        outputs = [*years[:1], *years[-1:], *crossings][:6]
    n = len(outputs)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = _subplots(
        rows, cols, figsize=(4.4 * cols, 0.9 + 0.45 * len(sens.factors) * rows + 1.2 * rows),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for ax, output in zip(axes.ravel(), outputs, strict=False):
        mine = [r for r in sens.rows if r["output"] == output]
        if sens.method == "sobol":
            mine.sort(key=lambda r: r["ST"])
            y = np.arange(len(mine))
            ax.barh(y, [r["ST"] for r in mine], xerr=[r["ST_conf"] for r in mine],
                    color="tab:blue", alpha=0.45, label="ST (total)")  # fmt: skip
            ax.barh(y, [r["S1"] for r in mine], height=0.45, color="tab:blue", label="S1 (alone)")
            ax.set_xlim(0, 1.05)
        else:
            mine.sort(key=lambda r: r["mu_star"])
            y = np.arange(len(mine))
            ax.barh(y, [r["mu_star"] for r in mine], xerr=[r["mu_star_conf"] for r in mine],
                    color="tab:blue", label="mu*")  # fmt: skip
        ax.set_yticks(y, [r["key"] for r in mine], fontsize=8)
        ax.set_title(output, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{sens.scenario.name}: which keys drive the outputs ({sens.method})", fontsize=11)
    return fig


def compare_overlay(
    summaries: list[xr.Dataset], names: list[str], *, ax: Axes | None = None
) -> Figure:
    """Medians and 95% bands of several results on one axis; the anchors drawn once.

    ``summaries`` are outputs of :func:`projector.model.summary.summarize` (their yearly grid);
    ``names`` label them in the one legend.
    """
    if ax is None:
        fig, ax = _subplots(figsize=(9.5, 5.5), layout="constrained")
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    colors = _cmap("tab10")(np.arange(len(summaries)) % 10)
    lo_all, hi_all, t_min, t_max = np.inf, -np.inf, np.inf, -np.inf
    for s, name, color in zip(summaries, names, colors, strict=True):
        t = s["year"].values
        q = s["compute_quantile"].sel(quantile=[0.025, 0.5, 0.975]).values
        ax.fill_between(t, q[:, 0], q[:, 2], color=color, alpha=0.13, lw=0)
        ax.plot(t, q[:, 0], color=color, lw=0.8, ls="--")
        ax.plot(t, q[:, 2], color=color, lw=0.8, ls="--")
        ax.plot(t, q[:, 1], color=color, lw=2.2, label=f"{name}: median, 95% band")
        lo_all, hi_all = min(lo_all, np.nanmin(q)), max(hi_all, np.nanmax(q))
        t_min, t_max = min(t_min, t[0]), max(t_max, t[-1])
    levels = summaries[0]["anchor_log10_flop"].values
    anchors = [str(a) for a in summaries[0]["anchor"].values]
    _anchor_lines(ax, anchors, levels, lo_all, hi_all)
    ax.set_xlim(t_min, t_max)
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute of the largest notable system [FLOP]")
    ax.set_title("comparison: " + " vs ".join(names), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig
