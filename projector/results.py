"""Result cubes: build the xarray Dataset, summarise it, write and read it.

Dependency direction: ``engine`` -> ``results`` -> ``plots`` / ``cli``. This is the one
place that names dimensions and variables and sets units, long names and provenance
attributes; everything downstream reads them from the Dataset.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from projector import __version__
from projector.engine import Projection, start_date_label
from projector.errors import InputError
from projector.fileio import atomic_path
from projector.scenario import Scenario

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
    "value_at",
    "write_result",
]

PATH, TIME, ANCHOR, COMPONENT = "path", "time", "anchor", "component"

# name -> (dims, units, long name); declared once, applied by to_dataset.
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "log10_compute": (
        (PATH, TIME),
        "log10 FLOP",
        "log10 of training compute of the largest system",
    ),
    "growth_dl": ((PATH,), "OOM/year", "bootstrapped Deep-Learning-era growth rate"),
    "growth_pre_dl": ((PATH,), "OOM/year", "bootstrapped pre-Deep-Learning growth rate"),
    "growth_moore": ((PATH,), "OOM/year", "long-run rate sqrt(growth_pre_dl * growth_ref)"),
    "reversion_year": ((PATH,), "decimal year", "date of reversion to the long-run rate"),
    "reversion_component": ((PATH,), "1", "index of the reversion mixture component drawn"),
    "crossing_year": (
        (PATH, ANCHOR),
        "decimal year",
        "first grid time with log10_compute >= threshold (NaN: never in horizon)",
    ),
    "anchor_log10_flop": ((ANCHOR,), "log10 FLOP", "anchor threshold"),
    "component_weight": ((COMPONENT,), "1", "reversion mixture weight"),
}
_COORDS = {
    TIME: ("decimal year", "time"),
    PATH: ("1", "Monte Carlo path index"),
}
_ENCODED_FLOAT32 = ("log10_compute",)  # 7 significant digits are ample for log10 FLOP


def to_dataset(
    proj: Projection, scen: Scenario, *, created_at: dt.datetime | None = None
) -> xr.Dataset:
    """The result cube of a projection, with units, long names and provenance.

    Dims: ``path`` (Monte Carlo sample), ``time`` [decimal year], ``anchor``,
    ``component`` (reversion mixture components).
    """
    eras = proj.eras
    data = {
        "log10_compute": proj.log10_compute,
        "growth_dl": proj.growth_dl,
        "growth_pre_dl": proj.growth_pre_dl,
        "growth_moore": proj.growth_moore,
        "reversion_year": proj.reversion_year,
        "reversion_component": proj.reversion_component,
        "crossing_year": proj.crossing_year,
        "anchor_log10_flop": np.array([a.log10_flop for a in scen.anchors], dtype=np.float64),
        "component_weight": np.array([c.weight for c in scen.reversion]),
    }
    ds = xr.Dataset(
        {name: (VARIABLES[name][0], values) for name, values in data.items()},
        coords={
            PATH: np.arange(proj.log10_compute.shape[0]),
            TIME: proj.times,
            ANCHOR: [a.name for a in scen.anchors],
            COMPONENT: [c.name for c in scen.reversion],
        },
    )
    for name, (_, units, long_name) in VARIABLES.items():
        ds[name].attrs.update(units=units, long_name=long_name)
    for name, (units, long_name) in _COORDS.items():
        ds[name].attrs.update(units=units, long_name=long_name)
    ds["reversion_component"].attrs["flag_meanings"] = " ".join(c.name for c in scen.reversion)
    ds["crossing_year"].attrs["never"] = "NaN means the path does not reach the anchor by end_year"
    created = created_at or dt.datetime.now(dt.UTC)
    ds.attrs.update(
        title=f"projector result: {scen.name}",
        projector_version=__version__,
        scenario_name=scen.name,
        scenario_description=scen.description,
        scenario_file=scen.source,
        scenario_file_sha256=scen.file_sha256,
        scenario_sha256=scen.sha256,
        scenario_resolved=json.dumps(scen.resolved(), sort_keys=True),
        dataset=eras.systems.label,
        dataset_sha256=eras.systems.sha256,
        data_cutoff=str(scen.data.cutoff or "none"),
        n_systems_pre_dl=len(eras.pre_dl),
        n_systems_dl=len(eras.dl),
        seed=scen.seed,
        paths=int(proj.log10_compute.shape[0]),
        start_year=eras.start_year,
        start_date=start_date_label(eras.start_year),
        end_year=scen.end_year,
        steps_per_year=scen.steps_per_year,
        log10_start_compute=eras.log10_start,
        start_compute_source=eras.start_source,
        moore_units=scen.moore_units,
        moore_doubling_months=scen.moore_doubling_months,
        growth_ref=proj.growth_ref,
        growth_ref_units="OOM/year"
        if scen.moore_units == "consistent"
        else "ln-units/year mixed with OOM/year (published-notebook reading, method.md 3)",
        weight_shape=scen.weight_shape,
        nonpositive_rates=scen.nonpositive,
        clipped_rate_draws=proj.clipped,
        report_years=np.array(scen.report_years, dtype=np.float64),
        report_quantiles=np.array(scen.quantiles, dtype=np.float64),
        created_at=created.isoformat(timespec="seconds"),
        method="Besiroglu, Heim & Sevilla (2022), Projecting compute trends in Machine Learning; "
        "see method.md",
    )
    return ds


# --- summaries -----------------------------------------------------------------------


def value_at(ds: xr.Dataset, year: float) -> np.ndarray:
    """log10 compute of every path at ``year``, linear between grid times (path,)."""
    times = ds[TIME].values
    if not times[0] - 1e-9 <= year <= times[-1] + 1e-9:
        raise InputError(
            f"year {year:g} is outside the projection [{times[0]:.2f}, {times[-1]:.2f}]"
        )
    i = int(np.clip(np.searchsorted(times, year), 1, len(times) - 1))
    frac = (year - times[i - 1]) / (times[i] - times[i - 1])
    c = ds["log10_compute"].values
    return np.asarray(c[:, i - 1] * (1 - frac) + c[:, i] * frac, dtype=np.float64)


def _years(ds: xr.Dataset) -> list[float]:
    return [float(y) for y in np.atleast_1d(ds.attrs["report_years"])]


def _quantiles(ds: xr.Dataset) -> list[float]:
    return [float(q) for q in np.atleast_1d(ds.attrs["report_quantiles"])]


def compute_summary(ds: xr.Dataset) -> list[dict[str, float]]:
    """Per report year: quantiles of log10 compute and anchors passed by the median.

    The "median path" is the pointwise median over paths at that year.
    """
    thresholds = ds["anchor_log10_flop"].values
    rows = []
    for year in _years(ds):
        values = value_at(ds, year)
        qs = np.quantile(values, _quantiles(ds))
        row: dict[str, float] = {"year": year}
        row.update({f"q{q:g}": float(v) for q, v in zip(_quantiles(ds), qs, strict=True)})
        median = float(np.median(values))
        row["anchors_passed_by_median"] = int(np.sum(thresholds <= median))
        rows.append(row)
    return rows


def anchor_summary(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Per anchor: crossing-year quantiles (inf = never in horizon), P(crossed by year)."""
    rows = []
    for a, name in enumerate(ds[ANCHOR].values):
        years = ds["crossing_year"].values[:, a]
        never = np.isnan(years)
        as_inf = np.where(never, np.inf, years)
        row: dict[str, Any] = {
            "anchor": str(name),
            "log10_flop": float(ds["anchor_log10_flop"].values[a]),
        }
        qs = np.quantile(as_inf, _quantiles(ds), method="inverted_cdf")
        row.update({f"q{q:g}": float(v) for q, v in zip(_quantiles(ds), qs, strict=True)})
        for y in _years(ds):
            row[f"p_by_{y:g}"] = float(np.mean(as_inf <= y))
        row["p_never"] = float(np.mean(never))
        rows.append(row)
    return rows


