"""Two or more results side by side: their summaries and the differences.

Dependency direction: ``summary`` -> ``compare`` -> ``plots`` / ``report`` / ``cli``. Dataset
in, Dataset out; no I/O.

Every figure compared is a figure of each result's own :func:`projector.model.summary.summarize`
(log10 compute quantiles at the report years, crossing-year quantiles and P(crossed by
each report year) per anchor), so a difference is exactly the difference of the two
summaries. The MCSE of a difference is ``sqrt(mcse_a^2 + mcse_b^2)``, exact for independent
runs; runs with the same seed share their random draws (common random numbers), which
usually makes the true error of a difference smaller, so for them it is conservative.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from projector.errors import InputError

__all__ = ["COLUMNS", "compare", "labels", "to_csv", "to_markdown"]

#: Columns of compare.csv.
COLUMNS = (
    "statistic",
    "subject",
    "year",
    "quantile",
    "result",
    "value",
    "mcse",
    "difference",
    "difference_mcse",
)


def labels(summaries: Sequence[xr.Dataset], /) -> list[str]:
    """A unique label per result: the scenario name, with a suffix where names repeat."""
    names = [str(s.attrs.get("scenario_name", f"result-{k}")) for k, s in enumerate(summaries)]
    out = []
    for k, name in enumerate(names):
        out.append(name if names.count(name) == 1 else f"{name}#{k + 1}")
    return out


def _check_anchors(summaries: Sequence[xr.Dataset], names: list[str]) -> None:
    first = summaries[0]
    want = dict(zip(map(str, first["anchor"].values), first["anchor_log10_flop"].values,
                    strict=True))  # fmt: skip
    for s, name in zip(summaries[1:], names[1:], strict=True):
        have = dict(zip(map(str, s["anchor"].values), s["anchor_log10_flop"].values, strict=True))
        if have != want:
            raise InputError(
                f"compare: {name} has other anchors than {names[0]} "
                f"({', '.join(f'{k}={v:g}' for k, v in have.items())} against "
                f"{', '.join(f'{k}={v:g}' for k, v in want.items())}); compare results "
                "with the same anchors"
            )


def compare(
    summaries: Sequence[xr.Dataset], /, *, years: Sequence[float] | None = None
) -> xr.Dataset:
    """The compared figures, with dims ``result`` (first = the reference) and their own.

    Parameters
    ----------
    summaries
        Two or more outputs of :func:`projector.model.summary.summarize` (not sweeps).
    years
        Years to compare (default: the first result's report years that every result's
        yearly grid holds).

    Returns
    -------
    xarray.Dataset
        ``compute_quantile`` (result, year, quantile), ``crossing_quantile`` (result,
        anchor, quantile), ``p_crossed`` (result, anchor, year), each with ``*_mcse`` and
        ``*_difference`` (result minus the first) and ``*_difference_mcse``.
    """
    if len(summaries) < 2:
        raise InputError("compare: give at least two results")
    if any("variant" in s.dims for s in summaries):
        raise InputError("compare: a sweep holds several variants; compare single results")
    names = labels(summaries)
    _check_anchors(summaries, names)
    if years is None:
        years = [float(y) for y in np.atleast_1d(summaries[0].attrs.get("report_years", []))]
    common = [y for y in years if all(np.any(np.isclose(s["year"].values, y)) for s in summaries)]
    if not common:
        raise InputError("compare: the results share no report year (they start too far apart)")
    qs = sorted(set.intersection(*(set(map(float, s["quantile"].values)) for s in summaries)))
    parts = []
    for s in summaries:
        sel = s.sel(year=common, method="nearest").sel(quantile=qs)
        parts.append(
            sel[
                [
                    "compute_quantile",
                    "compute_quantile_mcse",
                    "crossing_quantile",
                    "crossing_quantile_mcse",
                    "p_crossed",
                    "p_crossed_mcse",
                ]
            ]
            .assign_coords(year=common)
            .drop_vars([c for c in ("variant",) if c in sel.coords])
        )
    out = xr.concat(parts, dim="result", join="override", combine_attrs="drop_conflicts")
    out = out.assign_coords(result=names)
    for name in ("compute_quantile", "crossing_quantile", "p_crossed"):
        ref = out[name].isel(result=0)
        out[f"{name}_difference"] = out[name] - ref
        ref_se = out[f"{name}_mcse"].isel(result=0)
        se = (out[f"{name}_mcse"] ** 2 + ref_se**2) ** 0.5
        out[f"{name}_difference_mcse"] = se.where(out["result"] != names[0], 0.0)
    out["anchor_log10_flop"] = summaries[0]["anchor_log10_flop"]
    for name in ("p_bound", "p_above_ceiling"):
        if any(name in s for s in summaries):
            out[name] = _ceiling_figure(summaries, name, common, names)
    out.attrs = {"reference": names[0], "results": names}
    return out


def _ceiling_figure(
    summaries: Sequence[xr.Dataset], name: str, years: list[float], names: list[str]
) -> xr.DataArray:
    """(result, constraint, year) figure of the results with ceilings (NaN: none)."""
    from projector.model.limits import CEILINGS

    out = np.full((len(summaries), len(CEILINGS), len(years)), np.nan)
    for r, s in enumerate(summaries):
        if name in s:
            out[r] = s[name].sel(constraint=list(CEILINGS), year=years, method="nearest").values
    return xr.DataArray(
        out,
        dims=("result", "constraint", "year"),
        coords={"result": names, "constraint": list(CEILINGS), "year": years},
    )


def _rows(c: xr.Dataset) -> list[dict[str, Any]]:
    rows = []
    results = [str(r) for r in c["result"].values]
    for r, result in enumerate(results):
        for y in c["year"].values:
            for q in c["quantile"].values:
                rows.append(_row(c, "compute_quantile", "compute", r, result, year=y, q=q))
        for a in c["anchor"].values:
            for q in c["quantile"].values:
                rows.append(_row(c, "crossing_quantile", str(a), r, result, anchor=a, q=q))
            for y in c["year"].values:
                rows.append(_row(c, "p_crossed", str(a), r, result, anchor=a, year=y))
    return rows


def _row(c: xr.Dataset, stat: str, subject: str, r: int, result: str, **at: Any) -> dict[str, Any]:
    sel: dict[str, Any] = {"result": r}
    if "year" in at:
        sel["year"] = list(c["year"].values).index(at["year"])
    if "q" in at:
        sel["quantile"] = list(c["quantile"].values).index(at["q"])
    if "anchor" in at:
        sel["anchor"] = list(c["anchor"].values).index(at["anchor"])

    def get(name: str) -> float:
        return float(c[name].isel(sel).values)

    return {
        "statistic": stat,
        "subject": subject,
        "year": float(at["year"]) if "year" in at else "",
        "quantile": float(at["q"]) if "q" in at else "",
        "result": result,
        "value": get(stat),
        "mcse": get(f"{stat}_mcse"),
        "difference": get(f"{stat}_difference"),
        "difference_mcse": get(f"{stat}_difference_mcse"),
    }


def to_csv(c: xr.Dataset, /) -> str:
    """compare.csv: tidy, one row per (statistic, subject, year or quantile, result)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _rows(c):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value: float, diff: float, se: float, *, digits: int, reference: bool) -> str:
    if not np.isfinite(value):
        return "never"
    text = f"{value:.{digits}f}"
    if reference:
        return text
    if not np.isfinite(diff):
        return f"{text} (never in one)"
    return f"{text} ({diff:+.{digits}f} ± {se:.{digits}f})"


