"""Counts of models above thresholds from a projection's paths, and their backtest.

Dependency direction: ``pipeline.run`` and ``model.counts`` -> ``studies.counts`` ->
``render.count_plots`` / ``cli.counts``. No files are written here; the CLI writes what
:func:`counts` and :func:`backtest` return.

:func:`counts` runs a scenario (the same :class:`~projector.pipeline.run.Run` as
``projector project``, in memory with every full path), fits the distribution below the
frontier to the data before the start (:mod:`projector.model.counts`) and draws each
path's counts from its own frontier. It returns one Dataset: the per-path counts, their
distribution over paths (quantiles, mean, P(at least one), each with its Monte Carlo
standard error), the realised counts at the start as intervals, and the published
forecasts it is set beside (:data:`PUBLISHED`).

:mod:`projector.studies.count_backtest` hindcasts the counts of notable systems above
1e22-1e25 FLOP from past cut-offs (each hindcast the frontier backtest's run) and scores
them against the realised counts (coverage of the 50% and 90% bands, the ranked
probability score) beside a naive baseline, the count's own past growth rate.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.systems import Systems, decimal_year
from projector.model import counts as model

if TYPE_CHECKING:
    import xarray as xr

    from projector.inputs.scenario import Scenario

__all__ = [
    "BACKTEST_THRESHOLDS",
    "PUBLISHED",
    "QUANTILES",
    "counts",
    "parse_thresholds",
    "parse_within",
    "parse_years",
]

DEFAULT_THRESHOLDS = (25.0, 26.0, 27.0)  # log10 FLOP
DEFAULT_WITHIN = (1.0, 2.0)  # OOM
BACKTEST_THRESHOLDS = (22.0, 23.0, 24.0, 25.0)
#: First year (its start) of the realised counts kept for the figure.
HISTORY_FROM = 2018
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: What the output says about censored rows (counts.md, the Dataset's attributes).
CENSORING_NOTE = (
    "Rows whose figure is a lower bound (compute_bound = lower) count as systems of at "
    "least that compute, never more: the observed counts at the start are 'at least' "
    "figures and the projected counts start from them. The realised count is an interval "
    "[at least, at most]: the upper end adds the lower-bounded systems below the threshold "
    "released when some system had reached it, which may lie above it."
)

#: Published forecasts the counts are set beside: (source, log10 threshold, by [decimal
#: year], low, high, what was said). ``low``/``high`` NaN where the source gives none.
PUBLISHED: tuple[dict[str, Any], ...] = (
    dict(source="Epoch AI (Cottier & Owen 2025)", threshold=26.0, by=2026.0, low=math.nan,
         high=math.nan, central=10.0, said="about 10 models above 1e26 by 2026"),
    dict(source="Epoch AI (Cottier & Owen 2025)", threshold=26.0, by=2027.0, low=math.nan,
         high=math.nan, central=30.0, said="about 30 by the start of 2027"),
    dict(source="Epoch AI (Cottier & Owen 2025)", threshold=26.0, by=2030.0, low=200.0,
         high=math.nan, central=math.nan, said="over 200 by 2030"),
    dict(source="GovAI (Kumar & Manning 2025)", threshold=25.0, by=2029.0, low=103.0,
         high=306.0, central=math.nan, said="103-306 above 1e25 by the end of 2028 (90%)"),
    dict(source="GovAI (Kumar & Manning 2025)", threshold=26.0, by=2029.0, low=45.0,
         high=148.0, central=math.nan, said="45-148 above 1e26 by the end of 2028 (90%)"),
)  # fmt: skip


# --- arguments ----------------------------------------------------------------------


def _numbers(text: str | Sequence[float], what: str) -> list[float]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for part in parts:
        if isinstance(part, str):
            part = part.strip()
            if not part:
                continue
        try:
            value = float(part)
        except (TypeError, ValueError):
            raise InputError(f"{what}: expected numbers, comma-separated, got {part!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{what}: expected finite numbers, got {part!r}")
        out.append(value)
    if not out:
        raise InputError(f"{what}: give at least one value")
    if any(b <= a for a, b in itertools.pairwise(out)):
        shown = ",".join(f"{v:g}" for v in out)
        raise InputError(
            f"{what}: values must be in increasing order without repeats, got {shown} "
            "(refused, not sorted)"
        )
    return out


def parse_thresholds(text: str | Sequence[float], /) -> list[float]:
    """Thresholds in FLOP (``1e25,1e26``), increasing; returned as log10 FLOP.

    A negative or zero value, a non-number and values out of order are refused (not
    sorted): an order given wrongly is more likely a typo than a wish.
    """
    values = _numbers(text, "--thresholds")
    bad = [v for v in values if v <= 0]
    if bad:
        raise InputError(
            f"--thresholds: each threshold must be a number of FLOP > 0, got {bad[0]:g}"
        )
    return [math.log10(v) for v in values]


def parse_within(text: str | Sequence[float], /) -> list[float]:
    """Distances below the frontier [OOM] (``1,2``), increasing, each in (0, 3]."""
    values = _numbers(text, "--within")
    bad = [v for v in values if not 0 < v <= model.BANDS]
    if bad:
        raise InputError(
            f"--within: each value must be in (0, {model.BANDS}] orders of magnitude below "
            f"the frontier (the bands modelled), got {bad[0]:g}"
        )
    return values


def parse_years(text: str | Sequence[float], /) -> list[int]:
    """Calendar years (``2026,2028`` or ``2026:2030``), counted at each year's end."""
    if isinstance(text, str) and ":" in text:
        pieces = text.split(":")
        try:
            first, last = (int(p) for p in pieces)
        except ValueError:
            raise InputError(
                f"--years: a range is FIRST:LAST in whole years, got {text!r}"
            ) from None
        if last < first:
            raise InputError(f"--years {text!r}: LAST is before FIRST")
        return list(range(first, last + 1))
    values = _numbers(text, "--years")
    if any(v != int(v) for v in values):
        raise InputError(f"--years: expected whole calendar years, got {text!r}")
    return [int(v) for v in values]


