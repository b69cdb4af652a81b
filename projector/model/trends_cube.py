"""The result cube of the Three Eras analysis: one window per fit, one draw per resample.

Dependency direction: ``studies.trends`` (the fits) -> ``trends_cube`` -> ``store`` (writes
``trends.nc``), ``render``. Declared once here: the columns of ``trends.csv`` and the
Dataset's variables, units and long names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from projector import __version__

if TYPE_CHECKING:
    import xarray as xr

    from projector.studies.trends import TrendAnalysis


__all__ = ["DRAW", "SYSTEM", "TREND_COLUMNS", "WINDOW", "trends_table", "trends_to_dataset"]

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


def trends_to_dataset(
    analysis: TrendAnalysis, *, created_at: dt.datetime | None = None
) -> xr.Dataset:
    """The trends as a Dataset: per-window fits and bootstrap draws, per-system classes.

    Dims: ``window``, ``draw`` (bootstrap resample), ``system``.
    """
    import xarray as xr

    from projector.studies.trends import SCALE_CLASSES

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