def _p_crossed_table(c: xr.Dataset, results: list[str], section: str) -> list[str]:
    """P(crossed by each report year) as one table: a row per anchor and result, a column
    per year; the results after the first carry their difference from it."""
    years = [float(y) for y in c["year"].values]
    lines = [
        "",
        f"{section} P(crossed by year) per anchor (differences against `{results[0]}`)",
        "",
        "| anchor | result | " + " | ".join(f"{y:g}" for y in years) + " |",
        "|---|---|" + "---:|" * len(years),
    ]
    for a in c["anchor"].values:
        for r, label in enumerate(results):
            cells = []
            for y in years:
                pick = c.sel(anchor=a, year=y).isel(result=r)
                cells.append(_cell(float(pick["p_crossed"]), float(pick["p_crossed_difference"]),
                                   float(pick["p_crossed_difference_mcse"]), digits=2,
                                   reference=r == 0))  # fmt: skip
            lines.append(f"| {a if r == 0 else ''} | `{label}` | " + " | ".join(cells) + " |")
    return lines


def to_markdown(c: xr.Dataset, /, *, level: int = 1, probabilities: bool = True) -> str:
    """compare.md: medians and bands side by side, differences against the first result.

    ``level``: the heading level of the title; the tables' headings are one below.
    Without ``probabilities``, the P(crossed by year) table is left out.
    """
    title, section = "#" * level, "#" * (level + 1)
    results = [str(r) for r in c["result"].values]
    head = "| | " + " | ".join(f"`{r}`" for r in results) + " |"
    rule = "|---|" + "---:|" * len(results)
    lines = [
        f"{title} Comparison: {', '.join(f'`{r}`' for r in results)}",
        "",
        f"Differences in brackets are against `{results[0]}`, with their Monte Carlo "
        "standard error, sqrt(mcse_a^2 + mcse_b^2): exact for independent runs, conservative "
        "for runs sharing a seed (their draws are common random numbers).",
        "",
        f"{section} log10 training compute [FLOP] of the largest notable system: "
        "median [2.5%, 97.5%]",
        "",
        head,
        rule,
    ]
    qs = list(map(float, c["quantile"].values))
    for y in c["year"].values:
        cells = []
        for r in range(len(results)):

            def at(q: float, name: str = "compute_quantile", r: int = r, y: Any = y) -> float:
                return float(c[name].isel(result=r).sel(year=y).isel(quantile=qs.index(q)).values)

            med = _cell(at(0.5), at(0.5, "compute_quantile_difference"),
                        at(0.5, "compute_quantile_difference_mcse"), digits=2,
                        reference=r == 0)  # fmt: skip
            band = f"[{at(0.025):.2f}, {at(0.975):.2f}]" if 0.025 in qs and 0.975 in qs else ""
            cells.append(f"{med} {band}")
        lines.append(f"| {y:g} | " + " | ".join(cells) + " |")
    lines += ["", f"{section} Median crossing year per anchor", "", head, rule]
    for a in c["anchor"].values:
        cells = []
        for r in range(len(results)):
            sel = {"result": r, "quantile": qs.index(0.5)}
            v = c["crossing_quantile"].sel(anchor=a).isel(sel).values
            d = c["crossing_quantile_difference"].sel(anchor=a).isel(sel).values
            se = c["crossing_quantile_difference_mcse"].sel(anchor=a).isel(sel).values
            cells.append(_cell(float(v), float(d), float(se), digits=1, reference=r == 0))
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    if "p_bound" in c:
        lines += [
            "",
            f"{section} Ceilings: share of paths held at a ceiling, by the binding one "
            "(P(above any ceiling) in brackets; '-': no ceilings in that result)",
            "",
            head,
            rule,
        ]
        for y in c["year"].values:
            cells = []
            for r in range(len(results)):
                bound = c["p_bound"].isel(result=r).sel(year=y)
                if not np.isfinite(bound.values).all():
                    cells.append("-")
                    continue
                above = float(c["p_above_ceiling"].isel(result=r).sel(year=y).max())
                parts = [f"{k} {float(bound.sel(constraint=k)):.2f}"
                         for k in c["constraint"].values]  # fmt: skip
                cells.append(", ".join(parts) + f" ({above:.2f})")
            lines.append(f"| {y:g} | " + " | ".join(cells) + " |")
    if probabilities:
        lines += _p_crossed_table(c, results, section)
    return "\n".join(lines) + "\n"
