"""Sweeps: several scenarios or ``--set`` combinations as one store with a ``variant`` dim.

Dependency direction: ``run`` -> ``sweep`` -> ``cli`` and the facade. Each variant is a
:class:`~projector.pipeline.run.Run` taken as far as its plan (resolve, load, plan); the
chunks of all variants then stream through the same executor and budget check as a
single run (:func:`~projector.pipeline.run.stream_chunks`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError
from projector.inputs.scenario import Scenario, override, parse_set
from projector.inputs.systems import Systems
from projector.model.cube import provenance, static_arrays, yearly_grid
from projector.model.limits import CEILINGS
from projector.pipeline import budget, executors
from projector.pipeline.folders import write_reports
from projector.pipeline.run import Run, executor, resolve, stream_chunks
from projector.pipeline.store import STORE_NAME, Layout, StoreWriter

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["parse_grid", "sweep", "sweep_variants"]


def _split_values(text: str) -> list[str]:
    """``V1,V2,[a,b]`` -> ``["V1", "V2", "[a,b]"]``: commas inside brackets stay."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [v.strip() for v in out if v.strip()]


def parse_grid(sets: Sequence[str]) -> list[list[tuple[str, Any]]]:
    """``--set KEY=V1,V2 --set K2=W1,W2`` -> every combination, as (key, value) lists."""
    axes = []
    for text in sets:
        key, sep, values = text.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {text!r}: expected KEY=V1,V2,..., e.g. seed=1,2,3")
        parsed = [parse_set(f"{key.strip()}={v}") for v in _split_values(values)]
        if not parsed:
            raise InputError(f"--set {text!r}: no values after '='")
        axes.append(parsed)
    return [list(combo) for combo in itertools.product(*axes)] if axes else [[]]


def sweep_variants(
    scenarios: Sequence[str | Path | Scenario],
    sets: Sequence[str] = (),
    *,
    paths: int | None = None,
    seed: int | None = None,
) -> list[tuple[str, Scenario]]:
    """The variants of a sweep: each scenario x each combination of ``--set`` values."""
    grid = parse_grid(sets)
    out = []
    for name in scenarios:
        base = resolve(name, paths=paths, seed=seed)
        for combo in grid:
            scen = override(base, dict(combo)) if combo else base
            label = ", ".join(f"{k}={v}" for k, v in combo)
            if len(scenarios) > 1:
                label = f"{base.name}" + (f": {label}" if label else "")
            out.append((label or base.name, scen))
    return out


def sweep(
    variants: Sequence[tuple[str, Scenario]],
    target: str | Path,
    /,
    *,
    client: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    keep_paths: int | None = 0,
    chunk_paths: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[xr.Dataset, list[Path]]:
    """Run every variant's chunks as tasks and write one store with a ``variant`` dim.

    Variants must share their number of paths and their anchors; the yearly grid is the
    union of theirs (NaN where a variant does not reach a year). Full paths are kept
    only when every variant has the same time grid.

    Returns
    -------
    (summary, files written)
    """
    from projector.pipeline.transaction import result_transaction

    target = Path(target)
    scens = [s for _, s in variants]
    first = scens[0]
    for label, s in variants:
        if s.paths != first.paths:
            raise InputError(f"sweep: variant {label} has {s.paths} paths, not {first.paths}")
        if [a.name for a in s.anchors] != [a.name for a in first.anchors]:
            raise InputError(f"sweep: variant {label} has other anchors than the first")
    cache: dict[tuple[str, bool], Systems] = {}
    plans = []
    for s in scens:
        key = (s.data.dataset, s.data.notable_only)
        r = Run(s, systems=cache.get(key))
        cache[key] = r.load()
        plans.append(r.plan())
    years = np.unique(
        np.concatenate([yearly_grid(p.times, p.scenario.report_years) for p in plans])
    )
    same_grid = all(
        p.times.shape == plans[0].times.shape and np.array_equal(p.times, plans[0].times)
        for p in plans
    )
    keep = 0 if not same_grid else min(keep_paths or 0, first.paths)
    lay = Layout(
        paths=first.paths,
        chunk=executors.chunk_size(first.paths, chunk_paths),
        times=plans[0].times if keep else np.empty(0),
        years=years,
        keep=keep,
        anchors=tuple(a.name for a in first.anchors),
        components=tuple(c.name for c in first.reversion),
        variants=len(plans),
        constraints=CEILINGS if all(p.ceilings for p in plans) else (),
    )
    n_sys = max(len(p.t_dl) + len(p.t_pre) for p in plans)
    prov = [
        provenance(
            p.scenario, p.eras, p.growth_ref, clipped=0, ceilings=p.ceilings, record=p.record
        )
        for p in plans
    ]
    attrs = dict(prov[0])
    attrs.update(
        title=f"projector sweep: {first.name} ({len(plans)} variants)",
        paths_kept=keep,
        chunk_paths=lay.chunk,
        sweep=True,
    )
    clipped = [0] * len(plans)
    with executor(client, workers=workers, scheduler=scheduler, timeout=timeout) as c:
        slots = executors.slots_of(c)
        budget.check_fits(lay, target.parent, in_flight=2 * slots, n_systems=n_sys)
        with result_transaction(target) as tmp:
            writer = StoreWriter(
                tmp / STORE_NAME,
                lay,
                attrs,
                static_arrays(first),
                variant_data={
                    "variant_label": np.array([label for label, _ in variants], dtype=str),
                    "variant_scenario": np.array(
                        [json.dumps(s.resolved(), sort_keys=True) for s in scens], dtype=str
                    ),
                },
            )

            def sink(v: int, a: int, b: int, arrays: dict[str, np.ndarray], n: int) -> None:
                writer.write(a, b, arrays, variant=v)
                clipped[v] += n
                if progress is not None:
                    progress(b - a)

            stream_chunks(plans, lay, sink, client=c)
            for v, pr in enumerate(prov):
                pr["clipped_rate_draws"] = clipped[v]
            writer.finish(
                {
                    "clipped_rate_draws": sum(clipped),
                    "variant_provenance": json.dumps(prov, default=str),
                }
            )
            summary, written = write_reports(tmp)
    return summary, [target / w.name for w in written]
