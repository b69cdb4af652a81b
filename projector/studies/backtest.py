"""Backtests: hindcasts from past cut-offs scored against the realised frontier.

Dependency direction: ``scenario``, ``data``, ``frontier`` and ``engine`` -> ``backtest``
-> ``plots`` / ``cli``. No I/O here; the CLI writes what :func:`run_backtest` returns.

Method (method.md section 10): for each cut-off T the scenario is re-run with
``data.cutoff = T`` and the start at T (``start_year = "cutoff"``, C(s) the frontier at
T), and for each horizon h [years] the projected distribution of log10 C(T + h) is
scored against the realised frontier at T + h in the truth data: the PIT, whether
reality lies in the central 50% and 95% bands, the median's error and the CRPS
(``scoringrules``). Baselines are scored on the same cases:

- ``flat``: the frontier stays where it is, C(T + h) = C(T) (a point forecast);
- ``climatology``: C(T) plus every h-year change of the frontier seen before T
  (origins monthly from ``data.dl_start`` to T - h);
- ``trend-from-frontier``: C(T) plus the hindcast's bootstrap Deep-Learning slope x h.

Cases whose T + h lies after the truth data's newest system are skipped and counted,
never scored against a guess. With an uncertain truth (``truth_model``: each row's stated
uncertainty and/or a per-row revision noise, :mod:`projector.studies.truth`) every case
is scored against the same truth draws and the scores are averaged over them
(:func:`~projector.studies.scoring.score_draws`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.frontier import frontier_at
from projector.inputs.scenario import Scenario, override
from projector.inputs.systems import Systems, decimal_year, load_dataset
from projector.studies.baselines import BASELINES
from projector.studies.baselines import ensembles as baseline_ensembles
from projector.studies.scoring import (
    BOOTSTRAP_DRAWS,
    COLUMNS,
    DRAW_COLUMNS,
    PIT_BINS,
    score,
    score_draws,
    summarise,
)
from projector.studies.truth import TruthModel, frontier_draws, truth_rng

__all__ = [
    "BASELINES",
    "COLUMNS",
    "Backtest",
    "TruthModel",
    "parse_cutoffs",
    "parse_horizons",
    "run_backtest",
    "score",
    "summarise",
]

_MAX_CUTOFFS = 2000
_FIT = "record_process_"  # the attributes of what a hindcast fitted
_STEP = re.compile(r"^(\d+)([DWMY])$")


def parse_cutoffs(text: str, /) -> list[dt.date]:
    """Cut-off dates: ``2016-01-01,2018-01-01`` or a range ``START:END:STEP``.

    STEP is a count and a unit: ``D`` days, ``W`` weeks, ``M`` months, ``Y`` years
    (``3M`` = quarterly); the range includes END when a step lands on it. Forms may be
    mixed, separated by commas. Returns sorted, unique dates.
    """
    out: set[dt.date] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise InputError(
                    f"--cutoffs {part!r}: a range is START:END:STEP, e.g. 2015-01-01:2024-07-01:3M"
                )
            first, last = _date(pieces[0]), _date(pieces[1])
            m = _STEP.match(pieces[2].strip().upper())
            if not m or int(m.group(1)) == 0:
                raise InputError(
                    f"--cutoffs {part!r}: STEP must be a whole number > 0 and a unit D, W, M "
                    f"or Y (e.g. 3M), got {pieces[2]!r}"
                )
            if last < first:
                raise InputError(f"--cutoffs {part!r}: END is before START")
            k, n, unit = 0, int(m.group(1)), m.group(2)
            while True:
                date = _step(first, k * n, unit)
                if date > last:
                    break
                out.add(date)
                k += 1
                if len(out) > _MAX_CUTOFFS:
                    raise InputError(f"--cutoffs {part!r}: more than {_MAX_CUTOFFS} cut-offs")
        else:
            out.add(_date(part))
    if not out:
        raise InputError("--cutoffs: give at least one date (YYYY-MM-DD) or range")
    return sorted(out)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--cutoffs: expected a date YYYY-MM-DD, got {text.strip()!r}") from None


def _step(first: dt.date, k: int, unit: str) -> dt.date:
    if unit == "D":
        return first + dt.timedelta(days=k)
    if unit == "W":
        return first + dt.timedelta(weeks=k)
    months = k if unit == "M" else 12 * k
    y, m = divmod(first.month - 1 + months, 12)
    year, month = first.year + y, m + 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(first.day, last_day))


def parse_horizons(text: str, /) -> list[float]:
    """Horizons in years, comma-separated (``1,2,3`` or ``0.5,1``); each in (0, 100]."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise InputError(f"--horizons: expected numbers of years, got {part!r}") from None
        if not 0 < value <= 100 or not math.isfinite(value):
            raise InputError(f"--horizons: each horizon must be in (0, 100] years, got {part}")
        out.append(value)
    if not out:
        raise InputError("--horizons: give at least one horizon in years, e.g. 1,2,3")
    return sorted(set(out))


