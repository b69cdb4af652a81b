"""Result cubes: build the xarray Dataset, summarise it, write and read it.

Dependency direction: ``engine`` -> ``results`` -> ``plots`` / ``cli``. This is the one
place that names dimensions and variables and sets units, long names and provenance
attributes; everything downstream reads them from the Dataset.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from projector import __version__, checks
from projector.engine import Projection, start_date_label
from projector.errors import InputError
from projector.fileio import atomic_path, write_bytes
from projector.scenario import Scenario
from projector.transaction import result_transaction
from projector.trends import SCALE_CLASSES, TrendAnalysis

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
    "trends_table",
    "trends_to_dataset",
    "value_at",
    "write_result",
    "write_trends",
]

PATH, TIME, ANCHOR, COMPONENT, SYSTEM = "path", "time", "anchor", "component", "system"

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
    "start_offset": ((PATH,), "OOM", "error drawn on log10 C(s) (start.log10_sd; 0 when off)"),
    "frontier_origin": (
        (PATH,),
        "decimal year",
        "origin of the frontier deviation added to the path (NaN: none)",
    ),
    "anchor_log10_flop": ((ANCHOR,), "log10 FLOP", "anchor threshold"),
    "anchor_weight": ((ANCHOR,), "1", "belief in the anchor's hypothesis (NaN: not given)"),
    "system_year": (
        (SYSTEM,),
        "decimal year",
        "publication date of a system the run was fitted on",
    ),
    "system_log10_compute": ((SYSTEM,), "log10 FLOP", "training compute of that system"),
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
        "start_offset": proj.start_offset,
        "frontier_origin": proj.frontier_origin,
        "anchor_log10_flop": np.array([a.log10_flop for a in scen.anchors], dtype=np.float64),
        "anchor_weight": np.array(
            [np.nan if a.weight is None else a.weight for a in scen.anchors], dtype=np.float64
        ),
        "system_year": eras.systems.year,
        "system_log10_compute": eras.systems.log10_compute,
        "component_weight": np.array([c.weight for c in scen.reversion]),
    }
    ds = xr.Dataset(
        {name: (VARIABLES[name][0], values) for name, values in data.items()},
        coords={
            PATH: np.arange(proj.log10_compute.shape[0]),
            TIME: proj.times,
            ANCHOR: [a.name for a in scen.anchors],
            COMPONENT: [c.name for c in scen.reversion],
            SYSTEM: eras.systems.name.astype(str),
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
        logistic_width_years=scen.logistic_width_years,
        reversion_before_start=scen.reversion_before_start,
        growth_fit=scen.fit,
        estimate_noise_factor=scen.estimate_noise_factor,
        frontier_noise=scen.frontier_noise,
        scenario_overrides=json.dumps(list(scen.overrides)),
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
        *(
            [
                "",
                f"{int(a['clipped_rate_draws'])} bootstrap rate draw(s) were <= 0 and were "
                f"raised to the scenario's clip_floor (growth.nonpositive = 'clip').",
            ]
            if int(a.get("clipped_rate_draws", 0)) > 0
            else []
        ),
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


def write_result(
    ds: xr.Dataset, out_dir: Path, figures: dict[str, Any] | None = None
) -> list[Path]:
    """Write ``projection.nc``, ``summary.csv``, ``summary.md`` (and ``figures``, PNG).

    The folder is replaced as a whole in one atomic step
    (:func:`~projector.transaction.result_transaction`): an older result stays intact
    until the new one is complete, and a failed or interrupted write leaves it unchanged.
    The cube is encoded in memory first, so a full disk fails in plain file I/O.
    """
    out_dir = Path(out_dir)
    texts = {"summary.csv": summary_csv(ds), "summary.md": summary_markdown(ds)}
    encoding: dict[str, dict[str, Any]] = {
        str(name): {"zlib": True, "complevel": 4, "shuffle": True} for name in ds.data_vars
    }
    for name in _ENCODED_FLOAT32:
        encoding[name]["dtype"] = "float32"
    cube = ds.to_netcdf(engine="h5netcdf", encoding=encoding)
    with result_transaction(out_dir) as tmp:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, fig in (figures or {}).items():
            fig.savefig(tmp / name, dpi=130, format="png")
        write_bytes(tmp / "projection.nc", cube)
    return [out_dir / name for name in (*texts, *(figures or {}), "projection.nc")]


def read_result(path: str | Path) -> xr.Dataset:
    """Load a result cube written by :func:`write_result` (fully into memory)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such result file")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            loaded = ds.load()
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        # h5py reports a truncated or corrupt file as any of these
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: not a readable NetCDF file ({text})") from None
    checks.check_cube(loaded, path)
    return loaded


