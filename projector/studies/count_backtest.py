"""The backtest of counts: hindcasts from past cut-offs scored against realised counts.

Dependency direction: ``studies.counts`` and ``studies.backtest`` -> ``count_backtest``
-> ``cli.counts``. No files are written here.

Each hindcast is the frontier backtest's run (``data.cutoff = T``, start at T); the
counts models are fitted to the systems up to T only and scored at T + h (coverage of
the 50% and 90% bands, the ranked probability score) beside a naive baseline, the
count's own past growth rate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.systems import Systems, decimal_year
from projector.model import counts as model
from projector.studies.counts import QUANTILES, _flop, parse_thresholds

if TYPE_CHECKING:
    from projector.inputs.scenario import Scenario

__all__ = ["BASELINE_YEARS", "CountBacktest", "backtest", "backtest_csv", "backtest_markdown",
           "rps", "summarise"]  # fmt: skip

#: Years of history the baseline's growth rate is measured over.
BASELINE_YEARS = 2.0


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
    from projector.pipeline.run import resolve
    from projector.studies.backtest import hindcast_runs, parse_cutoffs, parse_horizons

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
    runs = hindcast_runs(scen, systems, cuts, hs_in, truth_end_year, paths=paths, seed=seed,
                         client=client, progress=progress, skipped=skipped)  # fmt: skip
    for cutoff, t, kept, ds, known in runs:
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