@dataclasses.dataclass(frozen=True)
class Backtest:
    """Scored cases (one dict per method, cut-off and horizon, keys :data:`COLUMNS`)."""

    scenario: Scenario  # as given (before the per-cut-off overrides)
    rows: list[dict[str, Any]]
    skipped: list[tuple[str, float]]  # (cut-off, horizon) beyond the truth data
    truth_label: str
    truth_sha256: str
    truth_end: str  # newest publication date in the truth data
    dataset_label: str
    dataset_sha256: str
    frontier_years: npt.NDArray[np.float64]  # the truth's frontier, for the figure
    frontier_values: npt.NDArray[np.float64]
    paths: int
    seed: int
    methods: tuple[str, ...]
    # What each hindcast fitted at its cut-off from the data before it (the result's
    # record_process_* attributes, with frontier_paths = 'record-process'), by cut-off.
    fitted: tuple[dict[str, Any], ...] = ()
    # The truth mode: backtest.md's line on it ("" for the point truth, whose md is as
    # before), the CSV's columns, and with an uncertain truth each case's share of truth
    # draws per PIT bin, by (method, cut-off, horizon).
    truth_mode: str = ""
    columns: tuple[str, ...] = COLUMNS
    pit_hists: Mapping[tuple[str, str, float], list[float]] = dataclasses.field(
        default_factory=dict
    )
    # With an uncertain truth: the 5% and 95% quantiles of the truth draws' frontier on
    # frontier_years (the figure's band).
    frontier_band: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None


def hindcast_runs(
    scen: Scenario,
    systems: Systems,
    cutoffs: Sequence[dt.date],
    horizons: Sequence[float],
    truth_end_year: float,
    *,
    paths: int,
    seed: int,
    client: Any,
    progress: Callable[[int], None] | None,
    skipped: list[tuple[str, float]],
) -> Any:
    """Each cut-off's hindcast run, for the horizons the truth reaches (the others appended
    to ``skipped``): yields (cut-off, its decimal year, horizons kept, Dataset, the systems
    known at the cut-off); ``progress(1)`` once per cut-off, after its caller's work."""
    from projector.pipeline.run import Run

    for cutoff in cutoffs:
        t = decimal_year(cutoff)
        kept = [h for h in horizons if t + h <= truth_end_year + 1e-9]
        skipped += [(cutoff.isoformat(), h) for h in horizons if h not in kept]
        if kept:
            hs = _hindcast_scenario(scen, cutoff, t + max(kept), [t + h for h in kept], paths, seed)
            try:
                ds = Run(hs, systems=systems, client=client).result()
            except InputError as exc:
                raise InputError(f"cut-off {cutoff.isoformat()}: {exc}") from None
            yield cutoff, t, kept, ds, systems.until(cutoff)
        if progress is not None:
            progress(1)


