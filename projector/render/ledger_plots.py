"""The ledger's figure: published largest-run forecasts against the realised frontier.

Dependency direction: ``plots`` -> ``ledger_plots``; like the other figures it takes the
study's result and returns a matplotlib Figure built without pyplot (the ``plot`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from projector.dates import decimal_year
from projector.render.plots import _subplots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ledger_figure"]

_HINDCAST_STYLE = {"epoch-2022": ("#ff7f0e", "s"), "calibrated": ("#2ca02c", "D")}


def ledger_figure(s: Any, /, *, until: float = 2031.0) -> Figure:
    """The realised frontier (step line; dotted where it is a lower bound) with each
    largest-run forecast whose target is at most ``until``: its point and interval at its
    target date (filled when resolved), and beside it each scenario's hindcast from the
    forecast's date (median and 95% interval, shifted a little to the right)."""
    fig, ax = _subplots(1, 1, figsize=(10.5, 5.5))
    ok = np.isfinite(s.frontier_values)
    ax.step(s.frontier_years[ok], s.frontier_values[ok], where="post", color="black", lw=1.4,
            label="realised frontier (bundled systems)")  # fmt: skip
    by_id = {f.id: f for f in s.forecasts}
    rows = [r for r in s.rows if r["target_quantity"] == "largest_run"]
    rows = [r for r in rows if decimal_year(by_id[r["id"]].target_date) <= until]
    labelled: set[str] = set()
    for k, r in enumerate(rows):
        f = by_id[r["id"]]
        t = decimal_year(f.target_date) + 0.06 * (k % 3)
        mid = f.point
        lo, hi = (f.low, f.high) if f.kind == "interval" else (np.nan, np.nan)
        resolved = r["status"] not in ("unresolved", "not scored")
        label = "published forecast (filled: resolved)" if "f" not in labelled else None
        labelled.add("f")
        if np.isfinite(lo):
            ax.vlines(t, lo, hi, color="#1f77b4", lw=2.0)
        ax.plot([t], [mid], "o", color="#1f77b4", mfc="#1f77b4" if resolved else "white",
                ms=7, label=label)  # fmt: skip
        ax.annotate(f.id, (t, mid), xytext=(5, -3), textcoords="offset points", fontsize=7)
        for j, name in enumerate(s.scenarios):
            med = r.get(f"{name}_median", "")
            if med == "":
                continue
            color, marker = _HINDCAST_STYLE.get(name, ("#7f7f7f", "^"))
            th = t + 0.15 * (j + 1)
            ax.vlines(th, r[f"{name}_q025"], r[f"{name}_q975"], color=color, lw=1.2, alpha=0.8)
            label = None if name in labelled else f"{name} hindcast from the forecast's date"
            ax.plot([th], [med], marker, color=color, ms=5, label=label)
            labelled.add(name)
        if resolved and r["realised"] != "":
            ax.plot([decimal_year(f.target_date)], [r["realised"]], "*", color="crimson", ms=11,
                    label="realised (a lower bound where marked >= in ledger.md)"
                    if "r" not in labelled else None)  # fmt: skip
            labelled.add("r")
    ax.set_xlim(2019, until + 0.8)
    ax.set_ylim(bottom=23.0)
    ax.set_xlabel("year")
    ax.set_ylabel("log10 training compute of the largest run [FLOP]")
    ax.set_title("Published forecasts of the largest training run, and projector's hindcasts")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig
