"""The forecast ledger scored: published forecasts against the realised frontier, with
projector's hindcasts beside them, and projector's own forecasts put on the record.

Dependency direction: ``inputs.ledger``, ``inputs.systems``, ``inputs.frontier``,
``studies.scoring`` and ``pipeline.run`` -> ``studies.ledger`` -> ``ledger_output`` and
the CLI. No printing; :func:`record` is the one function that writes (a ledger file, in
one atomic step).

Reality (method.md section 10): the largest training run by a date is the running
maximum of the systems data's training compute at that date; a count is the number of
systems at or above a threshold by then; an event resolves yes when the largest run
outside the forecast's ``exclude`` list reaches the threshold by then.

Censored truth. A frontier release whose compute is not known is a lower-bound row in the
systems data (``compute_bound = lower``; derivatives of a known base model, ``base=`` in
``inputs``, are not candidates: their compute is their base's plus a fine-tune; nor is a row
published while the frontier was still more than :data:`CENSOR_REACH_OOM` below the value
in question). Once such a row is published, the realised frontier (or count) is only a
lower bound: every score is then the bound it implies, marked ``>=`` (a miss above a 97.5%
quantile stays a miss; a CRPS is the smallest the forecast could get for any truth at or
above the bound; an event not yet reached is unresolved).

Knife-edge resolutions. Each row's stated uncertainty (``uncertainty_factor``, Epoch's
confidence labels) gives truth draws (:mod:`projector.studies.truth`'s model: each row's
log10 compute redrawn once per draw); the share of draws in which a forecast's resolution
(below / inside / above its interval, yes / no) differs from the point truth's is its
``flip_chance``. A resolution is knife-edge when that share is at least
:data:`KNIFE_EDGE_SHARE`, or when the truth lies within :data:`KNIFE_EDGE_OOM` of a bound
or threshold (1.0001e27 against 1e27).

Scores. A distribution given as quantiles (or an interval with its level, and its point
as the median): the quantile-CRPS, ``scoringrules.crps_quantile`` (2/K x the sum of the
pinball losses over the K stated levels, Berrisch & Ziel 2023), which approaches the CRPS
as the levels get dense; with two or three levels it is coarse, and it is only comparable
between forecasts that state the same levels. An interval: whether it holds the truth and
the PIT (the piecewise-linear CDF through the stated quantiles; outside the outer ones only
a range, e.g. [0.975, 1]). A point: the log10-ratio error, forecast minus truth [OOM] (for
counts log10 of their ratio). An event: the Brier score (p - outcome)^2.

Hindcasts. Beside each largest-run forecast (and each event on the whole frontier), what
projector's scenarios (``epoch-2022`` and ``calibrated`` by default) would have said with
the data available on the forecast's date: the scenario re-run with ``data.cutoff`` = the
date made and the start there (the backtest's hindcast, :mod:`projector.studies.backtest`),
scored like an ensemble. The cut-off drops systems published after the date; the compute
figures of earlier systems are today's estimates, not those of the day.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from projector.dates import date_of_decimal_year, decimal_year
from projector.errors import InputError
from projector.inputs.ledger import Forecast, Ledger, load_ledger
from projector.inputs.systems import Systems, bundled_records, load_dataset
from projector.studies.ledger_scores import (
    _crps_at_least,
    brier,
    interval_quantiles,
    pit_range,
    quantile_crps,
)

__all__ = [
    "COLUMNS",
    "HINDCAST_SCENARIOS",
    "KNIFE_EDGE_OOM",
    "KNIFE_EDGE_SHARE",
    "RECORD_EVENT_YEARS",
    "RECORD_THRESHOLDS",
    "LedgerStudy",
    "Truth",
    "brier",
    "interval_quantiles",
    "pit_range",
    "quantile_crps",
    "realised",
    "score_forecast",
    "study",
]

#: Scenarios whose hindcasts stand beside each forecast.
HINDCAST_SCENARIOS = ("epoch-2022", "calibrated")
#: A resolution whose outcome changes in at least this share of truth draws is knife-edge.
KNIFE_EDGE_SHARE = 0.05
#: ... and so is one whose truth lies this close to a bound or threshold [OOM].
KNIFE_EDGE_OOM = 0.01
#: A lower-bound row can hide a value v only if the frontier had reached v - this [OOM]
#: when it was published: no release has ever come in 10x above the frontier of its day.
CENSOR_REACH_OOM = 1.0
#: Truth draws behind each flip chance.
TRUTH_DRAWS = 400
#: Thresholds [log10 FLOP] whose P(reached) ``record`` writes when the scenario names none.
RECORD_THRESHOLDS = (27.0, 28.0, 29.0)
#: ``record`` writes P(reached) for report years up to this many years after the start.
RECORD_EVENT_YEARS = 10.0

_SCORE_COLUMNS = (
    "id", "forecaster", "made", "target_quantity", "target_date", "kind", "forecast",
    "verification", "status", "realised", "realised_bound", "record_holder", "censored_by",
    "outcome", "in_interval", "pit_low", "pit_high", "crps", "crps_bound", "log10_error",
    "error_bound", "brier", "brier_high", "flip_chance", "knife_edge", "knife_edge_reason",
)  # fmt: skip
_HINDCAST_FIELDS = ("median", "q025", "q975", "p", "pit", "in_95", "crps", "brier")


def hindcast_columns(scenarios: Sequence[str]) -> tuple[str, ...]:
    """ledger.csv's hindcast columns: ``<scenario>_<field>`` for each scenario."""
    return tuple(f"{s}_{k}" for s in scenarios for k in _HINDCAST_FIELDS)


#: Columns of ledger.csv with the default hindcast scenarios.
COLUMNS = (*_SCORE_COLUMNS, *hindcast_columns(HINDCAST_SCENARIOS), "notes")


# --- reality ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Truth:
    """What the data say a forecast's target was: ``value`` (log10 FLOP, or a count),
    a lower bound when ``censored`` (``censored_by``: the lower-bound rows that make it
    one), the system that holds the record, and per truth draw the same value."""

    value: float
    censored: bool
    censored_by: tuple[str, ...]
    record_holder: str
    draws: npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class _TruthData:
    """The truth systems with what the ledger needs of them."""

    systems: Systems
    candidates: npt.NDArray[np.bool_]  # lower-bound rows that could be frontier releases
    draws: npt.NDArray[np.float64]  # (draw, row) log10 compute
    newest: dt.date
    frontier_then: npt.NDArray[np.float64]  # the frontier when each row was published


def _derivatives(systems: Systems) -> set[str]:
    """Names of derivative rows (``base=`` first in ``inputs``) of a bundled-format file."""
    if systems.label == "bundled":
        rows: list[dict[str, str]] = bundled_records()
    else:
        try:
            text = Path(systems.label).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return set()
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return {
        (r.get("system") or "").strip()
        for r in rows
        if (r.get("inputs") or "").strip().startswith("base=")
    }


def truth_data(systems: Systems, /, *, seed: int, draws: int = TRUTH_DRAWS) -> _TruthData:
    """The truth systems, their candidate censoring rows and their truth draws."""
    from projector.studies.truth import truth_rng

    derived = _derivatives(systems)
    candidates = systems.censored & ~np.isin(systems.name, sorted(derived))
    sd = np.nan_to_num(systems.log10_uncertainty_sd, nan=0.0)
    z = truth_rng(seed).standard_normal((draws, len(systems)))
    newest = date_of_decimal_year(float(systems.year.max()), nearest=False)
    from projector.inputs.frontier import frontier_at

    before = frontier_at(systems, systems.year - 1e-6)  # the frontier just before each row
    return _TruthData(systems, candidates, systems.log10_compute + sd * z, newest, before)


