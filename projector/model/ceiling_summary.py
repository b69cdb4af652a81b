"""Summaries of a run's ceilings: how much of it lies above them, which binds, and when.

Dependency direction: ``cube`` -> ``ceiling_summary`` -> ``summary`` (which merges it into
every summary of a run with ceilings), ``report`` and ``plots``. Dataset in, Dataset out.

The figures, by ceiling (``constraint``) and ``year`` of the yearly grid:

* ``ceiling_quantile`` (constraint, year, quantile) [log10 FLOP]: the ceilings' spread;
* ``p_above_ceiling``: P(the path, as stored, is above the ceiling): under ``report`` the
  share of the scenario that no constraint allows; under ``clip`` zero but for paths
  whose record at the start already lay above a drawn ceiling;
* ``p_reached_ceiling``: P(the path before its ceilings reached this one by the year);
* ``p_binding``: P(this is the lowest ceiling of the path at the year);
* ``p_bound``: P(the path has reached a ceiling by the year and this one binds there),
  the share of paths held back by each constraint;
* ``p_first_reached`` (first): which ceiling a path reaches first (``none``: none in the
  horizon); ``slow_year_quantile`` (quantile): the year a path first reaches a ceiling,
  where growth slows under ``saturate`` (inf: never); ``p_start_at_ceiling``: the share
  of paths already at or above a ceiling at the start (drawn ceilings below the record
  set; the record floor keeps them at C(s)).

Each probability has its binomial MCSE (``summary.probability_mcse``). Memory: the
ceilings of every path are read at once up to :data:`READ_BYTES`, else in blocks of
paths; above that size the ceiling quantiles come from the first
:data:`QUANTILE_PATHS` paths (iid, so a random sample; the attribute says so).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xarray as xr

from projector.model.cube import CONSTRAINT, YEAR

__all__ = ["ABOVE_TOLERANCE", "FIRST", "QUANTILE_PATHS", "READ_BYTES", "summarize_ceilings"]

FIRST = "first"
READ_BYTES = 800e6
#: A path counts as above a ceiling when above it by more than this [OOM]: both are stored
#: as float32 (a clipped path equals its ceiling to the last bit of float64 only).
ABOVE_TOLERANCE = 1e-4
QUANTILE_PATHS = 1_000_000


def summarize_ceilings(ds: xr.Dataset, qs: npt.NDArray[np.float64], n: int) -> xr.Dataset:
    """The ceilings' figures of a projection with ``log10_ceiling`` (module docstring)."""
    from projector.model.summary import probability_mcse, quantiles_with_mcse

    names = [str(c) for c in ds[CONSTRAINT].values]
    years = ds[YEAR].values
    k, n_year = len(names), len(years)
    reached = np.asarray(ds["ceiling_reached_year"].values, dtype=np.float64)
    first_time = np.where(np.isnan(reached), np.inf, reached).min(axis=1)
    counts = {x: np.zeros((k, n_year)) for x in ("above", "reached", "binding", "bound")}
    per_path = 4 * k * n_year + n_year + 4 * n_year
    block = max(1, int(READ_BYTES // per_path))
    sample = []
    for a in range(0, n, block):
        b = min(a + block, n)
        ceil = np.asarray(ds["log10_ceiling"][a:b].values, dtype=np.float64)
        bind = np.asarray(ds["binding_constraint"][a:b].values)
        value = np.asarray(ds["log10_compute_yearly"][a:b].values, dtype=np.float64)
        counts["above"] += (value[:, None, :] > ceil + ABOVE_TOLERANCE).sum(axis=0)
        counts["reached"] += (reached[a:b, :, None] <= years[None, None, :]).sum(axis=0)
        held = first_time[a:b, None] <= years[None, :]
        for c in range(k):
            counts["binding"][c] += (bind == c).sum(axis=0)
            counts["bound"][c] += ((bind == c) & held).sum(axis=0)
        if a < QUANTILE_PATHS:
            sample.append(ceil[: QUANTILE_PATHS - a])
    ceil = np.concatenate(sample)
    cq = np.full((k, n_year, len(qs)), np.nan)
    for c in range(k):
        for y in range(n_year):
            col = ceil[:, c, y]
            if np.isfinite(col).all():
                cq[c, y] = quantiles_with_mcse(col, qs)[0]
    first = np.where(np.isinf(first_time), k, np.argmin(np.nan_to_num(reached, nan=np.inf), 1))
    p_first = np.bincount(first, minlength=k + 1) / n
    slow = quantiles_with_mcse(first_time, qs, method="inverted_cdf")[0]
    start = float(ds["time"].values[0]) if "time" in ds else float(years[0])
    at_start = float(np.count_nonzero(first_time <= start + 1e-9)) / n
    data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
        "ceiling_quantile": ((CONSTRAINT, YEAR, "quantile"), cq),
        "p_first_reached": ((FIRST,), p_first),
        "slow_year_quantile": (("quantile",), slow),
    }
    for name, key in (
        ("p_above_ceiling", "above"),
        ("p_reached_ceiling", "reached"),
        ("p_binding", "binding"),
        ("p_bound", "bound"),
    ):
        p = counts[key] / n
        data[name] = ((CONSTRAINT, YEAR), p)
        data[f"{name}_mcse"] = ((CONSTRAINT, YEAR), probability_mcse(p * n, n))
    out = xr.Dataset(
        data,
        coords={CONSTRAINT: names, FIRST: [*names, "none"], YEAR: years, "quantile": qs},
    )
    out["p_start_at_ceiling"] = ((), at_start)
    units = {
        "ceiling_quantile": ("log10 FLOP", "quantile over paths of the ceiling at the year"),
        "p_above_ceiling": ("1", "probability the path is above the ceiling at the year"),
        "p_reached_ceiling": ("1", "probability the unconstrained path reached it by the year"),
        "p_binding": ("1", "probability this is the path's lowest ceiling at the year"),
        "p_bound": ("1", "probability the path is held at a ceiling and this one binds"),
        "p_first_reached": ("1", "probability this is the first ceiling the path reaches"),
        "slow_year_quantile": ("decimal year", "quantile of the year a path first reaches "
                               "a ceiling (inf: never)"),
        "p_start_at_ceiling": ("1", "share of paths at or above a ceiling at the start"),
    }  # fmt: skip
    for name, (u, long_name) in units.items():
        out[name].attrs.update(units=u, long_name=long_name)
    out.attrs["ceiling_quantile_paths"] = min(n, QUANTILE_PATHS)
    return out
