"""Summaries of a projection over all its paths, each with its Monte Carlo error.

Dependency direction: ``cube`` -> ``summary`` -> ``report``, ``plots``. Dataset in,
Dataset out: :func:`summarize` reads a projection (in memory, a streamed store opened
lazily, or an old NetCDF cube) and returns a Dataset with ``year``, ``quantile`` and
``anchor`` coordinates; Markdown and CSV are rendered from it by ``report``.

Exact statistics: quantiles and probabilities are computed over every path (no
histogram or sketch). Memory stays bounded because the yearly grid is read a block of
years at a time (at most :data:`BLOCK_BYTES`: 8 years of 10 million paths) and the
crossing years at once when they fit in the same bound, else one anchor at a time
(80 MB for 10 million paths).

Monte Carlo standard error (MCSE). Paths are independent and identically distributed
(each path's draws depend only on the seed and its index), so:

* a probability p estimated from N paths has MCSE ``sqrt(p~ (1 - p~) / N)`` with
  ``p~ = (k + 1/2) / (N + 1)`` (never exactly 0 when no path or every path crossed);
* a q-quantile's MCSE is half the distance between the empirical quantiles at the
  probabilities ``a, b`` that bound the +/-1 standard deviation interval of the
  order statistic's coverage, ``a, b = Beta^-1(0.1587, 0.8413; Nq + 1, N(1 - q) + 1)``:
  the distribution-free order-statistic interval, as ArviZ's ``mcse`` computes it
  for quantiles (Vehtari et al. 2021, "Rank-normalization, folding, and
  localization", Bayesian Analysis 16(2), section 4.3, with ESS = N for iid draws).

A figure is *quotable* at its printed precision when its MCSE is at most half a unit
of the last printed digit; ``paths_needed`` is the number of paths at which it would
be (MCSE falls as 1/sqrt(N)).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy import special

from projector.errors import InputError
from projector.model.cube import ANCHOR, TIME, VARIANT, YEAR, yearly_grid, yearly_values

YEARS_PER_READ = 8  # = store.YEARS_PER_READ (not imported: summary does not need zarr)

__all__ = [
    "ANCHORS_COUNTED",
    "FAN_QUANTILES",
    "PRECISION",
    "RATES",
    "anchors_passed",
    "paths_needed",
    "probability_mcse",
    "quantiles_with_mcse",
    "summarize",
    "value_at",
]

QUANTILE = "quantile"
#: Quantiles every summary has besides the scenario's (the fan chart's bands).
FAN_QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
#: Printed precision of each kind of figure in summary.md: decimals and half a unit.
PRECISION = {
    "compute_quantile": (2, 0.005),  # log10 FLOP
    "crossing_quantile": (1, 0.05),  # decimal year
    "p_crossed": (2, 0.005),
    "p_never": (2, 0.005),
    "p_above_threshold": (2, 0.005),
}
#: Memory for the block of years a summary reads at once [bytes].
BLOCK_BYTES = 400e6
_SD_LO, _SD_HI = float(special.ndtr(-1.0)), float(special.ndtr(1.0))
#: The per-path growth rates a summary reports at its head [OOM/year], by variable.
RATES = {
    "growth_dl": "Deep-Learning",
    "growth_pre_dl": "pre-DL",
    "growth_moore": "long-run",
}
#: Quantiles of each rate the summary keeps (median and 95% interval).
RATE_QUANTILES = (0.025, 0.5, 0.975)
#: Which anchors an "anchors passed" count counts, in words (every table that prints one
#: says so): all of the scenario's, the study's median anchor included.
ANCHORS_COUNTED = "every anchor of the scenario (the median anchor included)"


def anchors_passed(thresholds: npt.ArrayLike, level: npt.ArrayLike) -> np.ndarray:
    """How many anchors are at or below each level: the one anchor count.

    Parameters
    ----------
    thresholds
        The scenario's anchors [log10 FLOP], all of them (:data:`ANCHORS_COUNTED`): a
        threshold the scenario lists is counted whatever its weight, so the summary, the
        report and the comparison with the 2022 study's Table 1 count the same anchors.
    level
        log10 FLOP, any shape (e.g. the pointwise median path at each report year).

    Returns
    -------
    numpy.ndarray
        Integer counts, the shape of ``level``.
    """
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    x = np.asarray(level, dtype=np.float64)
    return np.sum(t.reshape((-1,) + (1,) * x.ndim) <= x[None], axis=0).astype(np.int64)


def value_at(ds: xr.Dataset, year: float) -> np.ndarray:
    """log10 compute of every path at ``year``, linear between grid times (path,).

    Needs the full paths (``log10_compute``); reads the whole variable.
    """
    times = ds[TIME].values
    if not times[0] - 1e-9 <= year <= times[-1] + 1e-9:
        raise InputError(
            f"year {year:g} is outside the projection [{times[0]:.2f}, {times[-1]:.2f}]"
        )
    at = yearly_values(times, ds["log10_compute"].values, np.array([year], dtype=np.float64))
    return np.asarray(at[:, 0], dtype=np.float64)


def quantiles_with_mcse(
    x: npt.NDArray[Any], qs: npt.ArrayLike, *, method: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact quantiles of ``x`` and their MCSE (order-statistic interval, module doc).

    ``x`` may hold ``inf`` (a crossing year "never"); a quantile whose interval reaches
    ``inf`` from a finite value has MCSE ``inf``, one that is ``inf`` throughout has 0.
    """
    q = np.asarray(qs, dtype=np.float64)
    n = x.shape[0]
    a = special.betaincinv(n * q + 1, n * (1 - q) + 1, _SD_LO)
    b = special.betaincinv(n * q + 1, n * (1 - q) + 1, _SD_HI)
    probs = np.concatenate([q, a, b])
    vals = np.quantile(x, probs, method=method)  # type: ignore[call-overload]  # one partition
    k = q.shape[0]
    est, lo, hi = vals[:k], vals[k : 2 * k], vals[2 * k :]
    with np.errstate(invalid="ignore"):
        mcse = np.where(np.isinf(lo) & np.isinf(hi), 0.0, (hi - lo) / 2.0)
    return est.astype(np.float64), mcse.astype(np.float64)