def realised(f: Forecast, data: _TruthData, /) -> Truth:
    """The truth of one forecast's target (module docstring)."""
    s = data.systems
    t = decimal_year(f.target_date)
    known = (s.year <= t + 1e-9) & ~np.isin(s.name, list(f.exclude))
    if not known.any():
        raise InputError(
            f"{s.label}: no system published on or before {f.target_date} (outside the "
            f"forecast's exclusions), which forecast {f.id!r} needs; the truth's oldest "
            f"system is {date_of_decimal_year(float(s.year.min()))}"
        )
    candidates = known & data.candidates

    def hiding(v: float) -> npt.NDArray[np.bool_]:
        return candidates & (data.frontier_then >= v - CENSOR_REACH_OOM)

    values = np.where(known, s.log10_compute, -np.inf)
    drawn = np.where(known, data.draws, -np.inf)
    if f.target_quantity == "count_above":
        above = values >= f.threshold
        value = float(above.sum())
        # A lower-bound row already above the threshold is counted; one below could be above.
        by = tuple(str(n) for n in s.name[hiding(f.threshold) & ~above])
        draws = (drawn >= f.threshold).sum(axis=1).astype(np.float64)
        holder = ""
    else:
        i = int(np.argmax(values))
        value, holder = float(values[i]), str(s.name[i])
        v = f.threshold if f.target_quantity == "event" else value
        by = tuple(str(n) for n in s.name[hiding(v)])
        draws = drawn.max(axis=1)
        if f.target_quantity == "event" and value >= f.threshold:
            by = ()  # reached: a lower bound at or above the threshold settles it
    return Truth(value, bool(by), by, holder, draws)


# --- one forecast -------------------------------------------------------------------------


