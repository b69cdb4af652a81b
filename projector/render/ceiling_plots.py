"""The ceilings figure: the fan chart under the ceiling bands, P(bound) by constraint, and
the year growth slows.

Dependency direction: ``ceiling_summary`` -> ``ceiling_plots`` -> ``folders`` (written as
``ceilings.png`` beside the fan chart of a run with ceilings). Built like ``plots``:
matplotlib Figures without pyplot.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from projector.render.plots import _subplots

__all__ = ["ceilings_chart"]

_COLORS = {"power": "tab:red", "chips": "tab:green", "money": "tab:orange", "data": "tab:purple"}


def ceilings_chart(ds: xr.Dataset, summary: xr.Dataset) -> object:
    """Three panels from a run with ceilings and its summary (``summarize``)."""
    fig, (ax, bx, cx) = _subplots(1, 3, figsize=(15, 5), layout="constrained")
    years = summary["year"].values
    q = summary["compute_quantile"].sel(quantile=[0.025, 0.25, 0.5, 0.75, 0.975]).values.T
    ax.fill_between(years, q[0], q[4], color="tab:blue", alpha=0.18, lw=0, label="95% band")
    ax.fill_between(years, q[1], q[3], color="tab:blue", alpha=0.35, lw=0, label="50% band")
    ax.plot(years, q[2], color="tab:blue", lw=2, label="median")
    cq = summary["ceiling_quantile"]
    lo, hi = float(cq["quantile"].min()), float(cq["quantile"].max())
    for name in (str(c) for c in summary["constraint"].values):
        c = cq.sel(constraint=name)
        color = _COLORS.get(name, "0.4")
        ax.plot(years, c.sel(quantile=0.5), color=color, lw=1.3, ls="--", label=f"{name} ceiling")
        ax.fill_between(years, c.sel(quantile=lo), c.sel(quantile=hi), color=color, alpha=0.08,
                        lw=0)  # fmt: skip
    top = float(np.nanmax(q[4])) + 1
    ax.set_ylim(float(np.nanmin(q[0])) - 0.5, top)
    mode = ds.attrs.get("ceiling_mode", "")
    ax.set_title(f"{ds.attrs.get('scenario_name', '')} (ceilings: {mode})", fontsize=10)
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute of the largest notable system [FLOP]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    bound = summary["p_bound"]
    base = np.zeros(len(years))
    for name in (str(c) for c in summary["constraint"].values):
        v = bound.sel(constraint=name).values
        bx.fill_between(years, base, base + v, color=_COLORS.get(name, "0.4"), alpha=0.6,
                        lw=0, label=name)  # fmt: skip
        base = base + v
    bx.set_ylim(0, 1)
    bx.set_xlabel("year")
    bx.set_ylabel("share of paths held at a ceiling, by the binding one")
    bx.set_title("Which constraint binds", fontsize=10)
    bx.grid(alpha=0.3)
    bx.legend(fontsize=7, loc="upper left")
    reached = np.asarray(ds["ceiling_reached_year"].values, dtype=np.float64)
    first = np.where(np.isnan(reached), np.inf, reached).min(axis=1)
    finite = first[np.isfinite(first)]
    if finite.size:
        cx.hist(finite, bins=60, color="0.4")
    never = 100 * (1 - finite.size / max(1, first.size))
    cx.set_title(f"Year a path first reaches a ceiling ({never:.0f}% never)", fontsize=10)
    cx.set_xlabel("year (growth slows there under 'saturate')")
    cx.set_ylabel("paths")
    cx.grid(alpha=0.3)
    return fig
