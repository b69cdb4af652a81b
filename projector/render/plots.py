"""Figures from result cubes. The only module that imports matplotlib.

Dependency direction: ``results`` -> ``plots``; functions take a Dataset and an
optional ``ax`` and return the Figure; they never call ``plt.show()``.

Figures are built as :class:`matplotlib.figure.Figure` objects, never through pyplot:
no backend is switched and no global figure list is touched, and ``savefig`` to PNG
works headless. matplotlib is the ``plot`` extra (:func:`projector.extras.require`),
imported when the first figure is made.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from projector.extras import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = [
    "close",
    "crossing_histograms",
    "crossing_probability",
    "fan_chart",
    "rate_distributions",
    "reversion_prior",
]


def _subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    figsize: tuple[float, float],
    layout: str | None = None,
    **kwargs: Any,
) -> tuple[Figure, Any]:
    """A new Figure and its axes, as ``plt.subplots`` makes them but without pyplot."""
    fig = require("matplotlib.figure", "plot", "plots").Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _cmap(name: str) -> Colormap:
    return require("matplotlib", "plot", "plots").colormaps[name]


def fan_chart(
    ds: xr.Dataset,
    *,
    ax: Axes | None = None,
    n_paths: int = 8,
    seed: int = 0,
    summary: xr.Dataset | None = None,
    history: bool = True,
    history_years: float = 15.0,
) -> Figure:
    """Median, 50% and 95% bands of log10 compute over time, sample paths and anchors,
    with the historical systems and their frontier drawn before the start.

    Anchor labels sit in the right margin, kept apart (see :func:`_anchor_lines`).

    Parameters
    ----------
    ds
        A result (``log10_compute`` (path, time) [log10 FLOP], ``anchor_log10_flop``):
        an in-memory cube, a streamed store or an older NetCDF cube.
    ax
        Axes to draw on; a new figure is made when omitted.
    n_paths
        How many individual paths to draw (chosen at random with ``seed`` among the
        kept full paths).
    summary
        The result's :func:`projector.model.summary.summarize`; when every full path is not
        at hand (a store keeping a sample), the bands are drawn from it on the yearly
        grid (computed when not given).
    """
    if ax is None:
        fig, ax = _subplots(figsize=(9, 5.5), layout="constrained")
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    n = int(ds.sizes["path"])
    keep = int(ds.attrs.get("paths_kept", n)) if "log10_compute" in ds else 0
    if keep == n:
        t = ds["time"].values
        c = ds["log10_compute"].values
        q = np.quantile(c, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
        sample_t, sample = t, c
    else:
        if summary is None:
            from projector.model.summary import summarize

            summary = summarize(ds)
        t = summary["year"].values
        q = summary["compute_quantile"].sel(quantile=[0.025, 0.25, 0.5, 0.75, 0.975]).values.T
        sample_t = ds["time"].values if keep else t
        sample = ds["log10_compute"][:keep].values if keep else np.empty((0, len(t)))
    ax.fill_between(t, q[0], q[4], color="tab:blue", alpha=0.18, lw=0, label="95% band")
    ax.fill_between(t, q[1], q[3], color="tab:blue", alpha=0.35, lw=0, label="50% band")
    rng = np.random.default_rng(seed)
    picks = rng.choice(sample.shape[0], size=min(n_paths, sample.shape[0]), replace=False)
    for k, j in enumerate(picks):
        ax.plot(sample_t, sample[j], color="0.35", lw=0.6, alpha=0.7,
                label="sample paths" if k == 0 else None)  # fmt: skip
    ax.plot(t, q[2], color="tab:blue", lw=2, label="median")
    levels = ds["anchor_log10_flop"].values
    t_first = t[0]
    if history and "system_year" in ds:
        t_first = _draw_history(ax, ds, float(t[0]), years=history_years)
    names = [str(x) for x in ds["anchor"].values]
    _anchor_lines(ax, names, levels, float(np.nanmin(q)), float(np.nanmax(q)))
    a = ds.attrs
    ax.set_title(
        f"{a.get('scenario_name', '')}: training compute of the largest notable system "
        f"({a.get('paths', n)} paths)",
        fontsize=11,
    )
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute [FLOP]")
    ax.set_xlim(t_first, t[-1])
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def _draw_history(ax: Axes, ds: xr.Dataset, start: float, *, years: float) -> float:
    """The systems the run was fitted on and their frontier (a step line) before the start.

    Returns the first year drawn.
    """
    year = np.asarray(ds["system_year"].values, dtype=np.float64)
    logc = np.asarray(ds["system_log10_compute"].values, dtype=np.float64)
    first = start - years
    shown = year >= first
    ax.scatter(year[shown], logc[shown], s=7, color="0.55", alpha=0.6, lw=0, zorder=1,
               label="systems (the data)")  # fmt: skip
    order = np.argsort(year)
    best = np.maximum.accumulate(logc[order])
    keep = year[order] >= first
    xs = np.append(year[order][keep], start)
    ys = np.append(best[keep], best[-1])
    if xs.size:
        ax.step(xs, ys, where="post", color="black", lw=1.2, zorder=2, label="frontier")
    ax.axvline(start, color="0.3", lw=0.8, ls=":")
    return first


def close(fig: Figure) -> None:
    """Release a figure's memory once it is saved."""
    plt = sys.modules.get("matplotlib.pyplot")  # a caller's pyplot figure; never imported
    if plt is not None:
        plt.close(fig)


