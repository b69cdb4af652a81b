"""The Python API a researcher uses in a notebook: ``import projector as pj``.

Dependency direction: every package -> ``facade`` -> ``projector/__init__.py``, which
loads it on first use (so ``import projector`` stays light). Each function runs through
:class:`projector.pipeline.run.Run` and returns an ``xarray.Dataset``::

    import projector as pj
    ds = pj.run("default", paths=100_000, store="results/mine")
    s = pj.summarize(ds)
    bt = pj.backtest("calibrated", cutoffs=["2016-01-01", "2019-01-01"], horizons=[1, 2])
    sens = pj.sensitivity("default", vary=["growth.moore_doubling_months=12:30"])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

    from projector.inputs.scenario import Scenario

__all__ = ["backtest", "compare", "sensitivity", "sweep", "trends"]


def _rows_to_dataset(rows: Sequence[Mapping[str, Any]], dim: str) -> xr.Dataset:
    """Row dicts (one per case) as variables along ``dim``; text columns stay text."""
    import xarray as xr

    names = list(rows[0]) if rows else []
    data = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if all(isinstance(v, int | float | np.number) or v is None for v in values):
            arr = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            arr = np.array(["" if v is None else str(v) for v in values], dtype=str)
        data[name] = (dim, arr)
    return xr.Dataset(data, coords={dim: np.arange(len(rows))})


def _dates(cutoffs: str | Sequence[str | dt.date]) -> list[dt.date]:
    from projector.studies.backtest import parse_cutoffs

    if isinstance(cutoffs, str):
        return parse_cutoffs(cutoffs)
    return parse_cutoffs(",".join(c if isinstance(c, str) else c.isoformat() for c in cutoffs))


def sweep(
    scenarios: str | Path | Scenario | Sequence[str | Path | Scenario],
    /,
    sets: Sequence[str] = (),
    *,
    store: str | Path,
    paths: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    keep_paths: int | None = 0,
) -> xr.Dataset:
    """Every scenario x every combination of ``sets`` (``["seed=1,2,3", ...]``) as one
    store with a leading ``variant`` dim, returned opened lazily from ``store``."""
    from projector.pipeline.store import open_result
    from projector.pipeline.sweep import sweep as run_sweep
    from projector.pipeline.sweep import sweep_variants

    many = (
        [scenarios]
        if isinstance(scenarios, str | Path) or not isinstance(scenarios, Sequence)
        else list(scenarios)
    )
    variants = sweep_variants(many, sets, paths=paths, seed=seed)
    run_sweep(variants, store, workers=workers, scheduler=scheduler, keep_paths=keep_paths)
    return open_result(store)


def trends(
    dataset: str | Path = "bundled",
    /,
    *,
    cutoff: str | dt.date | None = None,
    quantity: str = "both",
    resamples: int = 1000,
    noise: bool = False,
    seed: int = 0,
) -> xr.Dataset:
    """The Three Eras analysis of ``dataset``: growth per window with bootstrapped
    intervals (dims ``window``, ``draw``, ``system``; ``model.trends_cube``)."""
    from projector.model.trends_cube import trends_to_dataset
    from projector.studies import trend_study

    when = dt.date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    data, when, windows, label = trend_study.inputs(dataset=dataset, cutoff=when, quantity=quantity)
    st = trend_study.study(data, when, windows, label, resamples=resamples, noise=noise, seed=seed)
    return trends_to_dataset(st.analysis)


def backtest(
    scenario: str | Path | Scenario,
    /,
    cutoffs: str | Sequence[str | dt.date],
    horizons: Sequence[float] = (1, 2, 3),
    *,
    dataset: str | Path | None = None,
    truth: str | Path | None = None,
    paths: int = 10_000,
    seed: int | None = None,
    baselines: Sequence[str] | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    truth_uncertainty: bool = False,
    revision_noise: float = 0.0,
    truth_draws: int | None = None,
) -> xr.Dataset:
    """Hindcasts of ``scenario`` from each cut-off, scored against the realised frontier
    (one row per method, cut-off and horizon along dim ``case``; the columns of
    ``backtest.csv``). Each hindcast is a :class:`~projector.pipeline.run.Run`.
    ``truth_uncertainty`` / ``revision_noise`` [OOM] score against an uncertain truth
    (``truth_draws`` draws; :mod:`projector.studies.truth`)."""
    from projector.pipeline.run import executor
    from projector.studies import backtest as bt
    from projector.studies.truth import TRUTH_DRAWS, TruthModel

    model = TruthModel(
        uncertainty=truth_uncertainty,
        revision_sd=float(revision_noise),
        draws=TRUTH_DRAWS if truth_draws is None else int(truth_draws),
    )
    with executor(workers=workers, scheduler=scheduler) as client:
        result = bt.study(
            scenario, _dates(cutoffs), [float(h) for h in horizons], dataset=dataset,
            truth=truth, changes=changes, paths=paths, seed=seed,
            baselines=bt.BASELINES if baselines is None else baselines, client=client,
            truth_model=model,
        )  # fmt: skip
    scen = result.scenario
    ds = _rows_to_dataset(result.rows, "case")
    ds.attrs.update(
        scenario_name=scen.name,
        scenario_sha256=scen.sha256,
        dataset=result.dataset_label,
        dataset_sha256=result.dataset_sha256,
        truth=result.truth_label,
        truth_sha256=result.truth_sha256,
        truth_end=result.truth_end,
        paths=result.paths,
        seed=result.seed,
        skipped=[f"{c}+{h:g}" for c, h in result.skipped],
    )
    if result.truth_mode:
        ds.attrs["truth_mode"] = result.truth_mode
    return ds


def sensitivity(
    scenario: str | Path | Scenario,
    /,
    vary: Sequence[str],
    *,
    method: str = "sobol",
    samples: int = 64,
    paths: int = 2000,
    seed: int | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> xr.Dataset:
    """Global sensitivity of the summary figures to scenario keys (``vary``:
    ``["KEY=LOW:HIGH", ...]``), each sample a :class:`~projector.pipeline.run.Run`:
    indices along ``output`` x ``key`` (S1, ST and their 95% half-widths for Sobol;
    mu_star, sigma for Morris)."""
    import xarray as xr

    from projector.studies import sensitivity as sa

    result = sa.study(
        scenario, vary, changes=changes, method=method, samples=samples, paths=paths,
        seed=seed, workers=workers, scheduler=scheduler,
    )  # fmt: skip
    scen = result.scenario
    outputs = list(dict.fromkeys(r["output"] for r in result.rows))
    keys = [f.key for f in result.factors]
    stats = [k for k in result.rows[0] if k not in ("output", "key")]
    at = {(r["output"], r["key"]): r for r in result.rows}
    data = {
        stat: (("output", "key"), np.array([[at[o, k][stat] for k in keys] for o in outputs]))
        for stat in stats
    }
    ds = xr.Dataset(data, coords={"output": outputs, "key": keys})
    ds["design"] = (("run", "key"), result.design)
    ds["value"] = (("output", "run"), np.array([result.results[o] for o in outputs]))
    ds.attrs.update(
        method=result.method,
        scenario_name=scen.name,
        scenario_sha256=scen.sha256,
        paths=result.paths,
        seed=result.seed,
    )
    return ds


def compare(*results: str | Path | xr.Dataset) -> xr.Dataset:
    """Differences between runs' summaries, with Monte Carlo errors (the first is the
    reference); each argument a result folder, a store or a Dataset from :func:`run`."""
    from projector.model.summary import summarize
    from projector.pipeline.store import open_result
    from projector.studies.compare import compare as compare_summaries

    if len(results) < 2:
        raise InputError("compare: give at least two results")
    summaries = [summarize(open_result(r) if isinstance(r, str | Path) else r) for r in results]
    return compare_summaries(summaries)