# --- historical trends ------------------------------------------------------------------

WINDOW, DRAW, SYSTEM = "window", "draw", "system"

#: Columns of ``trends.csv``, in order.
TREND_COLUMNS = (
    "window",
    "quantity",
    "start",
    "end",
    "scale",
    "domain",
    "n",
    "slope_oom_per_year",
    "slope_lo",
    "slope_median",
    "slope_hi",
    "doubling_months",
    "doubling_months_lo",
    "doubling_months_median",
    "doubling_months_hi",
    "r2",
    "line_start",
    "line_end",
)


def trends_table(analysis: TrendAnalysis) -> list[dict[str, Any]]:
    """One row per window (see :data:`TREND_COLUMNS`); line values in FLOP or parameters."""
    rows = []
    for fit in analysis.fits:
        w = fit.window
        lo, med, hi = fit.slope_quantiles()
        d_lo, d_hi = fit.doubling_interval()
        end = w.end or analysis.cutoff or str(analysis.systems.date.max())
        rows.append(
            {
                "window": w.name,
                "quantity": w.quantity,
                "start": str(w.start),
                "end": str(end),
                "scale": w.scale,
                "domain": w.domain or "all",
                "n": fit.n,
                "slope_oom_per_year": fit.slope,
                "slope_lo": lo,
                "slope_median": med,
                "slope_hi": hi,
                "doubling_months": fit.doubling_months,
                "doubling_months_lo": d_lo,
                "doubling_months_median": _doubling_of(med),
                "doubling_months_hi": d_hi,
                "r2": fit.r2,
                "line_start": fit.line_start,
                "line_end": fit.line_end,
            }
        )
    return rows


def _doubling_of(slope: float) -> float:
    if math.isnan(slope):
        return math.nan
    return 12.0 * math.log10(2.0) / slope if slope > 0 else math.inf


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