def _crossing_cdf(ds: xr.Dataset, years: np.ndarray) -> np.ndarray:
    """P(crossed by year) per anchor: (anchor, year), from ``crossing_year`` (NaN = never)."""
    cross = np.asarray(ds["crossing_year"].values, dtype=np.float64)
    cross = np.where(np.isnan(cross), np.inf, cross)
    return np.stack([np.mean(cross[:, a][:, None] <= years[None, :], axis=0)
                     for a in range(cross.shape[1])])  # fmt: skip


def _anchor_colors(n: int) -> list[Any]:
    cmap = _cmap("plasma")
    return [cmap(0.08 + 0.8 * k / max(1, n - 1)) for k in range(n)]


def crossing_probability(ds: xr.Dataset, *, ax: Axes | None = None) -> Figure:
    """P(the largest notable system has crossed each anchor by year t), one curve per anchor.

    When the anchors carry weights (``anchor_weight``), the weight-combined curve
    ``sum_a w_a P_a(t)`` is drawn too: the probability, under those beliefs in the
    hypotheses, that the threshold of the right one has been crossed.
    """
    if ax is None:
        fig, ax = _subplots(figsize=(9, 5.2), layout="constrained")
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    t0, t1 = float(ds.attrs.get("start_year", 2020)), float(ds.attrs.get("end_year", 2100))
    years = np.linspace(t0, t1, 400)
    p = _crossing_cdf(ds, years)
    names = [str(a) for a in ds["anchor"].values]
    levels = ds["anchor_log10_flop"].values
    for k, (name, level, color) in enumerate(zip(names, levels, _anchor_colors(len(names)),
                                                 strict=True)):  # fmt: skip
        ax.plot(years, p[k], color=color, lw=1.4, label=f"{name} ($10^{{{level:g}}}$)")
    if "anchor_weight" in ds and np.all(np.isfinite(ds["anchor_weight"].values)):
        w = ds["anchor_weight"].values
        ax.plot(
            years, w @ p, color="black", lw=2.4, ls="--", label="weighted by the anchors' weights"
        )
    ax.set_ylim(0, 1.01)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("year")
    ax.set_ylabel("P(crossed by year)")
    ax.set_title(f"{ds.attrs.get('scenario_name', '')}: probability of having crossed each anchor",
                 fontsize=11)  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def crossing_histograms(ds: xr.Dataset) -> Figure:
    """Histogram of the first-crossing year of each anchor; the share never crossing noted."""
    names = [str(a) for a in ds["anchor"].values]
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = _subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False,
                             layout="constrained", sharex=True)  # fmt: skip
    cross = np.asarray(ds["crossing_year"].values, dtype=np.float64)
    t0, t1 = float(ds.attrs.get("start_year", 2020)), float(ds.attrs.get("end_year", 2100))
    bins = np.linspace(t0, t1, 60)
    for k, (ax, name, color) in enumerate(zip(axes.ravel(), names, _anchor_colors(len(names)),
                                               strict=False)):  # fmt: skip
        x = cross[:, k]
        never = np.isnan(x)
        ax.hist(x[~never], bins=bins, color=color, alpha=0.85)
        ax.set_title(name, fontsize=9)
        if never.any():
            ax.text(0.98, 0.95, f"never by {t1:g}: {never.mean():.0%}", ha="right", va="top",
                    transform=ax.transAxes, fontsize=8)  # fmt: skip
        if (~never).any():
            ax.axvline(np.median(np.where(never, np.inf, x)) if never.mean() < 0.5 else t1,
                       color="black", lw=1, ls=":")  # fmt: skip
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    fig.supxlabel("first-crossing year (dotted: median)", fontsize=9)
    fig.suptitle(f"{ds.attrs.get('scenario_name', '')}: when each anchor is first crossed",
                 fontsize=11)  # fmt: skip
    return fig


def reversion_prior(ds: xr.Dataset) -> Figure:
    """The reversion-date prior (each component's density, weighted) and the dates drawn;
    and the weight on the Deep-Learning rate, w(t), for the 10%, 50% and 90% dates."""
    import json

    from projector.inputs.reversion import FAMILIES, calendar_params
    from projector.model import twins
    from projector.model.kernels import SHAPE_CODES

    scen = json.loads(ds.attrs["scenario_resolved"])
    s = float(ds.attrs["start_year"])
    t1 = float(ds.attrs.get("end_year", s + 80))
    fig, (ax, ax_w) = _subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    x = np.linspace(s - 15, min(t1, s + 60), 600)
    drawn = np.asarray(ds["reversion_year"].values, dtype=np.float64)
    comp = np.asarray(ds["reversion_component"].values)
    names = [c["name"] for c in scen["reversion"]]
    colors = _cmap("tab10")(np.arange(len(names)))
    bins = np.linspace(x[0], x[-1], 80)
    ax.hist([drawn[comp == k] for k in range(len(names))], bins=bins, stacked=True,
            density=False, color=colors, alpha=0.35,
            weights=[np.full((comp == k).sum(), 1.0 / (drawn.size * (bins[1] - bins[0])))
                     for k in range(len(names))],
            label=[f"{n}: drawn" for n in names])  # fmt: skip
    for k, c in enumerate(scen["reversion"]):
        fam = FAMILIES[c["distribution"]]
        values = [v for _, v in c["params"]]  # [[key, value], ...] in the resolved scenario
        params = calendar_params(fam.name, c.get("relative_to"), values, s)
        w = c["weight"]
        if fam.pdf is None:  # a point mass
            ax.axvline(params[0], color=colors[k], lw=2, label=f"{c['name']}: point")
            continue
        dens = fam.pdf(x, params, s)
        ax.plot(x, w * dens, color=colors[k], lw=1.6, label=f"{c['name']}: prior x {w:g}")
    ax.axvline(s, color="black", lw=1, ls="--", label="start")
    policy = ds.attrs.get("reversion_before_start", "mirror")
    ax.set_title(f"reversion date R: prior and draws (before the start: {policy})", fontsize=10)
    ax.set_xlabel("year")
    ax.set_ylabel("density [1/year]")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    shape = str(ds.attrs.get("weight_shape", "gaussian"))
    width = float(ds.attrs.get("logistic_width_years", 2.0))
    t = np.linspace(s, min(t1, s + 60), 400)
    dates = np.quantile(drawn, [0.1, 0.5, 0.9])
    out = np.empty((3, t.size))
    twins.weights(t, s, dates, SHAPE_CODES[shape], width, out)
    for d, row, q in zip(dates, out, ("10%", "50%", "90%"), strict=True):
        ax_w.plot(t, row, lw=1.6, label=f"R = {d:.1f} ({q} of draws)")
    ax_w.set_ylim(-0.02, 1.02)
    ax_w.set_title(f"w(t), the weight on the Deep-Learning rate ({shape})", fontsize=10)
    ax_w.set_xlabel("year")
    ax_w.legend(fontsize=8)
    ax_w.grid(alpha=0.3)
    return fig


def rate_distributions(ds: xr.Dataset) -> Figure:
    """Bootstrap distributions of the growth rates [OOM/year], with doubling times."""
    names = [n for n in ("growth_dl", "growth_pre_dl", "growth_moore") if n in ds]
    fig, axes = _subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax, name in zip(axes.ravel(), names, strict=True):
        v = np.asarray(ds[name].values, dtype=np.float64)
        ax.hist(v, bins=60, color="tab:blue", alpha=0.8)
        q = np.quantile(v, [0.025, 0.5, 0.975])
        for x, ls in zip(q, (":", "-", ":"), strict=True):
            ax.axvline(x, color="black", lw=1, ls=ls)
        months = 12 * np.log10(2) / q[1] if q[1] > 0 else np.inf
        ax.set_title(f"{ds[name].attrs.get('long_name', name)}", fontsize=8)
        ax.set_xlabel(f"{name} [OOM/year]; median {q[1]:.3f} (doubling {months:.1f} months)",
                      fontsize=8)  # fmt: skip
        ax.tick_params(labelsize=8)
    return fig


def _anchor_lines(ax: Axes, names: list[str], levels: np.ndarray, lo: float, hi: float) -> None:
    """Dashed anchor lines, labelled in the right margin with labels kept apart.

    Labels sit outside the axes (no collision with the bands or the median); when two
    anchors are closer than a label's height the later label moves up, with a thin
    leader to its line.
    """
    order = np.argsort(levels)
    span = float(max(hi, levels.max()) - min(lo, levels.min())) or 1.0
    gap = 0.045 * span
    placed = -np.inf
    for k in order:
        level = float(levels[k])
        ax.axhline(level, color="tab:red", lw=0.8, ls="--", alpha=0.7)
        y = max(level, placed + gap)
        placed = y
        ax.annotate(
            f"{names[k]} ($10^{{{level:g}}}$)",
            xy=(1.0, level),
            xycoords=("axes fraction", "data"),
            xytext=(1.015, y),
            textcoords=("axes fraction", "data"),
            va="center",
            ha="left",
            fontsize=8,
            color="tab:red",
            annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": "tab:red", "lw": 0.5} if y != level else None,
        )
