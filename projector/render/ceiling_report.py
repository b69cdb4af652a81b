"""The ceilings' part of a summary, as Markdown and as rows of ``summary.csv``.

Dependency direction: ``ceiling_summary`` -> ``ceiling_report`` -> ``report``. Rendered
only for a summary with ceilings (``p_bound`` in it): a run without them reports as
before.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import xarray as xr

__all__ = ["ceilings_csv", "ceilings_markdown", "has_ceilings"]

_PROBABILITIES = ("p_above_ceiling", "p_reached_ceiling", "p_binding", "p_bound")
_MEANING = {
    "report": "paths as the scenario makes them; the table says how much of them no "
    "constraint allows",
    "clip": "no path exceeds its ceiling",
    "saturate": "each path grows at its Deep-Learning rate and slows smoothly onto its "
    "ceiling (no reversion story)",
}


def has_ceilings(s: xr.Dataset) -> bool:
    return "p_bound" in s


def _years(s: xr.Dataset) -> list[float]:
    years = set(s["year"].values.tolist())
    return [float(y) for y in np.atleast_1d(s.attrs["report_years"]) if float(y) in years]


def _year(v: float) -> str:
    return "never" if math.isinf(v) else f"{v:.1f}"


def ceilings_markdown(s: xr.Dataset, section: str) -> list[str]:
    """Lines of the ceilings section (``section``: the heading's hashes)."""
    a = s.attrs
    qs = s["quantile"].values
    lo, hi = float(qs.min()), float(qs.max())
    mode = str(a.get("ceiling_mode", "report"))
    names = [str(c) for c in s["constraint"].values]
    lines = [
        "",
        f"{section} Ceilings on one training run (ceilings.mode = '{mode}': "
        f"{_MEANING.get(mode, mode)})",
        "",
        f"Constraints table {a.get('ceiling_table_file', '?')} (sha256 "
        f"{str(a.get('ceiling_table_sha256', ''))[:12]}); draws correlated at "
        f"{float(a.get('ceiling_correlation', 0)):g}. P(above): the path is above the "
        "ceiling; P(reached): the path before its ceilings reached it by the year; "
        "P(binding): it is the path's lowest ceiling; P(bound): the path has reached a "
        "ceiling and this one binds. Ceilings in log10 FLOP "
        f"({100 * lo:g}% / median / {100 * hi:g}%; ceiling quantiles from "
        f"{int(a.get('ceiling_quantile_paths', 0)):,} paths).",
        "",
        f"| year | ceiling | {100 * lo:g}% | median | {100 * hi:g}% | P(above) | P(reached) "
        "| P(binding) | P(bound) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for y in _years(s):
        for c in names:
            q = s["ceiling_quantile"].sel(constraint=c, year=y)
            cells = [f"{float(q.sel(quantile=v)):.2f}" for v in (lo, 0.5, hi)]
            if not np.isfinite(float(q.sel(quantile=0.5))):
                cells = ["not modelled"] * 3
            probs = [f"{float(s[p].sel(constraint=c, year=y)):.2f}" for p in _PROBABILITIES]
            lines.append(f"| {y:g} | {c} | " + " | ".join(cells + probs) + " |")
    first = s["p_first_reached"]
    shares = ", ".join(
        f"{k!s} {100 * float(first.sel(first=k)):.0f}%" for k in first["first"].values
    )
    slow = s["slow_year_quantile"]
    med, low, high = (_year(float(slow.sel(quantile=v))) for v in (0.5, lo, hi))
    lines += [
        "",
        f"The ceiling a path reaches first: {shares} (none: not within the horizon). "
        f"The year it does (growth slows there under 'saturate'): median {med}, "
        f"{100 * lo:g}% {low}, {100 * hi:g}% {high}. "
        f"{100 * float(s['p_start_at_ceiling']):.1f}% of paths start at or above a ceiling "
        "(a drawn ceiling below the record already set, C(s)); the record holds them at C(s).",
    ]
    return lines


def ceilings_csv(s: xr.Dataset, row: Callable[..., None]) -> None:
    """The ceilings' figures as ``summary.csv`` rows (section ``ceiling``)."""
    names = [str(c) for c in s["constraint"].values]
    qs = [float(q) for q in s["quantile"].values]
    for c in names:
        for y in _years(s):
            for q in qs:
                v = float(s["ceiling_quantile"].sel(constraint=c, year=y, quantile=q))
                row("ceiling", c, f"{y:g}", f"log10_ceiling_q{q:g}", v, None, None)
            for p in _PROBABILITIES:
                v = float(s[p].sel(constraint=c, year=y))
                m = float(s[f"{p}_mcse"].sel(constraint=c, year=y))
                row("ceiling", c, f"{y:g}", p, v, m, "p_crossed")
    for k in s["first"].values:
        v = float(s["p_first_reached"].sel(first=k))
        row("ceiling", str(k), "", "p_first_reached", v, None, None)
    for q in qs:
        v = float(s["slow_year_quantile"].sel(quantile=q))
        row("ceiling", "any", "", f"slow_year_q{q:g}", v, None, None)
    row("ceiling", "any", "", "p_start_at_ceiling", float(s["p_start_at_ceiling"]), None, None)
