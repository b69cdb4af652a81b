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

:func:`backtest` hindcasts the counts of notable systems above 1e22-1e25 FLOP from past
cut-offs (each hindcast the frontier backtest's run, ``studies.backtest``) and scores
them against the realised counts (coverage of the 50% and 90% bands, the ranked
probability score) beside a naive baseline, the count's own past growth rate.
"""

from __future__ import annotations

import dataclasses
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
    "CountBacktest",
    "backtest",
    "counts",
    "parse_thresholds",
    "parse_within",
    "parse_years",
    "rps",
]

DEFAULT_THRESHOLDS = (25.0, 26.0, 27.0)  # log10 FLOP
DEFAULT_WITHIN = (1.0, 2.0)  # OOM
BACKTEST_THRESHOLDS = (22.0, 23.0, 24.0, 25.0)
#: First year (its start) of the realised counts kept for the figure.
HISTORY_FROM = 2018
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Years of history the baseline's growth rate is measured over.
BASELINE_YEARS = 2.0
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


# --- backtest -----------------------------------------------------------------------


def rps(cdf: npt.NDArray[np.float64], realised: int, /) -> float:
    """Ranked probability score of a count: sum over k >= 0 of (F(k) - 1{y <= k})^2.

    ``cdf[k]`` = P(X <= k) for k = 0..K (K at least ``realised``; beyond K, F = 1). For
    integer counts it equals the CRPS (the CDFs are constant between integers).
    """
    k = np.arange(cdf.size)
    return float(np.sum((cdf - (k >= realised)) ** 2))


def _ensemble_cdf(x: npt.NDArray[np.integer], top: int) -> npt.NDArray[np.float64]:
    hist = np.bincount(np.minimum(x, top).astype(np.int64), minlength=top + 1)
    return np.cumsum(hist) / x.size


def _baseline(
    known: Systems, t: float, h: float, threshold: float, top: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The count's own past growth rate: N(T) plus Poisson new systems at the rate the
    count grew over the last :data:`BASELINE_YEARS` (with one added to N, so that a count
    at zero can start), as a CDF on 0..top and its quantiles."""
    from scipy import stats

    now = int(model.realised_counts(known, [threshold], t)[0][0])
    then = int(model.realised_counts(known, [threshold], t - BASELINE_YEARS)[0][0])
    r = math.log((now + 1.0) / (then + 1.0)) / BASELINE_YEARS
    mean_new = (now + 1.0) * math.expm1(r * h)
    k = np.arange(top + 1)
    cdf = np.where(k >= now, stats.poisson.cdf(k - now, mean_new), 0.0)
    qs = now + stats.poisson.ppf(QUANTILES, mean_new)
    return cdf, np.asarray(qs, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class CountBacktest:
    """Scored hindcast cases, one dict per (method, cut-off, horizon, threshold)."""

    scenario: Scenario
    rows: list[dict[str, Any]]
    skipped: list[tuple[str, float]]
    paths: int
    seed: int
    methods: tuple[str, ...]
    truth_label: str
    truth_end: str


def backtest(
    scenario: str | Path | Scenario,
    /,
    cutoffs: str | Sequence[dt.date],
    horizons: str | Sequence[float] = (1, 2, 3),
    *,
    thresholds: str | Sequence[float] = (1e22, 1e23, 1e24, 1e25),
    methods: Sequence[str] = model.METHODS,
    paths: int = 2000,
    seed: int | None = None,
    dataset: str | Path | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
) -> CountBacktest:
    """Hindcast the counts from each cut-off T and score them at T + h.

    Each hindcast is the frontier backtest's run (``data.cutoff = T``, start at T); the
    counts model is fitted to the systems up to T only. The realised count (the same
    data, systems published by T + h) is an interval (:func:`model.realised_counts`):
    a case is scored at its lower end (``in_50``, ``in_90``, ``rps``) and at its upper
    end (``*_hi``). Cases past the data's newest system are skipped and counted.
    """
    from projector.inputs.systems import load_dataset
    from projector.pipeline.run import Run, resolve
    from projector.studies.backtest import _hindcast_scenario, parse_cutoffs, parse_horizons

    cuts = parse_cutoffs(cutoffs) if isinstance(cutoffs, str) else list(cutoffs)
    hs_in = parse_horizons(horizons) if isinstance(horizons, str) else [float(h) for h in horizons]
    th = parse_thresholds(thresholds)
    unknown = [m for m in methods if m not in model.METHODS]
    if unknown:
        raise InputError(f"--methods: unknown {unknown[0]!r} (valid: {', '.join(model.METHODS)})")
    scen = resolve(scenario, dataset=dataset, changes=changes)
    seed = scen.seed if seed is None else seed
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    truth_end_year = float(systems.year.max())
    truth_end = str(systems.date[int(np.argmax(systems.year))])
    fit_start = decimal_year(scen.data.dl_start)
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, float]] = []
    for cutoff in cuts:
        t = decimal_year(cutoff)
        kept = [h for h in hs_in if t + h <= truth_end_year + 1e-9]
        skipped += [(cutoff.isoformat(), h) for h in hs_in if h not in kept]
        if not kept:
            if progress is not None:
                progress(1)
            continue
        hs = _hindcast_scenario(scen, cutoff, t + max(kept), [t + h for h in kept], paths, seed)
        try:
            ds = Run(hs, systems=systems, client=client).result()
        except InputError as exc:
            raise InputError(f"cut-off {cutoff.isoformat()}: {exc}") from None
        known = systems.until(cutoff)
        times = ds["time"].values.astype(np.float64)
        at = [t + h for h in kept]
        draws_by: dict[str, model.CountDraws] = {}
        for m in methods:
            fit = model.fit_bands(known, t, fit_start=fit_start) if m == "bands" else None
            draws_by[m] = model.simulate(
                ds["log10_compute"].values, times, t, known.log10_compute, th, [1.0], at,
                method=m, fit=fit, seed=seed,
            )  # fmt: skip
        for k, h in enumerate(kept):
            lo, hi = model.realised_counts(systems, th, t + h)
            for i, thr in enumerate(th):
                top = (
                    int(max(hi[i], max(int(d.above[:, i, k].max()) for d in draws_by.values()))) + 1
                )
                ensembles: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
                for m, d in draws_by.items():
                    x = d.above[:, i, k]
                    qs = np.quantile(x, QUANTILES, method="inverted_cdf")
                    ensembles[m] = (_ensemble_cdf(x, top), qs.astype(np.float64))
                ensembles["baseline"] = _baseline(known, t, h, thr, top)
                at_t = int(model.realised_counts(known, [thr], t)[0][0])
                for m, (cdf, qs) in ensembles.items():
                    row = {"method": m, "cutoff": cutoff.isoformat(), "horizon": h,
                           "threshold": thr, "observed_at_cutoff": at_t,
                           "realised": int(lo[i]), "realised_hi": int(hi[i]),
                           **{f"q{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs, strict=True)}}  # fmt: skip  # noqa: E501
                    for end, y in (("", int(lo[i])), ("_hi", int(hi[i]))):
                        row[f"in_50{end}"] = bool(qs[1] <= y <= qs[3])
                        row[f"in_90{end}"] = bool(qs[0] <= y <= qs[4])
                        row[f"rps{end}"] = rps(cdf, y)
                    rows.append(row)
        if progress is not None:
            progress(1)
    if not rows:
        raise InputError(
            f"counts backtest: no case to score: every cut-off + horizon lies after the "
            f"data's newest system ({truth_end})"
        )
    return CountBacktest(scen, rows, skipped, paths, seed, (*methods, "baseline"),
                         systems.label, truth_end)  # fmt: skip


def summarise(bt: CountBacktest, /) -> list[dict[str, Any]]:
    """Per method and horizon (and ``all``): cases, coverage of the 50% and 90% bands
    and mean RPS, at the realised count's lower end and at its upper end."""
    out = []
    horizons = sorted({r["horizon"] for r in bt.rows})
    for m in bt.methods:
        for h in [*horizons, "all"]:
            sel = [r for r in bt.rows if r["method"] == m and (h == "all" or r["horizon"] == h)]
            if not sel:
                continue
            s: dict[str, Any] = {"method": m, "horizon": h, "cases": len(sel)}
            for key in ("in_50", "in_90", "rps", "in_50_hi", "in_90_hi", "rps_hi"):
                s[key] = float(np.mean([r[key] for r in sel]))
            out.append(s)
    return out


def backtest_csv(bt: CountBacktest, /) -> str:
    import csv
    import io

    buf = io.StringIO()
    cols = list(bt.rows[0])
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in bt.rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def backtest_markdown(bt: CountBacktest, /, *, cases: bool = True) -> str:
    scen = bt.scenario
    cutoffs = sorted({r["cutoff"] for r in bt.rows})
    ths = sorted({r["threshold"] for r in bt.rows})
    lines = [
        f"# Backtest of counts: `{scen.name}`",
        "",
        f"- data and truth: `{bt.truth_label}`, newest system {bt.truth_end}; {len(cutoffs)} "
        f"cut-offs from {cutoffs[0]} to {cutoffs[-1]}; thresholds "
        f"{', '.join(_flop(t) for t in ths)} FLOP; {bt.paths} paths per hindcast, seed {bt.seed}",
        f"- {len(bt.skipped)} case(s) skipped: cut-off + horizon after the data's newest system",
        "- realised: notable systems at or above the threshold published by T + h, an "
        "interval [at least, at most] (lower bounds count at their bound; the upper end adds "
        "lower-bounded systems that may lie above). Scores at the lower end; `_hi` at the upper.",
        "- methods: `bands` (fitted Poisson log-linear rates per band below the frontier), "
        "`allocation` (GovAI's largest-model share and power law), `baseline` (the count's "
        f"own growth over the {BASELINE_YEARS:g} years before T, Poisson new systems).",
        "- bands are the inverted-CDF quantiles of integer counts, inclusive, so a narrow "
        "band covers a little more than its nominal share.",
        "",
        "| method | horizon [y] | cases | in 50% band | in 90% band | mean RPS | in 50% (hi) "
        "| in 90% (hi) | mean RPS (hi) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summarise(bt):
        h = s["horizon"] if s["horizon"] == "all" else f"{s['horizon']:g}"
        lines.append(
            f"| {s['method']} | {h} | {s['cases']} | {s['in_50']:.0%} | {s['in_90']:.0%} "
            f"| {s['rps']:.2f} | {s['in_50_hi']:.0%} | {s['in_90_hi']:.0%} | {s['rps_hi']:.2f} |"
        )
    lines += ["", "## By threshold (all horizons)", "",
              "| method | threshold | cases | in 90% band | mean RPS |", "|---|---|---:|---:|---:|"]  # fmt: skip  # noqa: E501
    for m in bt.methods:
        for t in ths:
            sel = [r for r in bt.rows if r["method"] == m and r["threshold"] == t]
            lines.append(f"| {m} | {_flop(t)} | {len(sel)} | {np.mean([r['in_90'] for r in sel]):.0%} "  # noqa: E501
                         f"| {np.mean([r['rps'] for r in sel]):.2f} |")  # fmt: skip
    if cases:
        lines += ["", "## Cases", "",
                  "| method | cut-off | h | threshold | at T | realised | median | 5% | 25% | 75% | 95% | RPS |",  # noqa: E501
                  "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in bt.rows:
            real = (
                f"{r['realised']}"
                if r["realised"] == r["realised_hi"]
                else f"[{r['realised']}, {r['realised_hi']}]"
            )
            lines.append(
                f"| {r['method']} | {r['cutoff']} | {r['horizon']:g} | {_flop(r['threshold'])} "
                f"| {r['observed_at_cutoff']} | {real} | {r['q50']:g} | {r['q05']:g} | {r['q25']:g} "  # noqa: E501
                f"| {r['q75']:g} | {r['q95']:g} | {r['rps']:.2f} |"
            )
    return "\n".join(lines) + "\n"