# --- the forward counts -------------------------------------------------------------


def counts(
    scenario: str | Path | Scenario,
    /,
    *,
    thresholds: str | Sequence[float] = (1e25, 1e26, 1e27),
    within: str | Sequence[float] = DEFAULT_WITHIN,
    years: str | Sequence[int] | None = None,
    method: str = "bands",
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | Path | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Counts of models above ``thresholds`` [FLOP] and within ``within`` OOM of the
    frontier at the end of each of ``years``, from the scenario's paths.

    Parameters
    ----------
    years
        Calendar years, counted at each year's end (default: the start's year to 2030,
        or to the projection's end).
    method
        ``bands`` (fitted to the data) or ``allocation`` (GovAI's); :mod:`projector.model.counts`.
    paths, seed, dataset, changes
        As for :class:`~projector.pipeline.run.Run`; the counts' own random streams
        use the same seed.

    Returns
    -------
    xarray.Dataset
        Dims ``path``, ``threshold`` [log10 FLOP], ``within`` [OOM], ``year``,
        ``quantile``, ``band``, ``published``: ``count_above`` and ``count_within``
        (path first) and their summaries (module docstring).
    """
    from projector.pipeline.run import Run

    th = parse_thresholds(thresholds)
    wk = parse_within(within)
    if method not in model.METHODS:
        raise InputError(f"--method: expected one of {', '.join(model.METHODS)}, got {method!r}")
    run = Run(scenario, paths=paths, seed=seed, dataset=dataset, changes=changes, client=client,
              progress=progress)  # fmt: skip
    scen = run.resolve()
    ds = run.result()
    times = ds["time"].values.astype(np.float64)
    start = float(times[0])
    if years is None:
        last = max(2030, math.floor(start)) if times[-1] >= 2031.0 else math.floor(times[-1]) - 1
        yrs = list(range(math.floor(start), last + 1))
    else:
        yrs = parse_years(years)
    bad = [y for y in yrs if not start < y + 1.0 <= times[-1] + 1e-9]
    if bad:
        raise InputError(
            f"--years: {bad[0]} ends outside the projection ({start:.2f} to {times[-1]:.2f}); "
            "give years whose end lies after the start"
        )
    systems = run.load()
    if scen.data.cutoff is not None:
        systems = systems.until(scen.data.cutoff)
    known = systems.take(systems.year <= start + 1e-9)
    fit_start = decimal_year(scen.data.dl_start)
    fit = model.fit_bands(known, start, fit_start=fit_start) if method == "bands" else None
    at = [y + 1.0 for y in yrs]
    draws = model.simulate(
        ds["log10_compute"].values, times, start, known.log10_compute, th, wk, at,
        method=method, fit=fit, seed=int(ds.attrs["seed"]),
    )  # fmt: skip
    lo, hi = model.realised_counts(known, th, start)
    out = _dataset(ds, draws, th, wk, yrs, lo, hi, method, fit, known, start)
    history = np.array([*np.arange(HISTORY_FROM, math.floor(start) + 1, dtype=float), start])
    ends = [model.realised_counts(known, th, t) for t in history]
    out["history_at_least"] = (("threshold", "history_time"), np.array([e[0] for e in ends]).T)
    out["history_at_most"] = (("threshold", "history_time"), np.array([e[1] for e in ends]).T)
    return out.assign_coords(history_time=("history_time", history, {"units": "decimal year"}))


def _summary(x: npt.NDArray[np.int32]) -> dict[str, npt.NDArray[np.float64]]:
    """Quantiles, mean, P(at least one) and their MCSE over the first axis."""
    from projector.model.summary import probability_mcse, quantiles_with_mcse

    n = x.shape[0]
    flat = x.reshape(n, -1).astype(np.float64)
    qs, qm = [], []
    for col in flat.T:
        q, m = quantiles_with_mcse(col, QUANTILES, method="inverted_cdf")
        qs.append(q)
        qm.append(m)
    rest = x.shape[1:]
    k = (flat >= 1).sum(axis=0)
    return {
        "quantile": np.array(qs).reshape(*rest, len(QUANTILES)),
        "quantile_mcse": np.array(qm).reshape(*rest, len(QUANTILES)),
        "mean": flat.mean(axis=0).reshape(rest),
        "mean_mcse": (flat.std(axis=0, ddof=1) / math.sqrt(n)).reshape(rest),
        "p_at_least_one": (k / n).reshape(rest),
        "p_at_least_one_mcse": probability_mcse(k, n).reshape(rest),
    }


def _dataset(
    ds: xr.Dataset,
    draws: model.CountDraws,
    th: list[float],
    wk: list[float],
    yrs: list[int],
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    method: str,
    fit: model.BandFit | None,
    known: Systems,
    start: float,
) -> xr.Dataset:
    import xarray as xr

    coords = {
        "threshold": ("threshold", np.array(th), {"units": "log10 FLOP"}),
        "within": ("within", np.array(wk), {"units": "OOM below the frontier"}),
        "year": ("year", np.array(yrs), {"long_name": "counted at the end of the year"}),
        "quantile": ("quantile", np.array(QUANTILES)),
    }
    out = xr.Dataset(coords=coords)
    for name, values, dims, long in (
        ("count_above", draws.above, "threshold", "models at or above the threshold released by the end of the year"),  # noqa: E501
        ("count_within", draws.within, "within", "models released by the end of the year within k OOM of the path's frontier then"),  # noqa: E501
    ):  # fmt: skip
        out[name] = (("path", dims, "year"), values, {"units": "models", "long_name": long})
        for stat, v in _summary(values).items():
            stat_dims = (
                (dims, "year", "quantile") if stat.startswith("quantile") else (dims, "year")
            )
            out[f"{name}_{stat}"] = (stat_dims, v)
    out["observed_at_least"] = (
        "threshold",
        lo,
        {"long_name": "realised count at the start, lower end"},
    )
    out["observed_at_most"] = (
        "threshold",
        hi,
        {"long_name": "realised count at the start, upper end"},
    )
    for key, v in draws.params.items():
        out[f"param_{key}"] = (("path", "band") if v.ndim == 2 else ("path",), v)
    if fit is not None:
        out["band_fit_coef"] = (("band", "coef"), fit.coef)
        out["band_fit_sd"] = (("band", "coef"), np.sqrt(np.diagonal(fit.cov, axis1=1, axis2=2)))
        out["band_fit_rate_at_start"] = ("band", fit.rate_at(start), {"units": "systems/year"})
        out["band_fit_counts"] = (("band", "fit_year"), fit.counts)
        out = out.assign_coords(fit_year=fit.bins, coef=["log_rate_at_start", "growth_per_year"])
    out = out.assign_coords(band=[f"{b}-{b + 1} OOM" for b in range(model.BANDS)])
    pub = list(PUBLISHED)
    out["published_threshold"] = ("published", [p["threshold"] for p in pub])
    out["published_by"] = ("published", [p["by"] for p in pub])
    out["published_low"] = ("published", [p["low"] for p in pub])
    out["published_high"] = ("published", [p["high"] for p in pub])
    out["published_central"] = ("published", [p["central"] for p in pub])
    out["published_source"] = ("published", [p["source"] for p in pub])
    out["published_said"] = ("published", [p["said"] for p in pub])
    keep = ("projector_version", "scenario_name", "scenario_sha256", "scenario_resolved",
            "scenario_overrides", "dataset", "dataset_sha256", "data_cutoff", "seed", "paths",
            "start_date", "log10_start_compute", "start_compute_source")  # fmt: skip
    out.attrs.update({k: ds.attrs[k] for k in keep if k in ds.attrs})
    out.attrs.update(
        counts_method=method,
        counts_start=start,
        counts_systems_known=len(known),
        counts_lower_bounds_known=int(known.censored.sum()),
        counts_censoring=CENSORING_NOTE,
        counts_stream=f"SeedSequence(seed, spawn_key=(block, {model.COUNTS_STREAM}))",
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    return out


# --- tables -------------------------------------------------------------------------


def _flop(log10: float) -> str:
    return f"1e{log10:g}" if float(log10).is_integer() else f"{10**log10:.3g}"


def _band(ds: xr.Dataset, name: str, i: int, k: int) -> str:
    q = ds[f"{name}_quantile"].values[i, k]
    return f"{q[2]:g} [{q[1]:g}, {q[3]:g}] [{q[0]:g}, {q[4]:g}]"


def comparison(ds: xr.Dataset, /) -> list[dict[str, Any]]:
    """Our counts beside each published forecast whose threshold and year we have."""
    rows = []
    th = list(ds["threshold"].values)
    ends = [float(y) + 1.0 for y in ds["year"].values]
    for p in range(ds.sizes["published"]):
        t, by = float(ds["published_threshold"][p]), float(ds["published_by"][p])
        row = {"source": str(ds["published_source"][p].values), "said": str(ds["published_said"][p].values),  # noqa: E501
               "threshold": t, "by": by, "ours": None}  # fmt: skip
        if t in th and any(abs(by - e) < 1e-9 for e in ends):
            i, k = th.index(t), [abs(by - e) < 1e-9 for e in ends].index(True)
            q = ds["count_above_quantile"].values[i, k]
            row["ours"] = (float(q[2]), float(q[0]), float(q[4]))
        rows.append(row)
    return rows


def to_csv(ds: xr.Dataset, /) -> str:
    """counts.csv, tidy: section, subject, year, statistic, value, mcse."""
    lines = ["section,subject,year,statistic,value,mcse"]
    for name, dim, label in (("count_above", "threshold", "at least {} FLOP"),
                             ("count_within", "within", "within {} OOM of the frontier")):  # fmt: skip  # noqa: E501
        for i, v in enumerate(ds[dim].values):
            subject = label.format(_flop(v) if dim == "threshold" else f"{v:g}")
            for k, y in enumerate(ds["year"].values):
                for j, q in enumerate(QUANTILES):
                    lines.append(f"{name},{subject},{y},q{q:g},{ds[f'{name}_quantile'].values[i, k, j]:g},"  # noqa: E501
                                 f"{ds[f'{name}_quantile_mcse'].values[i, k, j]:.4g}")  # fmt: skip
                for stat in ("mean", "p_at_least_one"):
                    lines.append(f"{name},{subject},{y},{stat},{ds[f'{name}_{stat}'].values[i, k]:.6g},"  # noqa: E501
                                 f"{ds[f'{name}_{stat}_mcse'].values[i, k]:.4g}")  # fmt: skip
    start = float(ds.attrs["counts_start"])
    for i, v in enumerate(ds["threshold"].values):
        for end in ("at_least", "at_most"):
            lines.append(f"observed,at least {_flop(v)} FLOP,{start:.2f},{end},"
                         f"{int(ds[f'observed_{end}'].values[i])},0")  # fmt: skip
    return "\n".join(lines) + "\n"


def to_markdown(ds: xr.Dataset, /) -> str:
    """counts.md: what was run, the counts with their bands, the published forecasts."""
    a = ds.attrs
    paths = ds.sizes["path"]
    lines = [
        f"# Counts of models above thresholds: `{a.get('scenario_name', '?')}`",
        "",
        f"- {paths} paths, seed {a.get('seed')}, start {a.get('start_date')} "
        f"(frontier 10^{float(a.get('log10_start_compute', math.nan)):.2f} FLOP); data "
        f"`{a.get('dataset')}` (sha256 {str(a.get('dataset_sha256', ''))[:12]}), "
        f"{a['counts_systems_known']} notable systems known at the start, "
        f"{a['counts_lower_bounds_known']} of them lower bounds",
        f"- model of the systems below the frontier: `{a['counts_method']}` "
        "(projector/model/counts.py); every system lies below its path's frontier",
        f"- censoring: {a['counts_censoring']}",
        "",
        "Cells: median [50% band] [90% band] over paths, counted at the end of each year; "
        "P(>=1) the share of paths with at least one.",
        "",
        "## Models at or above each threshold (cumulative)",
        "",
        "| threshold | observed at the start | " + " | ".join(f"end of {y}" for y in ds["year"].values) + " |",  # noqa: E501
        "|---|---:|" + "---:|" * ds.sizes["year"],
    ]  # fmt: skip
    for i, t in enumerate(ds["threshold"].values):
        lo, hi = int(ds["observed_at_least"][i]), int(ds["observed_at_most"][i])
        obs = f"{lo}" if lo == hi else f"[{lo}, {hi}]"
        cells = [f"{_band(ds, 'count_above', i, k)}; P(>=1) {ds['count_above_p_at_least_one'].values[i, k]:.2f}"  # noqa: E501
                 for k in range(ds.sizes["year"])]  # fmt: skip
        lines.append(f"| {_flop(t)} FLOP | {obs} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Models within k OOM of the path's frontier",
        "",
        "| within | " + " | ".join(f"end of {y}" for y in ds["year"].values) + " |",
        "|---|" + "---:|" * ds.sizes["year"],
    ]
    for w, k_oom in enumerate(ds["within"].values):
        cells = [_band(ds, "count_within", w, k) for k in range(ds.sizes["year"])]
        lines.append(f"| {k_oom:g} OOM | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Beside the published forecasts",
        "",
        "| source | what was said | ours: median [90% band] |",
        "|---|---|---:|",
    ]
    for r in comparison(ds):
        ours = (
            "not in this run's years"
            if r["ours"] is None
            else "{:g} [{:g}, {:g}]".format(*r["ours"])
        )
        lines.append(f"| {r['source']} | {r['said']} (by {r['by']:g}) | {ours} |")
    if "band_fit_coef" in ds:
        lines += [
            "",
            "## The band fit (systems per year within b to b+1 OOM below the running maximum)",
            "",
            "| band | rate at the start [systems/year] | growth [1/year] (sd) |",
            "|---|---:|---:|",
        ]
        for b, name in enumerate(ds["band"].values):
            c, s = ds["band_fit_coef"].values[b], ds["band_fit_sd"].values[b]
            lines.append(
                f"| {name} | {ds['band_fit_rate_at_start'].values[b]:.1f} | {c[1]:.3f} ({s[1]:.3f}) |"  # noqa: E501
            )
    return "\n".join(lines) + "\n"
