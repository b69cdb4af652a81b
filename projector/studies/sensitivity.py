"""Which assumptions matter: global sensitivity across runs, and attribution within one.

Dependency direction: ``scenario``, ``data`` and ``engine`` -> ``sensitivity`` -> ``plots``
/ ``cli``. No I/O here.

Two questions, two tools, both from SALib (Herman & Usher 2017; Iwanaga et al. 2022):

- **Across runs** (:func:`run_sensitivity`): vary scenario keys over ranges (any scalar key
  by dotted name, plus ``reversion.<component>.<key>`` and ``anchors.<anchor>.<key>``),
  run the projection at each design point, and estimate how much of the variance of each
  output each key explains: Sobol first-order and total indices (Saltelli's design, SALib's
  ``sample.sobol`` / ``analyze.sobol``) or Morris elementary effects (``mu*``, ``sigma``).
  Every run uses the same seed (common random numbers), so the indices measure the keys,
  not Monte Carlo noise.
- **Within one run** (:func:`attribution`): the per-path draws are independent, so the
  share of an output's variance explained by each draw is a first-order Sobol index that
  can be estimated from the run's own paths (given data), with SALib's RBD-FAST estimator
  and its bootstrap intervals.

Outputs: log10 compute at each report year (median over paths); per anchor the median,
2.5% and 97.5% crossing year (a path that never crosses counts as crossing at the end of
the horizon, so these are censored at ``end_year``); and P(crossed by 2030 / 2040 / 2050).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.scenario import PARAMS, Scenario, override, settable_keys, table_keys
from projector.inputs.systems import Systems, decimal_year

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "DRAWS",
    "METHODS",
    "P_YEARS",
    "Factor",
    "Sensitivity",
    "attribution",
    "count_runs",
    "outputs",
    "parse_vary",
    "run_sensitivity",
]

METHODS = ("sobol", "morris")
P_YEARS = (2030.0, 2040.0, 2050.0)
#: Per-path draws of a run that attribution splits the variance between.
DRAWS = {
    "growth_dl": "Deep-Learning rate",
    "growth_pre_dl": "pre-DL rate",
    "reversion_year": "reversion date",
    "start_offset": "start-compute error",
    "frontier_origin": "frontier deviation (origin)",
}
_MAX_RUNS = 100_000


@dataclasses.dataclass(frozen=True)
class Factor:
    """A scenario key varied over ``[low, high]`` (dates as decimal years)."""

    key: str
    low: float
    high: float
    is_date: bool = False

    def value(self, x: float) -> Any:
        """The scenario value for a design point ``x``."""
        if self.is_date:
            from projector.dates import date_of_decimal_year  # the one calendar

            return date_of_decimal_year(x, nearest=False)
        if self.key in _INT_KEYS:
            return round(x)
        return float(x)


_INT_KEYS = {p.key if not t else f"{t}.{p.key}" for t, ps in PARAMS.items() for p in ps
             if p.kind == "int"}  # fmt: skip
_DATE_KEYS = {f"{t}.{p.key}" for t, ps in PARAMS.items() for p in ps if p.kind == "date"}
_RANGE = re.compile(r"^(?P<key>[^=]+)=(?P<low>[^:]+):(?P<high>[^:]+)$")


def parse_vary(text: str, scen: Scenario, /) -> Factor:
    """``KEY=LOW:HIGH`` (numbers, or ISO dates for date keys) for ``scen``.

    Raises
    ------
    InputError
        An unknown or non-numeric key, unreadable bounds, or LOW >= HIGH.
    """
    m = _RANGE.match(text.strip())
    if not m:
        raise InputError(
            f"--vary {text!r}: expected KEY=LOW:HIGH, e.g. growth.moore_doubling_months=12:30"
        )
    key, low_text, high_text = m.group("key").strip(), m.group("low"), m.group("high")
    numeric = [k for k in settable_keys() if _numeric(k) or k in _DATE_KEYS]
    valid = [*numeric, *table_keys(scen)]
    if key not in valid:
        raise InputError(f"--vary {key}: not a numeric scenario key (valid: {', '.join(valid)})")
    is_date = key in _DATE_KEYS
    try:
        if is_date:
            low = decimal_year(dt.date.fromisoformat(low_text.strip()))
            high = decimal_year(dt.date.fromisoformat(high_text.strip()))
        else:
            low, high = float(low_text), float(high_text)
    except ValueError:
        expect = "ISO dates" if is_date else "numbers"
        raise InputError(f"--vary {text!r}: LOW and HIGH must be {expect}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise InputError(f"--vary {key}: LOW must be below HIGH, got {low_text}:{high_text}")
    factor = Factor(key, low, high, is_date)
    for x in (low, high):  # both ends must make a valid scenario
        override(scen, {key: factor.value(x)})
    return factor


def _numeric(key: str) -> bool:
    table, _, leaf = key.rpartition(".")
    p = next(p for p in PARAMS[table] if p.key == leaf)
    return p.kind in ("int", "float")


def outputs(ds: xr.Dataset, scen: Scenario, /) -> dict[str, float]:
    """The summary numbers sensitivity is measured on (see the module docstring), from a
    run in memory (``Run(...).result()``)."""
    from projector.model.summary import value_at

    out: dict[str, float] = {}
    for year in scen.report_years:
        values = value_at(ds, year)
        out[f"log10_compute@{year:g}"] = float(np.median(values))
    end = float(ds["time"].values[-1])
    crossing = ds["crossing_year"].values
    for a, anchor in enumerate(scen.anchors):
        years = np.where(np.isnan(crossing[:, a]), end, crossing[:, a])
        q025, q50, q975 = np.quantile(years, [0.025, 0.5, 0.975])
        out[f"crossing_median:{anchor.name}"] = float(q50)
        out[f"crossing_q025:{anchor.name}"] = float(q025)
        out[f"crossing_q975:{anchor.name}"] = float(q975)
        crossed = crossing[:, a]
        for y in P_YEARS:
            out[f"p_by_{y:g}:{anchor.name}"] = float(np.mean(crossed <= y))
    return out


@dataclasses.dataclass(frozen=True)
class Sensitivity:
    """Indices per (output, factor), as rows; the design and outputs of every run."""

    method: str
    factors: tuple[Factor, ...]
    rows: list[dict[str, Any]]
    design: npt.NDArray[np.float64]  # (run, factor)
    results: dict[str, npt.NDArray[np.float64]]  # output -> (run,)
    scenario: Scenario
    paths: int
    seed: int


def _base_size(method: str, samples: int) -> int:
    if method == "sobol":
        return 1 << max(1, math.ceil(math.log2(max(samples, 2))))
    return samples


def count_runs(method: str, samples: int, n_keys: int) -> int:
    """Runs a design needs: N (x2 rounded for Sobol) times (k + 2) Sobol, (k + 1) Morris."""
    return _base_size(method, samples) * (n_keys + (2 if method == "sobol" else 1))


def study(
    scenario: str | Path | Scenario,
    /,
    vary: Sequence[str],
    *,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    method: str = "sobol",
    samples: int = 64,
    paths: int = 2000,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> Sensitivity:
    """The analysis as the command line and ``projector.sensitivity`` run it: the scenario
    with its changes, ``vary`` (``KEY=LOW:HIGH``) parsed against it, its data, and the
    runs on this process or a Dask cluster (``progress`` only when serial)."""
    from projector.inputs.systems import load_dataset
    from projector.pipeline.executors import mapper
    from projector.pipeline.run import executor, resolve

    scen = resolve(scenario, changes=changes)
    factors = [parse_vary(text, scen) for text in vary]
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    with executor(workers=workers, scheduler=scheduler, timeout=timeout) as client:
        parallel = mapper(client)
        return run_sensitivity(
            scen, systems, factors, method=method, samples=samples, paths=paths, seed=seed,
            mapper=parallel, progress=progress if parallel is None else None,
        )  # fmt: skip


def run_sensitivity(
    scen: Scenario,
    systems: Systems,
    factors: Sequence[Factor],
    *,
    method: str = "sobol",
    samples: int = 64,
    paths: int = 2000,
    seed: int | None = None,
    mapper: Callable[[Callable[[Any], Any], list[Any]], list[Any]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Sensitivity:
    """Run the design and compute the indices.

    Parameters
    ----------
    scen, systems
        The scenario and the data.
    factors
        Keys and ranges, from :func:`parse_vary`.
    method
        ``sobol`` (S1, ST and their 95% intervals; ``samples * (k + 2)`` runs for k keys)
        or ``morris`` (mu*, sigma; ``samples * (k + 1)`` runs).
    samples
        The base sample size N (a power of 2 for Sobol; rounded up).
    paths, seed
        Paths per run and the common seed (default: the scenario's).
    mapper
        ``map`` over the runs (serial by default); a parallel executor may be given.
    progress
        Called with 1 after each run (serial only).
    """
    from projector.extras import require

    morris_analyze = require("SALib.analyze.morris", "studies", "sensitivity analyses")
    sobol_analyze = require("SALib.analyze.sobol", "studies", "sensitivity analyses")
    morris_sample = require("SALib.sample.morris", "studies", "sensitivity analyses")
    sobol_sample = require("SALib.sample.sobol", "studies", "sensitivity analyses")

    if method not in METHODS:
        raise InputError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    if not factors:
        raise InputError("sensitivity: give at least one --vary KEY=LOW:HIGH")
    keys = [f.key for f in factors]
    if len(set(keys)) != len(keys):
        raise InputError(f"--vary: a key is given twice ({', '.join(keys)})")
    seed = scen.seed if seed is None else seed
    problem = {
        "num_vars": len(factors),
        "names": keys,
        "bounds": [[f.low, f.high] for f in factors],
    }
    n = _base_size(method, samples)
    n_runs = count_runs(method, samples, len(factors))
    if n_runs > _MAX_RUNS:
        raise InputError(f"sensitivity: {n_runs} runs is more than {_MAX_RUNS}; lower --samples")
    if method == "sobol":
        design = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed % 2**32)
    else:
        design = morris_sample.sample(problem, n, seed=seed % 2**32)
    base = override(scen, {"paths": paths, "seed": seed})

    from projector.pipeline.run import Run

    def one(x: npt.NDArray[np.float64]) -> dict[str, float]:
        variant = override(base, {f.key: f.value(v) for f, v in zip(factors, x, strict=True)})
        result = outputs(Run(variant, systems=systems).result(), variant)
        if progress is not None:
            progress(1)
        return result

    runs = (mapper or (lambda f, xs: [f(x) for x in xs]))(one, list(design))
    names = list(runs[0])
    results = {k: np.array([r[k] for r in runs], dtype=np.float64) for k in names}
    rows: list[dict[str, Any]] = []
    for name, y in results.items():
        constant = bool(np.ptp(y) == 0)
        if method == "sobol":
            res: dict[str, Any] = {}
            if not constant:
                res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed % 2**32)
            for k, key in enumerate(keys):
                rows.append(
                    {
                        "output": name,
                        "key": key,
                        "S1": 0.0 if constant else float(res["S1"][k]),
                        "S1_conf": 0.0 if constant else float(res["S1_conf"][k]),
                        "ST": 0.0 if constant else float(res["ST"][k]),
                        "ST_conf": 0.0 if constant else float(res["ST_conf"][k]),
                        "constant": int(constant),
                    }
                )
        else:
            res = {}
            if not constant:
                res = morris_analyze.analyze(problem, design, y, seed=seed % 2**32)
            for k, key in enumerate(keys):
                rows.append(
                    {
                        "output": name,
                        "key": key,
                        "mu_star": 0.0 if constant else float(res["mu_star"][k]),
                        "mu_star_conf": 0.0 if constant else float(res["mu_star_conf"][k]),
                        "sigma": 0.0 if constant else float(res["sigma"][k]),
                        "constant": int(constant),
                    }
                )
    return Sensitivity(method, tuple(factors), rows, design, results, scen, paths, seed)


def attribution(
    draws: dict[str, npt.NDArray[np.float64]],
    targets: dict[str, npt.NDArray[np.float64]],
    *,
    resamples: int = 100,
    seed: int = 0,
    max_paths: int = 200_000,
) -> list[dict[str, Any]]:
    """Share of each target's variance explained by each independent per-path draw.

    First-order Sobol indices from the run's own paths (SALib's RBD-FAST given-data
    estimator; ``S1_conf`` the half-width of its 95% bootstrap interval). Draws that do
    not vary (e.g. no start error) are left out; at most ``max_paths`` paths are used
    (the first ones, which are an i.i.d. sample). The indices of independent draws sum to
    at most 1; the rest is interaction and the draws not listed.

    Parameters
    ----------
    draws
        Name -> (path,) values of each draw (NaN-free).
    targets
        Name -> (path,) values of each output (e.g. a crossing year, censored at the
        horizon, or log10 compute at a year).
    """
    from projector.extras import require

    rbd_fast = require("SALib.analyze.rbd_fast", "studies", "attributions (RBD-FAST)")

    used = {k: v[:max_paths] for k, v in draws.items() if np.all(np.isfinite(v)) and np.ptp(v) > 0}
    if not used:
        return []
    x = np.column_stack(list(used.values()))
    problem = {
        "num_vars": len(used),
        "names": list(used),
        "bounds": [[float(v.min()), float(v.max())] for v in used.values()],
    }
    rows = []
    for name, y in targets.items():
        y = y[:max_paths]
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            for key in used:
                rows.append({"output": name, "draw": key, "S1": 0.0, "S1_conf": 0.0})
            continue
        res = rbd_fast.analyze(problem, x, y, num_resamples=resamples, seed=seed)
        for k, key in enumerate(used):
            rows.append(
                {
                    "output": name,
                    "draw": key,
                    "S1": float(res["S1"][k]),
                    "S1_conf": float(res["S1_conf"][k]),
                }
            )
    return rows


def to_csv(sens: Sensitivity, /) -> str:
    """sensitivity.csv: one row per (output, key)."""
    import csv
    import io

    buf = io.StringIO()
    fields = list(sens.rows[0]) if sens.rows else ["output", "key"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in sens.rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def ranking(sens: Sensitivity, output: str, /) -> list[tuple[str, float, float]]:
    """(key, index, interval) for one output, most influential first (ST or mu*)."""
    col, conf = ("ST", "ST_conf") if sens.method == "sobol" else ("mu_star", "mu_star_conf")
    mine = [(r["key"], r[col], r[conf]) for r in sens.rows if r["output"] == output]
    return sorted(mine, key=lambda t: -t[1])


def to_markdown(sens: Sensitivity, /) -> str:
    """sensitivity.md: the design, then one matrix of the indices (outputs x keys)."""
    scen = sens.scenario
    n_runs = sens.design.shape[0]
    lines = [
        f"# Sensitivity of `{scen.name}` ({sens.method})",
        "",
        f"- scenario: `{scen.source}` (sha256 {scen.sha256[:12]})",
        f"- {n_runs} runs of {sens.paths} paths, common seed {sens.seed}",
        "- keys varied (uniform over the range):",
    ]
    for f in sens.factors:
        lo, hi = (f.value(f.low), f.value(f.high))
        lines.append(f"  - `{f.key}`: {lo} to {hi}")
    if sens.method == "sobol":
        lines += [
            "",
            "S1: the share of the output's variance a key explains alone; ST: with its "
            "interactions (S1 <= ST; ST ~ 0 means the key does not matter for this output). "
            "`±`: 95% bootstrap intervals. Crossing years of paths that never cross count as "
            "the horizon.",
        ]
    else:
        lines += [
            "",
            "mu*: mean absolute elementary effect (in the output's units per full range of "
            "the key, scaled by SALib's levels); sigma: its spread (non-linearity or "
            "interaction).",
        ]
    from projector.studies.sensitivity_table import matrix_markdown

    lines += ["", *matrix_markdown(sens)]
    return "\n".join(lines) + "\n"