def trends_to_dataset(
    analysis: TrendAnalysis, *, created_at: dt.datetime | None = None
) -> xr.Dataset:
    """The trends as a Dataset: per-window fits and bootstrap draws, per-system classes.

    Dims: ``window``, ``draw`` (bootstrap resample), ``system``.
    """
    rows = trends_table(analysis)
    s = analysis.systems
    ds = xr.Dataset(
        {
            "n": ((WINDOW,), np.array([r["n"] for r in rows])),
            **{
                col: ((WINDOW,), np.array([r[col] for r in rows], dtype=np.float64))
                for col in TREND_COLUMNS[7:]
            },
            "intercept": ((WINDOW,), np.array([f.intercept for f in analysis.fits])),
            "fit_first_year": ((WINDOW,), np.array([f.first for f in analysis.fits])),
            "fit_last_year": ((WINDOW,), np.array([f.last for f in analysis.fits])),
            "boot_slope": ((WINDOW, DRAW), np.stack([f.boot_slope for f in analysis.fits])),
            "boot_intercept": ((WINDOW, DRAW), np.stack([f.boot_intercept for f in analysis.fits])),
            "quantity": ((WINDOW,), np.array([r["quantity"] for r in rows])),
            "window_start": ((WINDOW,), np.array([r["start"] for r in rows])),
            "window_end": ((WINDOW,), np.array([r["end"] for r in rows])),
            "scale": ((WINDOW,), np.array([r["scale"] for r in rows])),
            "domain": ((WINDOW,), np.array([r["domain"] for r in rows])),
            "system_name": ((SYSTEM,), s.name.astype(str)),
            "system_domain": ((SYSTEM,), s.domain.astype(str)),
            "publication_year": ((SYSTEM,), s.year),
            "log10_compute": ((SYSTEM,), s.log10_compute),
            "log10_parameters": (
                (SYSTEM,),
                np.log10(np.where(s.parameters > 0, s.parameters, np.nan)),
            ),
            "z_score": ((SYSTEM,), analysis.z_score),
            "scale_class": ((SYSTEM,), analysis.scale_class),
        },
        coords={WINDOW: [r["window"] for r in rows], SYSTEM: np.arange(len(s))},
    )
    units = {
        "n": ("1", "systems in the window"),
        "slope_oom_per_year": ("OOM/year", "OLS slope of log10 value on decimal year"),
        "slope_lo": ("OOM/year", "2.5% bootstrap quantile of the slope"),
        "slope_median": ("OOM/year", "50% bootstrap quantile of the slope"),
        "slope_hi": ("OOM/year", "97.5% bootstrap quantile of the slope"),
        "doubling_months_median": ("months", "doubling time at the median bootstrap slope"),
        "doubling_months": ("months", "doubling time 12 log10(2) / slope"),
        "doubling_months_lo": ("months", "doubling time at the 97.5% slope"),
        "doubling_months_hi": ("months", "doubling time at the 2.5% slope"),
        "r2": ("1", "coefficient of determination"),
        "line_start": ("FLOP or parameters", "fitted line at the window's first system"),
        "line_end": ("FLOP or parameters", "fitted line at the window's last system"),
        "intercept": ("log10 value", "OLS intercept (at year 0)"),
        "fit_first_year": ("decimal year", "first system in the window's fit"),
        "fit_last_year": ("decimal year", "last system in the window's fit"),
        "boot_slope": ("OOM/year", "slope of each bootstrap resample"),
        "boot_intercept": ("log10 value", "intercept of each bootstrap resample"),
        "publication_year": ("decimal year", "publication date"),
        "log10_compute": ("log10 FLOP", "log10 of training compute"),
        "log10_parameters": ("log10 parameters", "log10 of trainable parameters"),
        "z_score": ("1", "Z-score of log10 compute among neighbours"),
        "scale_class": ("1", "scale class code"),
    }
    for name, (u, long_name) in units.items():
        ds[name].attrs.update(units=u, long_name=long_name)
    ds["scale_class"].attrs["flag_meanings"] = " ".join(SCALE_CLASSES)
    created = created_at or dt.datetime.now(dt.UTC)
    rule = analysis.rule
    ds.attrs.update(
        title=f"projector trends: {s.label}",
        projector_version=__version__,
        dataset=s.label,
        dataset_sha256=s.sha256,
        data_cutoff=str(analysis.cutoff or "none"),
        seed=analysis.seed,
        resamples=analysis.resamples,
        estimate_noise=int(analysis.noise),
        z_half_width_years=rule.half_width_years,
        z_low=rule.low,
        z_high=rule.high,
        large_scale_from=str(rule.large_from),
        breaks=json.dumps([dataclasses.asdict(b) for b in analysis.breaks], default=str),
        created_at=created.isoformat(timespec="seconds"),
        method="Sevilla et al. (2022), Compute Trends Across Three Eras of Machine Learning, "
        "arXiv:2202.05924; see method.md section 8",
    )
    return ds


def write_trends(analysis: TrendAnalysis, out_dir: Path, figures: dict[str, Any]) -> list[Path]:
    """Write trends.csv, trends.md, the figures (PNG) and trends.nc, as one transaction.

    The folder is replaced as a whole (see :func:`write_result`).
    """
    out_dir = Path(out_dir)
    texts = {"trends.csv": trends_csv(analysis), "trends.md": trends_markdown(analysis)}
    ds = trends_to_dataset(analysis)
    encoding = {
        str(v): {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind == "f"
    }
    cube = ds.to_netcdf(engine="h5netcdf", encoding=encoding)
    with result_transaction(out_dir) as tmp:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, fig in figures.items():
            fig.savefig(tmp / name, dpi=130, format="png")
        write_bytes(tmp / "trends.nc", cube)
    return [out_dir / name for name in (*texts, *figures, "trends.nc")]