def _outcome(f: Forecast, y: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """The resolution per truth value: -1 / 0 / +1 below / inside / above the outer
    interval, or 0 / 1 for an event not reached / reached."""
    if f.target_quantity == "event":
        return (y >= f.threshold).astype(np.int8)
    qs = interval_quantiles(f)
    if not qs:
        return np.zeros(y.shape, dtype=np.int8)
    lo, hi = qs[0][1], qs[-1][1]
    return np.where(y < lo, -1, np.where(y > hi, 1, 0)).astype(np.int8)


def _edges(f: Forecast) -> list[float]:
    if f.target_quantity == "event":
        return [f.threshold]
    qs = interval_quantiles(f)
    return [qs[0][1], qs[-1][1]] if qs else []


def score_forecast(f: Forecast, truth: Truth, /) -> dict[str, Any]:
    """ledger.csv's score columns of one resolved forecast (module docstring)."""
    y, cens = truth.value, truth.censored
    out: dict[str, Any] = {
        "realised": y,
        "realised_bound": ">=" if cens else "=",
        "record_holder": truth.record_holder,
        "censored_by": "; ".join(truth.censored_by),
        "status": "lower bound" if cens else "resolved",
    }
    qs = interval_quantiles(f)
    if qs:
        lo_q, hi_q = qs[0][1], qs[-1][1]
        pit = pit_range(qs, y)
        level = qs[-1][0] - qs[0][0]
        if y > hi_q:
            out["outcome"] = f"above its {qs[-1][0]:.1%} quantile"
        elif cens:
            out["outcome"] = f"inside its {level:.0%} interval or above (lower bound)"
        elif y < lo_q:
            out["outcome"] = f"below its {qs[0][0]:.1%} quantile"
        else:
            out["outcome"] = f"inside its {level:.0%} interval"
        if cens:
            out["in_interval"] = 0 if y > hi_q else ""
            out["pit_low"], out["pit_high"] = pit[0], 1.0
            out["crps"], out["crps_bound"] = _crps_at_least(qs, y), ">="
        else:
            out["in_interval"] = int(lo_q <= y <= hi_q)
            out["pit_low"], out["pit_high"] = pit
            out["crps"], out["crps_bound"] = quantile_crps(qs, y), "="
    point = f.point if f.kind in ("point", "interval") else math.nan
    if f.kind == "quantiles":
        point = next((v for lv, v in f.quantiles if lv == 0.5), math.nan)
    if not math.isnan(point):
        if f.target_quantity == "count_above":
            err = math.log10(point / y) if y > 0 and point > 0 else math.nan
        else:
            err = point - y
        out["log10_error"] = err
        # A higher truth can only make the forecast more too low.
        out["error_bound"] = "<=" if cens else "="
    if f.target_quantity == "event":
        reached = y >= f.threshold
        out["brier"] = brier(f.probability, reached)
        out["outcome"] = "yes" if reached else "no"
        if cens and not reached:
            out["status"] = "unresolved (lower bound below the threshold)"
            out["outcome"] = "not yet known (lower bound below the threshold)"
            out["brier"], out["brier_high"] = (
                brier(f.probability, False),
                brier(f.probability, True),
            )
    edges = _edges(f)
    if edges:
        base = _outcome(f, np.array([y]))[0]
        flip = float(np.mean(_outcome(f, truth.draws) != base))
        margin = min(abs(y - e) for e in edges)
        out["flip_chance"] = flip
        reasons = []
        if flip >= KNIFE_EDGE_SHARE:
            reasons.append(
                f"{flip:.0%} of truth draws resolve it otherwise (stated uncertainty of the "
                "systems' figures)"
            )
        if margin < KNIFE_EDGE_OOM and f.target_quantity != "count_above":
            reasons.append(f"the truth is {margin:.2g} OOM from a bound or threshold")
        if f.target_quantity == "count_above" and margin == 0:
            reasons.append("the count equals a bound")
        out["knife_edge"] = "yes" if reasons else "no"
        out["knife_edge_reason"] = "; ".join(reasons)
    return out


def _ensemble_scores(
    f: Forecast, members: npt.NDArray[np.float64], truth: Truth | None
) -> dict[str, Any]:
    """A hindcast beside a forecast: its quantiles (or P(event)), and with a truth its
    PIT, 95% hit and CRPS (bounds when the truth is censored)."""
    x = np.sort(members)
    q025, median, q975 = np.quantile(x, [0.025, 0.5, 0.975])
    out: dict[str, Any] = {"median": float(median), "q025": float(q025), "q975": float(q975)}
    if f.target_quantity == "event":
        out["p"] = float(np.mean(x >= f.threshold))
    if truth is None:
        return out
    y = truth.value
    if f.target_quantity == "event":
        if not truth.censored or y >= f.threshold:
            out["brier"] = brier(out["p"], y >= f.threshold)
        return out
    from projector.studies.scoring import score

    if truth.censored:
        s = score(x, max(y, float(median)))
        out["pit"] = f">={float(np.mean(x < y)):.3f}"
        out["in_95"] = 0 if y > q975 else ""
        out["crps"] = f">={s['crps']:.4f}"
    else:
        s = score(x, y)
        out.update(pit=s["pit"], in_95=s["in_95"], crps=s["crps"])
    return out


# --- the study ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LedgerStudy:
    """Every forecast of a ledger with its scores and hindcasts (keys of ``columns``)."""

    rows: list[dict[str, Any]]
    columns: tuple[str, ...]
    ledger_label: str
    ledger_sha256: str
    truth_label: str
    truth_sha256: str
    truth_newest: str
    scenarios: tuple[str, ...]
    paths: int
    seeds: dict[str, int]
    frontier_years: npt.NDArray[np.float64]
    frontier_values: npt.NDArray[np.float64]
    forecasts: tuple[Forecast, ...]
    members: dict[tuple[str, str], npt.NDArray[np.float64]]  # (scenario, id) -> hindcast


def _hindcastable(f: Forecast) -> bool:
    return f.target_quantity == "largest_run" or (f.target_quantity == "event" and not f.exclude)


def hindcasts(
    forecasts: Sequence[Forecast],
    scenario: str | Path,
    /,
    *,
    systems: Systems | None = None,
    paths: int,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, npt.NDArray[np.float64]], int]:
    """The scenario's hindcast of each forecast's target from its date made: one run per
    date (the data cut off there, the start there), every target read off its paths.
    Returns the members by forecast id, and the seed used."""
    from projector.inputs.scenario import override
    from projector.model.summary import value_at
    from projector.pipeline.run import Run, resolve

    scen = resolve(scenario)
    seed = scen.seed if seed is None else seed
    data = systems if systems is not None else load_dataset(scen.data.dataset)
    by_date: dict[dt.date, list[Forecast]] = {}
    for f in forecasts:
        if _hindcastable(f):
            by_date.setdefault(f.made, []).append(f)
    out: dict[str, npt.NDArray[np.float64]] = {}
    for made in sorted(by_date):
        group = by_date[made]
        start = decimal_year(made)
        years = sorted({decimal_year(f.target_date) for f in group})
        changes: dict[str, Any] = {
            "data.cutoff": made,
            "start_year": "cutoff",
            "end_year": max(years[-1], start + 1.0),
            "report.years": years,
            "paths": paths,
            "seed": seed,
        }
        if not isinstance(scen.start_compute, str):
            changes["start.compute"] = "frontier"
        try:
            ds = Run(override(scen, changes), systems=data).result()
        except InputError as exc:
            raise InputError(f"hindcast of {scen.name} from {made}: {exc}") from None
        for f in group:
            out[f.id] = value_at(ds, decimal_year(f.target_date))
        if progress is not None:
            progress(1)
    return out, seed


