"""Reports: Markdown and CSV rendered from Datasets only.

Dependency direction: ``summary`` and ``cube`` -> ``report`` -> ``cli``. Any report
can be rebuilt from a stored result: ``summary_markdown(summarize(open_result(path)))``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from projector.model.summary import (
    ANCHORS_COUNTED,
    PRECISION,
    RATE_QUANTILES,
    RATES,
    paths_needed,
)
from projector.model.trends_cube import TREND_COLUMNS, trends_table
from projector.render.ceiling_report import ceilings_csv, ceilings_markdown, has_ceilings
from projector.render.rates import rate_text

if TYPE_CHECKING:  # trends pulls in scipy.stats (about 1 s): only its type is needed here
    from projector.studies.trends import TrendAnalysis

__all__ = [
    "CSV_COLUMNS",
    "caveats",
    "rate_text",
    "rates_markdown",
    "summary_csv",
    "summary_markdown",
    "trends_csv",
    "trends_markdown",
]

#: Columns of ``summary.csv``: one figure per row, with its Monte Carlo standard error,
#: whether it is quotable at summary.md's precision and the paths that would make it so.
CSV_COLUMNS = (
    "section",
    "subject",
    "year",
    "statistic",
    "value",
    "mcse",
    "quotable",
    "paths_needed",
)


def _years(s: xr.Dataset) -> list[float]:
    return [float(y) for y in np.atleast_1d(s.attrs["report_years"])]


def _quantiles(s: xr.Dataset) -> list[float]:
    return [float(q) for q in np.atleast_1d(s.attrs["report_quantiles"])]


def _num(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.6g}"


def _variants(s: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    if "variant" not in s.dims:
        return [("", s)]
    labels = s["variant_label"].values if "variant_label" in s else s["variant"].values
    return [(str(labels[v]), s.isel(variant=v)) for v in range(s.sizes["variant"])]


class _Figures:
    """A summary's figures by coordinate value: ``f("p_crossed", anchor=a, year=y)``.

    The arrays are read once; xarray's ``.sel`` per figure costs more than the rest of
    a report put together.
    """

    def __init__(self, s: xr.Dataset) -> None:
        self.s = s
        self.index = {
            dim: {v: i for i, v in enumerate(s[dim].values.tolist())}
            for dim in ("year", "quantile", "anchor")
            if dim in s.coords
        }
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, name: str, **at: object) -> float:
        if name not in self.arrays:
            self.arrays[name] = np.asarray(self.s[name].values)
        idx = tuple(self.index[str(d)][at[str(d)]] for d in self.s[name].dims)
        return float(self.arrays[name][idx])


def summary_csv(s: xr.Dataset, /) -> str:
    """The summary as one tidy CSV (:data:`CSV_COLUMNS`); a sweep adds a ``variant`` column.

    ``value`` is ``inf`` where a crossing-year quantile is "never within the horizon".
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    sweep = "variant" in s.dims
    w.writerow([*CSV_COLUMNS, *(["variant"] if sweep else [])])
    for label, one in _variants(s):
        n = int(one.attrs["paths"])
        tail = [label] if sweep else []

        def row(
            section: str,
            subject: str,
            year: str,
            stat: str,
            value: float,
            mcse: float | None,
            kind: str | None,
            tail: list[str] = tail,
            n: int = n,
        ) -> None:
            if mcse is None or kind is None:
                w.writerow([section, subject, year, stat, _num(value), "", "", "", *tail])
                return
            tol = PRECISION[kind][1]
            need = float(paths_needed(mcse, n, tol))
            w.writerow(
                [section, subject, year, stat, _num(value), _num(mcse),
                 str(bool(mcse <= tol)).lower(), _num(need), *tail]
            )  # fmt: skip

        qs = _quantiles(one)
        f = _Figures(one)
        for y in _years(one):
            for q in qs:
                v = f("compute_quantile", year=y, quantile=q)
                m = f("compute_quantile_mcse", year=y, quantile=q)
                row("compute", "log10_compute", f"{y:g}", f"q{q:g}", v, m, "compute_quantile")
            passed = f("anchors_passed_by_median", year=y)
            row("compute", "anchors_passed_by_median", f"{y:g}", "anchors_passed_by_median",
                passed, None, None)  # fmt: skip
        for a in one["anchor"].values:
            name = str(a)
            row("anchor", name, "", "log10_flop", f("anchor_log10_flop", anchor=name), None, None)
            for q in qs:
                v = f("crossing_quantile", anchor=name, quantile=q)
                m = f("crossing_quantile_mcse", anchor=name, quantile=q)
                row("anchor", name, "", f"crossing_year_q{q:g}", v, m, "crossing_quantile")
            for y in _years(one):
                v = f("p_crossed", anchor=name, year=y)
                m = f("p_crossed_mcse", anchor=name, year=y)
                row("anchor", name, f"{y:g}", "p_crossed", v, m, "p_crossed")
            row("anchor", name, "", "p_never", f("p_never", anchor=name),
                f("p_never_mcse", anchor=name), "p_never")  # fmt: skip
        if "p_above_threshold" in one:
            for t in one["threshold"].values:
                for y in _years(one):
                    at = {"threshold": t, "year": y}
                    p = float(one["p_above_threshold"].sel(at))
                    m = float(one["p_above_threshold_mcse"].sel(at))
                    row("threshold", f"{float(t):g}", f"{y:g}", "p_above", p, m,
                        "p_above_threshold")  # fmt: skip
        if has_ceilings(one):
            ceilings_csv(one, row)
    return buf.getvalue()