def _hindcast_scenario(
    scen: Scenario, cutoff: dt.date, end: float, years: Sequence[float], paths: int, seed: int
) -> Scenario:
    changes: dict[str, Any] = {
        "data.cutoff": cutoff,
        "start_year": "cutoff",
        "end_year": end,
        "report.years": list(years),
        "paths": paths,
        "seed": seed,
    }
    if not isinstance(scen.start_compute, str):
        changes["start.compute"] = "frontier"  # an explicit C(s) cannot move with T
    return override(scen, changes)


def study(
    scenario: str | Path | Scenario,
    /,
    cutoffs: Sequence[dt.date],
    horizons: Sequence[float],
    *,
    dataset: str | Path | None = None,
    truth: str | Path | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    paths: int = 10_000,
    seed: int | None = None,
    baselines: Sequence[str] = BASELINES,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
    truth_model: TruthModel | None = None,
) -> Backtest:
    """The backtest of a scenario file as the command line and ``projector.backtest`` run
    it: the scenario with its changes, the hindcast data (``dataset``, default the
    scenario's) and the truth (``truth``, default the same), then :func:`run_backtest`."""
    from projector.pipeline.run import resolve

    for path in (dataset, truth):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such dataset file")
    scen = resolve(scenario, dataset=dataset, changes=changes)
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    real = systems
    if truth is not None:
        real = load_dataset(str(truth), notable_only=scen.data.notable_only)
    return run_backtest(
        scen, systems, real, list(cutoffs), list(horizons), paths=paths, seed=seed,
        baselines=list(baselines), progress=progress, client=client, truth_model=truth_model,
    )  # fmt: skip


def run_backtest(
    scen: Scenario,
    systems: Systems,
    truth: Systems,
    cutoffs: Sequence[dt.date],
    horizons: Sequence[float],
    *,
    paths: int = 10_000,
    seed: int | None = None,
    baselines: Sequence[str] = BASELINES,
    progress: Callable[[int], None] | None = None,
    client: Any = None,
    truth_model: TruthModel | None = None,
) -> Backtest:
    """Hindcast ``scen`` from each cut-off and score it and the baselines.

    Parameters
    ----------
    scen
        The scenario; ``data.cutoff``, ``start_year``, ``end_year``, ``report.years``,
        ``paths`` and ``seed`` are overridden per cut-off.
    systems
        The data the hindcasts see (cut off at each T).
    truth
        The data reality is read from (the realised frontier).
    cutoffs, horizons
        Cut-off dates and horizons [years].
    paths, seed
        Paths per hindcast, and the seed (default: the scenario's).
    baselines
        Names from :data:`BASELINES`.
    progress
        Called with 1 after each cut-off.
    truth_model
        An uncertain truth (default: the point frontier of the stated estimates).

    Raises
    ------
    InputError
        An unknown baseline, a cut-off whose eras are too thin, no case to score, or a
        truth uncertainty the truth data does not state.
    client
        A Dask client (``pipeline.executors.connect``) to run each hindcast's chunks on.
    """
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise InputError(
            f"--baselines: unknown baseline {unknown[0]!r} (valid: {', '.join(BASELINES)})"
        )
    seed = scen.seed if seed is None else seed
    model = truth_model if truth_model is not None and not truth_model.point else None
    draws = None
    if model is not None:
        model.check(truth)
        draws = frontier_draws(truth, model, rng=truth_rng(seed))
    pit_hists: dict[tuple[str, str, float], list[float]] = {}
    truth_end_year = float(truth.year.max())
    truth_end = str(truth.date[int(np.argmax(truth.year))])
    dl_start = decimal_year(scen.data.dl_start)
    from projector.model.summary import value_at

    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, float]] = []
    fitted: list[dict[str, Any]] = []
    runs = hindcast_runs(scen, systems, cutoffs, horizons, truth_end_year, paths=paths,
                         seed=seed, client=client, progress=progress, skipped=skipped)  # fmt: skip
    for cutoff, t, kept, ds, known in runs:
        c_t = float(ds.attrs["log10_start_compute"])
        fit = {k[len(_FIT) :]: v for k, v in ds.attrs.items() if k.startswith(_FIT)}
        if fit:
            fitted.append({"cutoff": cutoff.isoformat(), "frontier": c_t, **fit})
        for h in kept:
            realised = float(frontier_at(truth, [t + h])[0])
            if not math.isfinite(realised):
                skipped.append((cutoff.isoformat(), h))
                continue
            ensembles = {scen.name: value_at(ds, t + h)}
            ensembles.update(
                baseline_ensembles(
                    baselines, known=known, cutoff_year=t, c_t=c_t, h=h, dl_start=dl_start,
                    rates=ds["growth_dl"].values,
                )
            )  # fmt: skip
            for method, members in ensembles.items():
                row: dict[str, Any] = {"method": method, "cutoff": cutoff.isoformat(), "horizon": h}
                if draws is None:
                    row.update(score(members, realised))
                else:
                    row.update(score_draws(members, draws.at(t + h)), realised_point=realised)
                    pit_hists[(method, cutoff.isoformat(), h)] = row.pop("pit_hist")
                row["frontier_at_cutoff"] = c_t
                rows.append(row)
    if not rows:
        raise InputError(
            f"backtest: no case to score: every cut-off + horizon lies after the truth "
            f"data's newest system ({truth_end}) or before its first"
        )
    grid = np.linspace(min(decimal_year(c) for c in cutoffs) - 3.0, truth_end_year, 2000)
    methods = (scen.name, *[b for b in BASELINES if b in baselines])
    columns = COLUMNS if model is None else (*COLUMNS, *DRAW_COLUMNS)
    return Backtest(
        scenario=scen,
        rows=[{k: r[k] for k in columns} for r in rows],
        skipped=skipped,
        truth_label=truth.label,
        truth_sha256=truth.sha256,
        truth_end=truth_end,
        dataset_label=systems.label,
        dataset_sha256=systems.sha256,
        frontier_years=grid,
        frontier_values=frontier_at(truth, grid),
        paths=paths,
        seed=seed,
        methods=methods,
        fitted=tuple(fitted),
        truth_mode="" if model is None else model.describe(truth, seed=seed),
        columns=columns,
        pit_hists=pit_hists,
        frontier_band=None if draws is None else draws.band(grid),
    )