def study(
    ledger: str | Path | Ledger | None = None,
    /,
    *,
    truth: str | Path | None = None,
    scenarios: Sequence[str] = HINDCAST_SCENARIOS,
    paths: int = 2000,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> LedgerStudy:
    """Score every forecast of ``ledger`` (default: the bundled one) whose target date the
    truth covers (``truth``: a systems-format CSV; default the bundled systems), and
    hindcast each with ``scenarios`` (``paths`` per hindcast; ``seed``: default each
    scenario's)."""
    led = ledger if isinstance(ledger, Ledger) else load_ledger(ledger)
    if truth is not None and not Path(truth).is_file():
        raise InputError(f"--truth {truth}: no such file")
    real = load_dataset("bundled" if truth is None else str(truth))
    tdata = truth_data(real, seed=0 if seed is None else seed)
    resolved = [f for f in led.forecasts if f.scored and f.target_date <= tdata.newest]
    scored_any = [f for f in led.forecasts if f.scored]
    if scored_any and not resolved:
        first = min(f.target_date for f in scored_any)
        raise InputError(
            f"{real.label}: its newest system is {tdata.newest}, before every forecast's "
            f"target date (the earliest is {first}): it has none of the systems a forecast "
            "needs to be scored"
        )
    truths = {f.id: realised(f, tdata) for f in resolved}
    members: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    seeds: dict[str, int] = {}
    for name in scenarios:
        got, seeds[name] = hindcasts(led.forecasts, name, paths=paths, seed=seed, progress=progress)
        members.update({(name, k): v for k, v in got.items()})
    columns = (*_SCORE_COLUMNS, *hindcast_columns(scenarios), "notes")
    rows = []
    for f in led.forecasts:
        row: dict[str, Any] = {
            "id": f.id,
            "forecaster": f.forecaster,
            "made": f.made.isoformat(),
            "target_quantity": f.target_quantity,
            "target_date": f.target_date.isoformat(),
            "kind": f.kind,
            "forecast": f.summary(),
            "verification": f.verification,
            "notes": f.notes,
        }
        if not f.scored:
            row["status"] = "not scored"
        elif f.id not in truths:
            row["status"] = "unresolved"
        else:
            row.update(score_forecast(f, truths[f.id]))
        for name in scenarios:
            if (name, f.id) in members:
                h = _ensemble_scores(f, members[(name, f.id)], truths.get(f.id))
                row.update({f"{name}_{k}": v for k, v in h.items()})
        rows.append({c: row.get(c, "") for c in columns})
    from projector.inputs.frontier import frontier_at

    grid = np.linspace(2010.0, float(real.year.max()), 1500)
    return LedgerStudy(
        rows=rows,
        columns=columns,
        ledger_label=led.label,
        ledger_sha256=led.sha256,
        truth_label=real.label,
        truth_sha256=real.sha256,
        truth_newest=tdata.newest.isoformat(),
        scenarios=tuple(scenarios),
        paths=paths,
        seeds=seeds,
        frontier_years=grid,
        frontier_values=frontier_at(real, grid),
        forecasts=led.forecasts,
        members=members,
    )