def _qlabel(q: float) -> str:
    return "median" if q == 0.5 else f"{100 * q:g}%"


class _Flags:
    """Marks figures whose MCSE is above half their last printed digit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.worst = 0.0
        self.horizon = 0  # quantiles whose interval reaches "never": not settled by more paths

    def cell(self, text: str, mcse: float, kind: str) -> str:
        tol = PRECISION[kind][1]
        if mcse <= tol:
            return text
        self.count += 1
        need = float(paths_needed(mcse, self.n, tol))
        if math.isfinite(need):
            self.worst = max(self.worst, need)
        else:
            self.horizon += 1
        return text + " †"

    def figure(self, f: _Figures, name: str, **at: object) -> str:
        """Figure ``name`` at ``at`` to two decimals, flagged by its ``<name>_mcse``."""
        return self.cell(f"{f(name, **at):.2f}", f(f"{name}_mcse", **at), name)


def summary_markdown(
    s: xr.Dataset, /, *, levels: tuple[int, int] = (1, 2), with_caveats: bool = True
) -> str:
    """A readable report: the caveats (:func:`caveats`), provenance, the growth rates, the
    compute table and the anchor table.

    Figures whose Monte Carlo standard error is above half their last printed digit
    carry a dagger, and a closing note says how many paths would make them quotable.
    ``levels``: the heading levels of the title and of the two tables (the HTML report
    puts both at 2, and its caveats at its own top: ``with_caveats=False``).
    """
    parts = [*caveats(s.attrs), ""] if with_caveats else []
    for label, one in _variants(s):
        title = f"Variant {label}: projection" if label else "Projection"
        parts.append(_markdown_one(one, title, levels))
    return "\n".join(parts)


def caveats(attrs: Mapping[str, Any], /) -> list[str]:
    """The two lines every summary and report starts with: what the numbers are not."""
    ceilings = str(attrs.get("ceiling_mode", "off")) != "off"
    modelled = (
        "ceilings on power, chips, money and data come from a table of forecasts and "
        "secondary sources; algorithmic progress is not modelled"
        if ceilings
        else "budgets, chip supply, energy, data and algorithmic progress are not modelled"
    )
    return [
        "**Projections, not predictions**: the historical trends extended with the "
        f"scenario's reversion story; {modelled}.  ",
        "**Bands** are tested only at 1-3 years (`projector backtest`); beyond that, model "
        "uncertainty (is the trend a trend? is the reversion story right?) is not in them: "
        "compare scenarios.",
    ]


def long_run_rule(attrs: Mapping[str, Any], /) -> str:
    """How the run's long-run rate was set, in words (from a result's provenance)."""
    if attrs.get("long_run_doubling_months") is not None:
        return (
            f"set by growth.long_run_doubling_months = {float(attrs['long_run_doubling_months']):g}"
        )
    ref = float(attrs.get("growth_ref", float("nan")))
    months = attrs.get("moore_doubling_months")
    reading = (
        "ln(2) x 12 / months, the published-notebook reading"
        if attrs.get("moore_units") == "published-notebook"
        else "log10(2) x 12 / months"
    )
    of = f"a {float(months):g}-month doubling, " if months is not None else ""
    return f"derived: sqrt(pre-DL rate x reference {ref:.3f}; {of}{reading})"


def rates_markdown(s: xr.Dataset, /) -> list[str]:
    """The resolved growth rates, median [95%] over paths, each also as x/year."""
    if "growth_rate_quantile" not in s:
        return []
    q = s["growth_rate_quantile"]
    parts = []
    for rate in (str(r) for r in q["rate"].values):
        lo, mid, hi = (float(q.sel(rate=rate, rate_quantile=p)) for p in RATE_QUANTILES)
        parts.append(f"{RATES[rate]} {rate_text(mid)} [95%: {lo:.3f}, {hi:.3f}]")
    return [
        "Growth rates, median over paths: " + "; ".join(parts) + f". Long-run rate "
        f"{long_run_rule(s.attrs)}.",
    ]


def _markdown_one(s: xr.Dataset, title: str, levels: tuple[int, int]) -> str:
    qs = _quantiles(s)
    a = s.attrs
    n = int(a["paths"])
    flags = _Flags(n)
    section = "#" * levels[1]
    lines = [
        f"{'#' * levels[0]} {title} `{a['scenario_name']}`",
        "",
        f"{n} paths, seed {a['seed']}, start {a['start_date']} at "
        f"10^{a['log10_start_compute']:.2f} FLOP ({a['start_compute_source']}), "
        f"end {a['end_year']:g}; Moore units: {a['moore_units']}; "
        f"weight: {a['weight_shape']}; dataset: {a['dataset']} "
        f"(sha256 {a['dataset_sha256'][:12]}, {a['n_systems_pre_dl']} pre-DL and "
        f"{a['n_systems_dl']} DL systems, cut-off {a['data_cutoff']}); "
        f"projector {a['projector_version']}.",
    ]
    rates = rates_markdown(s)
    if rates:
        lines += ["", *rates]
    if int(a.get("clipped_rate_draws", 0)) > 0:
        lines += [
            "",
            f"{int(a['clipped_rate_draws'])} bootstrap rate draw(s) were <= 0 and were "
            f"raised to the scenario's clip_floor (growth.nonpositive = 'clip').",
        ]
    lines += [
        "",
        f"{section} log10 training compute [FLOP] of the largest notable system",
        "",
        "| year | "
        + " | ".join(_qlabel(q) for q in qs)
        + f" | anchors passed by median (of {s.sizes['anchor']}) |",
        "|---:|" + "---:|" * len(qs) + "---:|",
    ]
    f = _Figures(s)
    for y in _years(s):
        cells = [flags.figure(f, "compute_quantile", year=y, quantile=q) for q in qs]
        passed = int(f("anchors_passed_by_median", year=y))
        lines.append(f"| {y:g} | " + " | ".join(cells) + f" | {passed} |")
    years = _years(s)
    if "p_above_threshold" in s:
        lines += [
            "",
            f"{section} P(largest notable system above a threshold) [report.thresholds]",
            "",
            "| threshold [log10 FLOP] | " + " | ".join(f"{y:g}" for y in years) + " |",
            "|---:|" + "---:|" * len(years),
        ]
        for t in s["threshold"].values:
            cells = [
                flags.cell(f"{float(v):.3f}", float(m), "p_above_threshold")
                for v, m in (
                    (s["p_above_threshold"].sel(threshold=t, year=y),
                     s["p_above_threshold_mcse"].sel(threshold=t, year=y))
                    for y in years
                )
            ]  # fmt: skip
            flop = f"{10 ** float(t):.2g}".replace("e+", "e")
            lines.append(f"| {float(t):g} (= {flop} FLOP) | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{section} Anchors: year of first crossing and probability of having crossed",
        "",
        "| anchor | log10 FLOP | "
        + " | ".join(_qlabel(q) for q in qs)
        + " | "
        + " | ".join(f"P(by {y:g})" for y in years)
        + " | P(never) |",
        "|---|---:|" + "---:|" * (len(qs) + len(years) + 1),
    ]
    end = float(a["end_year"])
    for name in (str(a) for a in s["anchor"].values):
        cells = []
        for q in qs:
            v = f("crossing_quantile", anchor=name, quantile=q)
            m = f("crossing_quantile_mcse", anchor=name, quantile=q)
            cells.append(
                flags.cell("never" if math.isinf(v) else f"{v:.1f}", m, "crossing_quantile")
            )
        probs = [flags.figure(f, "p_crossed", anchor=name, year=y) for y in years]
        never = flags.figure(f, "p_never", anchor=name)
        lines.append(
            f"| {name} | {f('anchor_log10_flop', anchor=name):g} | "
            + " | ".join(cells)
            + " | "
            + " | ".join(probs)
            + f" | {never} |"
        )
    lines += [
        "",
        f"`never`: not crossed by {end:g} (the horizon). Crossing years are grid "
        "times (the first step at or above the threshold). Anchors passed by the median "
        f"count {ANCHORS_COUNTED} at or below the pointwise median.",
        "",
    ]
    if has_ceilings(s):
        lines += [*ceilings_markdown(s, section), ""]
    if flags.count:
        horizon = (
            f" ({flags.horizon} of them a quantile near the horizon, 'never' or a year, "
            "which more paths settle only slowly)"
            if flags.horizon
            else ""
        )
        lines += [
            f"† {flags.count} figure(s) have a Monte Carlo standard error above half their "
            f"last printed digit, so that digit is not settled by {n:,} paths{horizon}; "
            f"about {max(flags.worst, n):,.0f} paths would settle "
            f"{'the others' if flags.horizon else 'all of them'} (summary.csv lists each "
            "figure's `mcse` and `paths_needed`).",
            "",
        ]
    else:
        lines += [
            f"Every figure's Monte Carlo standard error is below half its last printed digit "
            f"at {n:,} paths (summary.csv lists each `mcse`).",
            "",
        ]
    return "\n".join(lines)


def trends_csv(analysis: TrendAnalysis) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TREND_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in trends_table(analysis):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def trends_markdown(analysis: TrendAnalysis) -> str:
    """Doubling-time table (with 95% intervals and n) and the break statistics."""
    s = analysis.systems
    noise = ", each estimate x log-uniform [1/2, 2]" if analysis.noise else ""
    lines = [
        f"# Trends in training compute: {s.label}",
        "",
        f"{len(s)} systems (one per paper), {s.date.min()} to {s.date.max()}; cut-off "
        f"{analysis.cutoff or 'none'}; {analysis.resamples} bootstrap resamples{noise}; "
        f"seed {analysis.seed}.",
        "",
        "| window | quantity | span | scale | n | slope [OOM/yr] | doubling [months] "
        "(95% CI) | R^2 |",
        "|---|---|---|---|---:|---:|---|---:|",
    ]
    for r in trends_table(analysis):
        scale = r["scale"] if r["domain"] == "all" else f"{r['scale']}, {r['domain']}"
        head = f"| {r['window']} | {r['quantity']} | {r['start'][:7]} to {r['end'][:7]} | {scale} "
        if not math.isfinite(r["slope_oom_per_year"]):
            lines.append(f"{head}| {r['n']} | too few systems to fit | | |")
            continue
        lines.append(
            f"{head}| {r['n']} | {r['slope_oom_per_year']:.3f} | {r['doubling_months']:.1f} "
            f"({r['doubling_months_lo']:.1f} to {r['doubling_months_hi']:.1f}) | {r['r2']:.2f} |"
        )
    lines += [
        "",
        "## Is there a break?",
        "",
        "One OLS trend against two separately fitted groups: either side of a date, or "
        "large- against regular-scale systems (low outliers excluded). Chow F test with "
        "k = 2; delta BIC = BIC(one line) - BIC(two lines), positive favours two trends. "
        "The class test is not independent evidence: the classes are chosen by compute, so "
        "large-scale systems sit above the others by construction; it measures whether "
        "they also follow a different slope and level.",
        "",
        "| test | n before / after | slope before / after / single [OOM/yr] | Chow F | "
        "p | delta BIC |",
        "|---|---|---|---:|---:|---:|",
    ]
    for b in analysis.breaks:
        lines.append(
            f"| {b.name} | {b.n_before} / {b.n_after} | {b.slope_before:.3f} / "
            f"{b.slope_after:.3f} / {b.slope_single:.3f} | {b.f_stat:.1f} | {b.p_value:.2g} "
            f"| {b.delta_bic:.1f} |"
        )
    rule = analysis.rule
    lines += [
        "",
        f"Scale classes: Z-score of log10 compute among systems within +/-"
        f"{rule.half_width_years:g} years; Z < {rule.low:g} low outlier, Z >= {rule.high:g} "
        f"and published from {rule.large_from} large scale.",
    ]
    return "\n".join(lines) + "\n"