def _n(value: float) -> str:
    """A count as it is (point truth), an expected count or chance to two decimals."""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _pct(s: dict[str, Any], key: str) -> str:
    return f"{s[key]:.0%} [{s[key + '_lo']:.0%}, {s[key + '_hi']:.0%}]"


def to_csv(bt: Backtest, /) -> str:
    """backtest.csv: one row per (method, cut-off, horizon), columns :data:`COLUMNS`."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=bt.columns, lineterminator="\n")
    writer.writeheader()
    for r in bt.rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def to_markdown(bt: Backtest, /, *, cases: bool = True) -> str:
    """backtest.md: what was run, the summary per method and horizon, and (``cases``)
    every case."""
    scen = bt.scenario
    cutoffs = sorted({r["cutoff"] for r in bt.rows})
    lines = [
        f"# Backtest of `{scen.name}`",
        "",
        f"- scenario: `{scen.source}` (sha256 {scen.sha256[:12]})",
        f"- hindcast data: `{bt.dataset_label}` (sha256 {bt.dataset_sha256[:12]})",
        f"- truth: `{bt.truth_label}` (sha256 {bt.truth_sha256[:12]}), newest system "
        f"{bt.truth_end}; reality = the realised frontier (running maximum)",
        *([f"- {bt.truth_mode}"] if bt.truth_mode else []),
        f"- {len(cutoffs)} cut-offs from {cutoffs[0]} to {cutoffs[-1]}; {bt.paths} paths per "
        f"hindcast, seed {bt.seed}",
        f"- {len(bt.skipped)} case(s) skipped: cut-off + horizon after the truth's newest system",
        "",
        "Cases overlap (one jump of the frontier is seen from several cut-offs), so small "
        "differences in CRPS are not significant. A calibrated forecast covers about 50% and "
        "95% of cases with its 50% and 95% bands, and its PIT values are uniform on [0, 1].",
        "",
        "## Summary",
        "",
        "Intervals: 90% block bootstrap over cut-offs (resampling whole cut-offs, "
        f"{BOOTSTRAP_DRAWS} draws). Misses: cases above / below the 95% band.",
        "",
        "| method | horizon [y] | cases | mean CRPS [OOM] | in 50% band | in 90% band "
        "| in 95% band | misses above / below | mean PIT | mean error [OOM] | RMS error [OOM] "
        "| mean 95% width [OOM] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table = summarise(bt)
    for s in table:
        h = s["horizon"] if s["horizon"] == "all" else f"{s['horizon']:g}"
        lines.append(
            f"| {s['method']} | {h} | {s['cases']} "
            f"| {s['crps']:.3f} [{s['crps_lo']:.3f}, {s['crps_hi']:.3f}] "
            f"| {_pct(s, 'cover_50')} | {_pct(s, 'cover_90')} | {_pct(s, 'cover_95')} "
            f"| {_n(s['above_95'])} / {_n(s['below_95'])} | {s['mean_pit']:.2f} "
            f"| {s['bias']:+.2f} | {s['rmse']:.2f} | {s['width_95']:.2f} |"
        )
    lines += [
        "",
        "## PIT histograms",
        "",
        f"Cases per tenth of the PIT (all horizons); a calibrated forecast puts about "
        f"1/{PIT_BINS} of its cases in each.",
        "",
        "| method | " + " | ".join(f"{k / PIT_BINS:.1f}-{(k + 1) / PIT_BINS:.1f}"
                                   for k in range(PIT_BINS)) + " |",
        "|---|" + "---:|" * PIT_BINS,
    ]  # fmt: skip
    for s in table:
        if s["horizon"] == "all":
            lines.append(f"| {s['method']} | " + " | ".join(map(_n, s["pit_hist"])) + " |")
    lines += _fitted_table(bt)
    if not cases:
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "## Cases",
        "",
        "Values in log10 FLOP. `pit`: fraction of the ensemble below reality.",
        "",
        "| method | cut-off | h | realised | median | 2.5% | 25% | 75% | 97.5% | pit | in 50 "
        "| in 95 | CRPS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in bt.rows:
        lines.append(
            f"| {r['method']} | {r['cutoff']} | {r['horizon']:g} | {r['realised']:.2f} "
            f"| {r['median']:.2f} | {r['q025']:.2f} | {r['q25']:.2f} | {r['q75']:.2f} "
            f"| {r['q975']:.2f} | {r['pit']:.2f} | {_n(r['in_50'])} | {_n(r['in_95'])} "
            f"| {r['crps']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _fitted_table(bt: Backtest) -> list[str]:
    """backtest.md's table of what each hindcast fitted from the data before its cut-off."""
    if not bt.fitted:
        return []
    lines = [
        "",
        "## Fitted at each cut-off",
        "",
        "The record process (growth.frontier_paths = 'record-process'), fitted by maximum "
        "likelihood to the record history before each cut-off and nothing after it: tail "
        "scale beta (mean size of a new record's excess), slope, the latent level L(T) "
        "against the frontier C(T), the rate of new records at T and the chance of none in "
        "a year (both along the fitted slope).",
        "",
        "| cut-off | history | records | systems | C(T) | L(T) | beta [OOM] (sd of ln) "
        "| slope [OOM/y] (sd) | records / year at T | P(none in a year) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in bt.fitted:
        lines.append(
            f"| {f['cutoff']} | {f['history']} | {f['records']} | {f['systems']} "
            f"| {f['frontier']:.2f} | {f['level_at_start']:.2f} "
            f"| {f['scale_oom']:.3f} ({f['sd_log_scale']:.3f}) "
            f"| {f['slope']:.3f} ({f['sd_slope']:.3f}) | {f['rate_at_start']:.2f} "
            f"| {f['no_record_in_a_year']:.3f} |"
        )
    return lines
