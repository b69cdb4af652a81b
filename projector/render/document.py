"""The report a reader can open: one self-contained HTML file and its Markdown twin.

Dependency direction: ``summary``, ``report``, ``compare``, ``sensitivity``, ``published``,
``folders`` and ``plots`` -> ``document`` -> ``cli``. No file is read or written here:
:func:`build` takes the results and the study folders already read
(:func:`projector.studies.folders.open_extras`) and returns the Markdown and the HTML text;
the command line writes them.

The Markdown is the source; the HTML is rendered from it (Python-Markdown, with its
``tables`` extension) with every figure embedded as a ``data:`` URI, so the file needs
no network and no companion files to view. The Markdown twin embeds the same images.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from projector.model.summary import ANCHORS_COUNTED, anchors_passed
from projector.studies import published as pub
from projector.studies.folders import Extras, Part, Written
from projector.studies.published import PUBLISHED_2022

__all__ = ["FIGURE_1", "MEANING", "PUBLISHED_2022", "Extras", "attribution_markdown", "build"]

#: Caption of the trends section's compute figure.
FIGURE_1 = (
    "Our version of Figure 1 of Sevilla et al. (2022), arXiv:2202.05924: training compute of "
    "the milestone systems against publication date, by era and scale class, with each "
    "window's OLS line and the 95% band of its bootstrap lines."
)

MEANING = """\
## What the numbers mean, and what they do not

- They are **projections, not predictions**: what the historical trends, extended with the
  scenario's reversion story, imply. They do not model budgets, chip supply, energy or
  algorithmic progress (the anchors are in 2020-algorithm FLOP).
- The bands are the spread of the Monte Carlo draws the scenario declares: the bootstrap of
  the growth rates, the reversion date, and (in `calibrated` and `default`) the frontier's
  resampled stall-and-jump deviations. The 2022 method's bands, without the latter, held
  reality in 32% of 99 hindcasts at 1-3 years (95% band); the calibrated bands in 94%. Beyond
  3 years no backtest checks them; model uncertainty (is the trend a trend? is the reversion
  story right?) is not in them: compare scenarios and run a sensitivity analysis for that.
- Every quantile and probability carries its Monte Carlo standard error (MCSE); a figure
  whose MCSE is too large for its printed precision is flagged with the paths it needs.
- The start compute is the largest figure in the data at the start date. Frontier releases
  with no public figure are lower bounds in the data; where any exist, the start and the
  realised frontier are lower bounds too.
- Crossing years are grid times (monthly by default). "Anchors passed by the median" uses the
  pointwise median over paths, which is not any single path.
- The weight-combined curve uses the anchors' `weight`s (Cotra's, renormalised over the six
  hypotheses: her remaining 10% on "all anchors underestimate" is not represented).