def summary_csv(ds: xr.Dataset) -> str:
    """Both summaries as one tidy CSV: ``section,subject,year,statistic,value``.

    ``value`` is ``inf`` where a crossing-year quantile is "never within the horizon".
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "subject", "year", "statistic", "value"])
    for row in compute_summary(ds):
        for key, value in row.items():
            if key != "year":
                w.writerow(
                    [
                        "compute",
                        "log10_compute" if key.startswith("q") else key,
                        f"{row['year']:g}",
                        key,
                        _fmt(value),
                    ]
                )
    for row in anchor_summary(ds):
        for key, value in row.items():
            if key in ("anchor",):
                continue
            year = key.removeprefix("p_by_") if key.startswith("p_by_") else ""
            stat = "p_crossed" if year else ("crossing_year_" + key if key.startswith("q") else key)
            w.writerow(["anchor", row["anchor"], year, stat, _fmt(value)])
    return buf.getvalue()


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return "inf" if math.isinf(value) else f"{value:.6g}"


def summary_markdown(ds: xr.Dataset) -> str:
    """A readable report: provenance, the compute table and the anchor table."""
    qs = _quantiles(ds)
    a = ds.attrs
    lines = [
        f"# Projection `{a['scenario_name']}`",
        "",
        f"{a['paths']} paths, seed {a['seed']}, start {a['start_date']} at "
        f"10^{a['log10_start_compute']:.2f} FLOP ({a['start_compute_source']}), "
        f"end {a['end_year']:g}; Moore units: {a['moore_units']}; "
        f"weight: {a['weight_shape']}; dataset: {a['dataset']} "
        f"(sha256 {a['dataset_sha256'][:12]}, {a['n_systems_pre_dl']} pre-DL and "
        f"{a['n_systems_dl']} DL systems, cut-off {a['data_cutoff']}); "
        f"projector {a['projector_version']}.",
        "",
        "## log10 training compute [FLOP] of the largest system",
        "",
        "| year | " + " | ".join(_qlabel(q) for q in qs) + " | anchors passed by median |",
        "|---:|" + "---:|" * len(qs) + "---:|",
    ]
    for row in compute_summary(ds):
        cells = [f"{row[f'q{q:g}']:.2f}" for q in qs]
        lines.append(
            f"| {row['year']:g} | " + " | ".join(cells) + f" | {row['anchors_passed_by_median']} |"
        )
    years = _years(ds)
    lines += [
        "",
        "## Anchors: year of first crossing and probability of having crossed",
        "",
        "| anchor | log10 FLOP | "
        + " | ".join(_qlabel(q) for q in qs)
        + " | "
        + " | ".join(f"P(by {y:g})" for y in years)
        + " | P(never) |",
        "|---|---:|" + "---:|" * (len(qs) + len(years) + 1),
    ]
    end = float(a["end_year"])
    for row in anchor_summary(ds):
        cells = [_year_cell(row[f"q{q:g}"], end) for q in qs]
        probs = [f"{row[f'p_by_{y:g}']:.2f}" for y in years]
        lines.append(
            f"| {row['anchor']} | {row['log10_flop']:g} | "
            + " | ".join(cells)
            + " | "
            + " | ".join(probs)
            + f" | {row['p_never']:.2f} |"
        )
    lines += [
        "",
        f"`never`: not crossed by {end:g} (the horizon). Crossing years are grid "
        "times (the first step at or above the threshold).",
        "",
    ]
    return "\n".join(lines)


def _qlabel(q: float) -> str:
    return "median" if q == 0.5 else f"{100 * q:g}%"


def _year_cell(value: float, end: float) -> str:
    return "never" if math.isinf(value) else f"{value:.1f}"


# --- writing and reading ---------------------------------------------------------------


def write_result(ds: xr.Dataset, out_dir: Path) -> list[Path]:
    """Write ``projection.nc``, ``summary.csv`` and ``summary.md`` into ``out_dir``.

    The summaries are written first and the cube last, each atomically, so a
    ``projection.nc`` that exists comes with its summaries.
    """
    out_dir = Path(out_dir)
    written = []
    for name, text in (("summary.csv", summary_csv(ds)), ("summary.md", summary_markdown(ds))):
        with atomic_path(out_dir / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    encoding: dict[str, dict[str, Any]] = {
        str(name): {"zlib": True, "complevel": 4, "shuffle": True} for name in ds.data_vars
    }
    for name in _ENCODED_FLOAT32:
        encoding[name]["dtype"] = "float32"
    target = out_dir / "projection.nc"
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    written.append(target)
    return written


def read_result(path: str | Path) -> xr.Dataset:
    """Load a result cube written by :func:`write_result` (fully into memory)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such result file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            loaded = ds.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable NetCDF file ({exc})") from None
    missing = [v for v in ("log10_compute", "crossing_year") if v not in loaded]
    if missing or "scenario_name" not in loaded.attrs:
        raise InputError(f"{path}: not a projector result cube (missing {missing or 'attrs'})")
    return loaded