def probability_mcse(k: npt.ArrayLike, n: int) -> np.ndarray:
    """MCSE of a probability estimated as ``k / n`` from ``n`` iid paths."""
    p = (np.asarray(k, dtype=np.float64) + 0.5) / (n + 1)
    return np.sqrt(p * (1 - p) / n)


def paths_needed(mcse: npt.ArrayLike, n: int, tolerance: float) -> np.ndarray:
    """Paths at which an MCSE measured with ``n`` paths would fall to ``tolerance``."""
    m = np.asarray(mcse, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        need = np.ceil(n * (m / tolerance) ** 2)
    return np.where(np.isfinite(need), need, np.inf)


def _yearly(ds: xr.Dataset) -> tuple[np.ndarray, Any]:
    """The yearly grid and a function giving the paths' values at grid index k."""
    if "log10_compute_yearly" in ds:
        years = ds[YEAR].values
        var = ds["log10_compute_yearly"]
        # Read a block of years at a time (one store request per block, not per year):
        # whole inner chunks of the store, at most BLOCK_BYTES (8 years of 10^7 paths).
        block = int(BLOCK_BYTES // (4 * max(1, ds.sizes["path"])))
        block = max(1, block - block % YEARS_PER_READ if block >= YEARS_PER_READ else block)
        held: dict[int, np.ndarray] = {}

        def read(k: int) -> np.ndarray:
            b = k // block
            if b not in held:
                held.clear()
                held[b] = np.asarray(var[:, b * block : (b + 1) * block].values)
            return held[b][:, k - b * block]

        return years, read
    # an older cube (NetCDF, full paths only): interpolate the full paths
    years = yearly_grid(ds[TIME].values, tuple(_attr_list(ds, "report_years")))
    full = ds["log10_compute"].values
    times = ds[TIME].values

    def column(k: int) -> np.ndarray:
        return yearly_values(times, full, years[k : k + 1])[:, 0]

    return years, column


def _attr_list(ds: xr.Dataset, key: str) -> list[float]:
    return [float(v) for v in np.atleast_1d(ds.attrs[key])]


def summarize(ds: xr.Dataset, /) -> xr.Dataset:
    """Exact summaries of a projection with their Monte Carlo standard errors.

    Parameters
    ----------
    ds
        A projection: ``log10_compute_yearly`` (path, year) or ``log10_compute``
        (path, time), ``crossing_year`` (path, anchor), ``anchor_log10_flop``; with a
        ``variant`` dimension (a sweep), each variant is summarised separately.

    Returns
    -------
    xarray.Dataset
        Dims ``year`` (the yearly grid), ``quantile`` (the scenario's and
        :data:`FAN_QUANTILES`), ``anchor`` (and ``variant`` for a sweep):
        ``compute_quantile`` (year, quantile) [log10 FLOP], ``anchors_passed_by_median``
        (year), ``crossing_quantile`` (anchor, quantile) [decimal year, inf = never],
        ``p_crossed`` (anchor, year), ``p_never`` (anchor), each figure with its
        ``*_mcse``. The attributes are the projection's, plus ``paths`` summarised.
    """
    if VARIANT in ds.dims:
        provs = json.loads(ds.attrs.get("variant_provenance", "[]"))
        parts = []
        for v in range(ds.sizes[VARIANT]):
            one = ds.isel({VARIANT: v})
            one.attrs = {**ds.attrs, **(provs[v] if v < len(provs) else {})}
            parts.append(_summarize_one(one))
        out = xr.concat(parts, dim=VARIANT, combine_attrs="override", join="outer")
        out = out.assign_coords({VARIANT: ds[VARIANT].values})
        for name in ("variant_label", "variant_scenario"):
            if name in ds:
                out[name] = ds[name].load()
        return out
    return _summarize_one(ds)


def _summarize_one(ds: xr.Dataset) -> xr.Dataset:
    n = int(ds.sizes["path"])
    qs = np.array(sorted(set(_attr_list(ds, "report_quantiles")) | set(FAN_QUANTILES)))
    thresholds = np.asarray(ds["anchor_log10_flop"].values, dtype=np.float64)
    years, column = _yearly(ds)
    cq = np.full((len(years), len(qs)), np.nan)
    cq_se = np.full_like(cq, np.nan)
    passed = np.zeros(len(years), dtype=np.int64)

    def year(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        x = x[np.isfinite(x)]  # a sweep variant starting later has NaN before its start
        return quantiles_with_mcse(x, qs) if x.size else None

    # NumPy partitions without the GIL: the years of a read block on two threads (a
    # block at a time, so memory stays at one block of years).
    levels = np.array(_attr_list(ds, "report_thresholds") if "report_thresholds" in ds.attrs
                      else [], dtype=np.float64)  # fmt: skip
    above = np.zeros((len(levels), len(years)))
    with cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="summary") as pool:
        for first in range(0, len(years), YEARS_PER_READ):
            ks = range(first, min(first + YEARS_PER_READ, len(years)))
            cols = [column(k) for k in ks]
            for k, res in zip(ks, pool.map(year, cols), strict=True):
                if res is not None:
                    cq[k], cq_se[k] = res
                    passed[k] = int(anchors_passed(thresholds, cq[k][qs == 0.5][0]))
            for k, col in zip(ks, cols, strict=True):
                if levels.size:  # P(above each report threshold); NaN before a start
                    ok = col[np.isfinite(col)]
                    above[:, k] = (ok[None, :] > levels[:, None]).mean(axis=1) if ok.size else 0
    n_anchor = len(thresholds)
    xq = np.full((n_anchor, len(qs)), np.nan)
    xq_se = np.full_like(xq, np.nan)
    p_by = np.zeros((n_anchor, len(years)))
    never = np.zeros(n_anchor)
    crossing = ds["crossing_year"]
    if n * n_anchor * 8 <= BLOCK_BYTES:  # one read, not one per anchor (each reads all)
        crossing = crossing.load()
    for a in range(n_anchor):
        col = np.asarray(crossing[:, a].values, dtype=np.float64)
        as_inf = np.where(np.isnan(col), np.inf, col)
        xq[a], xq_se[a] = quantiles_with_mcse(as_inf, qs, method="inverted_cdf")
        # count(crossing <= year) for every year at once: index of the first year >= it
        idx = np.searchsorted(years, as_inf, side="left")
        p_by[a] = np.cumsum(np.bincount(idx, minlength=len(years) + 1))[: len(years)] / n
        never[a] = float(np.count_nonzero(np.isnan(col))) / n
    by_level = {}
    if levels.size:
        by_level = {
            "p_above_threshold": (("threshold", YEAR), above),
            "p_above_threshold_mcse": (("threshold", YEAR), probability_mcse(above * n, n)),
        }
    rates = [r for r in RATES if r in ds.variables]
    by_rate = {}
    if rates:  # an old cube may lack them; the head of summary.md prints what there is
        rq = np.array([np.quantile(np.asarray(ds[r].values, dtype=np.float64), RATE_QUANTILES)
                       for r in rates])  # fmt: skip
        by_rate = {"growth_rate_quantile": (("rate", "rate_quantile"), rq)}
    out = xr.Dataset(
        {
            **by_level,
            **by_rate,
            "compute_quantile": ((YEAR, QUANTILE), cq),
            "compute_quantile_mcse": ((YEAR, QUANTILE), cq_se),
            "anchors_passed_by_median": ((YEAR,), passed),
            "crossing_quantile": ((ANCHOR, QUANTILE), xq),
            "crossing_quantile_mcse": ((ANCHOR, QUANTILE), xq_se),
            "p_crossed": ((ANCHOR, YEAR), p_by),
            "p_crossed_mcse": ((ANCHOR, YEAR), probability_mcse(p_by * n, n)),
            "p_never": ((ANCHOR,), never),
            "p_never_mcse": ((ANCHOR,), probability_mcse(never * n, n)),
            "anchor_log10_flop": ((ANCHOR,), thresholds),
        },
        coords={
            YEAR: years,
            QUANTILE: qs,
            ANCHOR: np.array([str(a) for a in ds[ANCHOR].values]),
            **({"threshold": levels} if levels.size else {}),
            **(
                {"rate": np.array(rates), "rate_quantile": np.array(RATE_QUANTILES)}
                if rates
                else {}
            ),
        },
        attrs=dict(ds.attrs),
    )
    units = {
        "compute_quantile": ("log10 FLOP", "quantile over paths of log10 compute at the year"),
        "anchors_passed_by_median": (
            "1",
            f"anchors at or below the pointwise median: {ANCHORS_COUNTED}",
        ),
        "crossing_quantile": ("decimal year", "quantile of the first crossing (inf: never)"),
        "p_crossed": ("1", "probability of having crossed the anchor by the year"),
        "p_never": ("1", "probability of not crossing within the horizon"),
        "anchor_log10_flop": ("log10 FLOP", "anchor threshold"),
        **(
            {"growth_rate_quantile": ("OOM/year", "quantile over paths of each growth rate")}
            if rates
            else {}
        ),
        **(
            {
                "p_above_threshold": (
                    "1",
                    "probability the path is above the report threshold "
                    "(report.thresholds, log10 FLOP) at the year",
                )
            }
            if levels.size
            else {}
        ),
    }
    for name, (u, long_name) in units.items():
        out[name].attrs.update(units=u, long_name=long_name)
        if name in PRECISION:
            decimals, tol = PRECISION[name]
            out[f"{name}_mcse"].attrs.update(
                units=u,
                long_name=f"Monte Carlo standard error of {name}",
                printed_decimals=decimals,
                quotable_below=tol,
            )
    out.attrs.update(
        paths=n,
        mcse_method="iid paths: order-statistic interval for quantiles (ArviZ mcse_quantile, "
        "ESS = N), binomial with (k + 1/2) / (N + 1) for probabilities",
        report_years=[float(y) for y in _attr_list(ds, "report_years")],
        report_quantiles=[float(q) for q in _attr_list(ds, "report_quantiles")],
    )
    if "log10_ceiling" in ds:
        from projector.model.ceiling_summary import summarize_ceilings

        extra = summarize_ceilings(ds, qs, n)
        out = out.merge(extra, combine_attrs="override")
        out.attrs["ceiling_quantile_paths"] = extra.attrs["ceiling_quantile_paths"]
    return out