"""


def _png(fig: Any) -> bytes:
    from projector.render import plots

    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    plots.close(fig)
    return buf.getvalue()


def _image(data: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})"


def _provenance(ds: xr.Dataset) -> list[str]:
    a = ds.attrs
    rows = [
        ("scenario", f"`{a.get('scenario_name', '')}` ({a.get('scenario_file', '')})"),
        ("scenario sha256", str(a.get("scenario_sha256", ""))[:16]),
        ("overrides", str(a.get("scenario_overrides", "[]"))),
        ("dataset", f"`{a.get('dataset', '')}` (sha256 {str(a.get('dataset_sha256', ''))[:16]})"),
        ("seed, paths", f"{a.get('seed', '')}, {a.get('paths', '')}"),
        (
            "start",
            f"{a.get('start_date', '')} at 10^{float(a.get('log10_start_compute', 0)):.2f} "
            f"FLOP ({a.get('start_compute_source', '')})",
        ),
        ("projector", f"{a.get('projector_version', '')}, run {a.get('created_at', '')}"),
    ]
    out = ["| what | value |", "|---|---|"]
    out += [f"| {k} | {html.escape(str(v)).replace('|', '&#124;')} |" for k, v in rows]
    return out


def attribution_markdown(
    ds: xr.Dataset, /, *, max_paths: int = 50_000, resamples: int = 50, level: str = "##"
) -> str:
    """The attribution section (Markdown) of a projection; empty when no draw varies."""
    return "\n".join(_attribution(ds, None, max_paths=max_paths, resamples=resamples,
                                  level=level))  # fmt: skip


def _attribution(
    ds: xr.Dataset,
    summary: xr.Dataset | None,
    *,
    max_paths: int = 50_000,
    resamples: int = 50,
    level: str = "##",
) -> list[str]:
    from projector.model.summary import value_at
    from projector.studies import sensitivity

    n = min(int(ds.sizes["path"]), max_paths)
    draws = {}
    for name in sensitivity.DRAWS:
        if name in ds:
            v = np.asarray(ds[name][:n].values, dtype=np.float64)
            if np.all(np.isfinite(v)) and np.ptp(v) > 0:
                draws[name] = v
    if not draws:
        return []
    end = float(ds.attrs.get("end_year", 2100))
    targets: dict[str, np.ndarray] = {}
    for y in np.atleast_1d(ds.attrs.get("report_years", [])):
        try:
            targets[f"log10 compute in {float(y):g}"] = value_at(ds, float(y))[:n]
        except Exception:  # a year outside the grid is simply not attributed
            continue
    crossing = np.asarray(ds["crossing_year"][:n].values, dtype=np.float64)
    for a, name in enumerate(ds["anchor"].values):
        targets[f"crossing: {name}"] = np.where(np.isnan(crossing[:, a]), end, crossing[:, a])
    rows = sensitivity.attribution(draws, targets, resamples=resamples)
    names = list(draws)
    lines = [
        f"{level} Which draw drives each output (attribution within this run)",
        "",
        "First-order Sobol indices of each output over the run's own paths (RBD-FAST given "
        f"data, SALib; first {n} paths; ± 95% bootstrap interval). The draws are independent, "
        "so each is the share of the output's variance that draw explains alone; what is left "
        "is interaction. Crossing years of paths that never cross count as the horizon.",
        "",
        "| output | " + " | ".join(sensitivity.DRAWS[k] for k in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for target in targets:
        cells = []
        for k in names:
            r = next(r for r in rows if r["output"] == target and r["draw"] == k)
            cells.append(f"{r['S1']:.2f} ± {r['S1_conf']:.2f}")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    return lines


def _published(ds: xr.Dataset, summary: xr.Dataset) -> list[str]:
    """Table 1 and the crossing dates of the 2022 study beside this run (epoch-2022 only)."""
    from projector.errors import InputError

    if ds.attrs.get("scenario_name") != "epoch-2022" or pub.MEDIAN_ANCHOR not in summary["anchor"]:
        return []
    lines = [
        "## Against the published study",
        "",
        f"Published figures: {pub.SOURCE_2022}. Their 95% intervals are set beside this "
        "run's 2.5% and 97.5% quantiles.",
        "",
    ]
    try:
        t = pub.compare_table_1(summary)
    except InputError as exc:  # e.g. a run with a shorter horizon: the crossings still compare
        return [*lines, f"Table 1 is not compared: {exc}.", "", *_crossings(summary)]
    lines += [
        "### Table 1: log10 FLOP of the largest training run",
        "",
        "| year | published: median [95% CI] | this run: median [2.5%, 97.5%] | "
        "difference of medians [OOM] | anchors (published) | anchors (this run) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    of = int(t.attrs["anchors_of"])
    for y in t["year"].values:
        p, o = t["published"].sel(year=y), t["ours"].sel(year=y)
        cells = [
            f"{y:g}",
            _interval(p),
            _interval(o),
            f"{float(t['difference'].sel(year=y, quantile=0.5)):+.2f}",
            f"{int(t['anchors_published'].sel(year=y))}/{pub.TABLE_1_ANCHORS}",
            f"{int(t['anchors_ours'].sel(year=y))}/{of}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    flop = summary["anchor_log10_flop"]
    thresholds = ", ".join(f"{a} 10^{float(flop.sel(anchor=a)):g}"
                           for a in flop["anchor"].values)  # fmt: skip
    mcse = float(t["ours_mcse"].max()) if "ours_mcse" in t else float("nan")
    passed = anchors_passed(flop.values, t["published"].sel(quantile=0.5).values)
    recount = ", ".join(
        f"{int(n)}/{of} in {y:g}" for y, n in zip(t["year"].values, passed, strict=True)
    )
    lines += [
        "",
        f"RMSE against Table 1: **{float(t['rmse_median']):.2f} OOM** over the seven medians, "
        f"{float(t['rmse_all']):.2f} OOM over all 21 figures (medians and both interval "
        f"ends). This run's figures have Monte Carlo standard errors up to {mcse:.3f} OOM.",
        "",
        f"*Anchors*: every count in this report is of {ANCHORS_COUNTED} at or below the "
        f"median: {thresholds}. The published counts (\"Enough for how many anchor's median "
        "compute requirements?\") are of Cotra's six and are shown as published; on this "
        f"run's {of} thresholds the published medians pass {recount}, so compare this "
        "run's column with those. The study does not list the thresholds it counted.",
        "",
        *_crossings(summary),
    ]
    return lines


def _crossings(summary: xr.Dataset) -> list[str]:
    lines = [
        "### Crossing dates",
        "",
        "| anchor | published: median [95% CI] | this run: median [2.5%, 97.5%] | "
        "difference of medians [years] |",
        "|---|---|---:|---:|",
    ]
    x = pub.compare_crossings(summary)
    for a in x["anchor"].values:
        c = pub.CROSSINGS[str(a)]
        flop = float(summary["anchor_log10_flop"].sel(anchor=a))
        o = x["ours"].sel(anchor=a)
        lines.append(
            f"| {a} (10^{flop:g}): {c.what} | {c.labels[0]} ({c.median:.1f}) "
            f"[{c.labels[1]}, {c.labels[2]}] | {_interval(o, 1)} "
            f"| {_years_months(float(x['difference'].sel(anchor=a, quantile=0.5)))} |"
        )
    lines += [
        "",
        "A month is its first day (Aug 2046 = 2046.58), as on this run's monthly grid; "
        "`never`: not crossed within the horizon.",
    ]
    return lines


def _years_months(years: float) -> str:
    """A difference of two monthly grid times: years and whole months."""
    return f"{years:+.2f} ({years * 12:+.0f} months)" if np.isfinite(years) else "never"


def _interval(v: xr.DataArray, decimals: int = 2) -> str:
    """``median [2.5%, 97.5%]`` of a DataArray with a ``quantile`` coordinate."""

    def f(q: float) -> str:
        x = float(v.sel(quantile=q))
        return "never" if np.isinf(x) else f"{x:.{decimals}f}"

    return f"{f(0.5)} [{f(0.025)}, {f(0.975)}]"


def _three_eras(trends: xr.Dataset) -> list[str]:
    """The doubling times of a trends Dataset against the Three Eras paper's."""
    rows = {
        str(w): trends.sel(window=w)
        for w, q, d in zip(
            trends["window"].values, trends["quantity"].values, trends["domain"].values,
            strict=True,
        )
        if q == "compute" and d == "all"
    }  # fmt: skip
    lines = [
        "### Doubling times against the Three Eras paper",
        "",
        f"Published: {pub.SOURCE_THREE_ERAS}; its windows by this analysis's names "
        "(intervals and n where the paper's are quoted).",
        "",
        "| window | Sevilla et al. 2022 [months] | this analysis [months] (95% CI), n | "
        "difference [months] |",
        "|---|---:|---:|---:|",
    ]
    for name, d in pub.THREE_ERAS.items():
        paper = f"{d.months:.1f}"
        if d.low is not None and d.high is not None:
            paper += f" [{d.low:.1f}, {d.high:.1f}]"
        if d.n is not None:
            paper += f", n={d.n}"
        r = rows.get(name)
        months = float(r["doubling_months"]) if r is not None else float("nan")
        if r is None or not np.isfinite(months):
            lines.append(f"| {name} | {paper} | not fitted | |")
            continue
        lo, hi = float(r["doubling_months_lo"]), float(r["doubling_months_hi"])
        lines.append(
            f"| {name} | {paper} | {months:.1f} [{lo:.1f}, {hi:.1f}], n={int(r['n'])} "
            f"| {months - d.months:+.1f} |"
        )
    return [*lines, ""]


