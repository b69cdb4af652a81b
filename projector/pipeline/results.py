"""Compatibility names for code written before the split of this module.

The result cube is now built by ``cube``, summarised by ``summary``, rendered by
``report`` and stored by ``store``; these wrappers keep older callers (and the
row-dict summaries the replication tests read) working on top of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from projector.model.cube import ANCHOR, PATH, TIME, VARIABLES, to_dataset, trends_to_dataset
from projector.model.summary import summarize, value_at
from projector.pipeline.fileio import atomic_path
from projector.pipeline.store import open_result, write_trends
from projector.render.report import trends_csv, trends_markdown

__all__ = [
    "ANCHOR",
    "PATH",
    "TIME",
    "VARIABLES",
    "anchor_summary",
    "atomic_path",
    "compute_summary",
    "read_result",
    "summary_csv",
    "summary_markdown",
    "to_dataset",
    "trends_csv",
    "trends_markdown",
    "trends_to_dataset",
    "value_at",
    "write_trends",
]


def read_result(path: str | Path) -> xr.Dataset:
    """A result: a result folder, a Zarr store or an older NetCDF cube (``store.open_result``)."""
    return open_result(path)


def compute_summary(ds: xr.Dataset) -> list[dict[str, float]]:
    """Per report year: ``q<q>`` quantiles of log10 compute and anchors passed by the median."""
    s = summarize(ds)
    rows = []
    for y in [float(v) for v in s.attrs["report_years"]]:
        at = s.sel(year=y)
        row: dict[str, float] = {"year": y}
        for q in s.attrs["report_quantiles"]:
            row[f"q{q:g}"] = float(at["compute_quantile"].sel(quantile=q))
        row["anchors_passed_by_median"] = int(at["anchors_passed_by_median"])
        rows.append(row)
    return rows


def anchor_summary(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Per anchor: crossing-year quantiles (inf = never), ``p_by_<year>``, ``p_never``."""
    s = summarize(ds)
    rows = []
    for name in s[ANCHOR].values:
        at = s.sel(anchor=name)
        row: dict[str, Any] = {"anchor": str(name), "log10_flop": float(at["anchor_log10_flop"])}
        for q in s.attrs["report_quantiles"]:
            row[f"q{q:g}"] = float(at["crossing_quantile"].sel(quantile=q))
        for y in s.attrs["report_years"]:
            row[f"p_by_{y:g}"] = float(at["p_crossed"].sel(year=y))
        row["p_never"] = float(at["p_never"])
        rows.append(row)
    return rows


def summary_csv(ds: xr.Dataset) -> str:
    """``report.summary_csv`` of ``summary.summarize(ds)``."""
    from projector.render.report import summary_csv as render

    return render(summarize(ds))


def summary_markdown(ds: xr.Dataset) -> str:
    """``report.summary_markdown`` of ``summary.summarize(ds)``."""
    from projector.render.report import summary_markdown as render

    return render(summarize(ds))