def _nested(parts: Sequence[Part], *, level: int, until: str | None = None) -> list[str]:
    """A study's Markdown under a heading of ``level``: its title and sections one below.

    Parts from the one headed ``until`` on are left out.
    """
    lines: list[str] = []
    for part in parts:
        if until is not None and part.heading == f" {until}":
            break
        if part.depth:
            lines.append("#" * max(part.depth + level - 1, level + 1) + part.heading)
        lines += part.lines
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _folder_section(
    title: str,
    written: Written,
    captions: dict[str, str],
    *,
    until: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """A study folder's Markdown, then ``extra`` lines, then its figures (with captions)."""
    lines = [f"## {title}", "", *_nested(written.parts, level=2, until=until), "", *extra]
    for name, png in written.figures.items():
        caption = captions.get(name, "")
        lines += [caption, ""] if caption else []
        lines += [_image(png, f"{title}: {name}"), ""]
    return lines


def build(
    results: Sequence[xr.Dataset], /, *, extras: Extras | None = None, title: str | None = None
) -> tuple[str, str]:
    """The report of one or more results: (Markdown, self-contained HTML).

    The first result is the main one: its provenance, summary (with MCSE), attribution and
    figures; with more results, a comparison section (tables and overlay) follows.
    """
    from projector.extras import require
    from projector.model.summary import summarize
    from projector.render import plots, study_plots
    from projector.render.report import caveats, summary_markdown
    from projector.studies import compare

    markdown = require("markdown", "studies", "HTML reports")
    extras = extras or Extras()
    ds = results[0]
    summary = summarize(ds)
    name = str(ds.attrs.get("scenario_name", "result"))
    lines = [f"# {title or f'projector report: {name}'}", "", *caveats(ds.attrs), ""]
    lines += [str(ds.attrs.get("scenario_description", "")), "", "## What was run", ""]
    lines += _provenance(ds)
    lines += ["", summary_markdown(summary, levels=(2, 2), with_caveats=False).strip(), ""]
    lines += _published(ds, summary)
    figures = [
        ("Fan chart", plots.fan_chart(ds, summary=summary)),
        ("P(crossed by year) per anchor", plots.crossing_probability(ds)),
        ("First-crossing years", plots.crossing_histograms(ds)),
        ("Reversion prior and w(t)", plots.reversion_prior(ds)),
        ("Bootstrap distributions of the rates", plots.rate_distributions(ds)),
    ]
    if "log10_ceiling" in ds:
        from projector.render.ceiling_plots import ceilings_chart

        figures.insert(1, ("Ceilings", ceilings_chart(ds, summary)))
    lines += ["", "## Figures", ""]
    for caption, fig in figures:
        lines += [f"### {caption}", "", _image(_png(fig), caption), ""]
    lines += [*_attribution(ds, summary), ""]
    if len(results) > 1:
        summaries = [summary, *(summarize(r) for r in results[1:])]
        c = compare.compare(summaries)
        names = compare.labels(summaries)
        lines += [
            compare.to_markdown(c, level=2).strip(),
            "",
            _image(_png(study_plots.compare_overlay(summaries, names)), "comparison"),
            "",
        ]
    if extras.sensitivity is not None:
        lines += _folder_section("Sensitivity", extras.sensitivity, {})
    if extras.backtest is not None:
        lines += _folder_section("Backtest", extras.backtest, {}, until="Cases")
    if extras.trends is not None:
        assert extras.trends.data is not None, "a trends folder is read with its trends.nc"
        lines += _folder_section(
            "Historical trends",
            extras.trends,
            {"trends_compute.png": FIGURE_1},
            extra=_three_eras(extras.trends.data),
        )
    if extras.ledger is not None:
        lines += _folder_section("Forecast ledger", extras.ledger, {}, until="Not scored")
    lines += ["", MEANING]
    text = "\n".join(lines) + "\n"
    body = markdown.markdown(text, extensions=["tables"], output_format="html")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title or f'projector report: {name}')}</title>"
        '<meta name="generator" content="projector">'
        f'<script type="application/json" id="provenance">{html.escape(json.dumps(_attrs(ds)))}'
        "</script><style>"
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.45;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
        "th,td{border:1px solid #ccc;padding:.25em .5em}th{background:#f3f3f3}"
        "img{max-width:100%;height:auto;display:block;margin:.5em 0}code{background:#f5f5f5}"
        "</style></head><body>\n" + body + "\n</body></html>\n"
    )
    return text, page


def _attrs(ds: xr.Dataset) -> dict[str, str]:
    keys = ("scenario_name", "scenario_sha256", "dataset_sha256", "seed", "paths",
            "projector_version", "created_at")  # fmt: skip
    return {k: str(ds.attrs.get(k, "")) for k in keys}
