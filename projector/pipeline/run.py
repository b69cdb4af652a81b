"""Running projections and sweeps into result folders; the Python facade.

Dependency direction: ``engine``, ``cube``, ``summary``, ``report``, ``store``,
``execute`` and ``transaction`` -> ``api`` -> ``cli`` (and ``projector.project``).

A result folder is written inside :func:`projector.pipeline.transaction.result_transaction`:
the store, the summaries and the figure go into a fresh temporary folder that replaces
the old result in one step when everything is written, so nothing complete-looking
exists before the run is complete.

Which folder (README, "Results you don't lose"): ``results/<name>/`` for a scenario as
written; ``results/<name>-<hash>/`` when anything was changed on the command line
(``--paths``, ``--seed``, ``--dataset``, ``--set``), ``<hash>`` being the first 8 hex
digits of the resolved scenario's sha256. A folder that holds a result made from other
inputs (scenario hash, dataset hash, seed, paths) is never replaced without ``force``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from projector.errors import InputError
from projector.inputs.scenario import Scenario, load_scenario, override, parse_set, with_overrides
from projector.inputs.systems import Systems, load_dataset
from projector.model import engine
from projector.model.cube import (
    default_keep,
    provenance,
    static_arrays,
    system_names,
    to_dataset,
    yearly_grid,
)
from projector.pipeline.executors import chunk_size, executor_for, map_chunks, slots_of, threads
from projector.pipeline.store import (
    IDENTITY,
    STORE_NAME,
    Layout,
    StoreWriter,
    check_fits,
    open_result,
    read_identity,
)

__all__ = [
    "Held",
    "check_target",
    "identity",
    "parse_grid",
    "project",
    "resolve",
    "result_folder",
    "run_projection",
    "run_sweep",
    "write_reports",
]

RESULTS_DIR = Path("results")


def resolve(
    scenario: str | Path | Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """A scenario with the command line's changes: ``--paths/--seed/--dataset`` and
    ``--set`` (``KEY=VALUE`` strings or a mapping), all through ``scenario.override``."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if dataset is not None and not Path(dataset).is_file():
        raise InputError(f"--dataset {dataset}: no such file")
    scen = with_overrides(scen, paths=paths, seed=seed, dataset=dataset)
    if changes:
        if isinstance(changes, Mapping):
            scen = override(scen, changes)
        else:
            scen = override(scen, dict(parse_set(text) for text in changes))
    return scen


def identity(scen: Scenario, systems: Systems) -> dict[str, Any]:
    """What identifies a result's inputs (``store.IDENTITY``)."""
    return dict(zip(IDENTITY, (scen.sha256, systems.sha256, scen.seed, scen.paths), strict=True))


def result_folder(scen: Scenario, *, root: Path = RESULTS_DIR) -> Path:
    """``root/<name>/`` for a scenario as written, ``root/<name>-<hash8>/`` otherwise."""
    return root / (scen.name if not scen.overrides else f"{scen.name}-{scen.sha256[:8]}")


def check_target(target: Path, wanted: dict[str, Any], *, force: bool) -> bool:
    """May ``target`` be (re)written with a result of inputs ``wanted``?

    Returns True when it already holds a result of exactly these inputs.

    Raises
    ------
    InputError
        ``target`` holds a result from other inputs, or other files, and not ``force``.
    """
    if not target.exists():
        return False
    if not target.is_dir():
        raise InputError(f"--out {target}: exists and is not a folder")
    have = read_identity(target)
    if have is None:
        if any(target.iterdir()) and not force:
            raise InputError(
                f"{target}: exists and holds no projector result; choose another --out "
                "or pass --force to replace it"
            )
        return False
    differ = [k for k in IDENTITY if have.get(k) != wanted[k]]
    if differ and not force:
        what = ", ".join(f"{k} {have.get(k)!s:.12} -> {wanted[k]!s:.12}" for k in differ)
        raise InputError(
            f"{target}: holds a result from other inputs ({what}); pass --force to "
            "replace it or --out to write elsewhere"
        )
    return not differ


def _layout(p: engine.Plan, *, keep_paths: int | None, chunk_paths: int | None) -> Layout:
    scen = p.scenario
    keep = default_keep(scen.paths) if keep_paths is None else min(keep_paths, scen.paths)
    return Layout(
        paths=scen.paths,
        chunk=chunk_size(scen.paths, chunk_paths),
        times=p.times,
        years=yearly_grid(p.times, scen.report_years),
        keep=keep,
        anchors=tuple(a.name for a in scen.anchors),
        components=tuple(c.name for c in scen.reversion),
    )


def plan_run(
    scen: Scenario,
    systems: Systems,
    folder: Path,
    *,
    keep_paths: int | None = None,
    chunk_paths: int | None = None,
    slots: int = 1,
) -> tuple[engine.Plan, Layout]:
    """Plan a run and check that it fits on disk at ``folder`` and in memory."""
    p = engine.plan(scen, systems)
    lay = _layout(p, keep_paths=keep_paths, chunk_paths=chunk_paths)
    check_fits(lay, folder, in_flight=2 * slots, n_systems=len(p.t_dl) + len(p.t_pre))
    return p, lay


class Held:
    """What a summary reads of a run, kept as the chunks stream (``Layout.bytes_held``).

    The arrays are those written to the store, so a summary made from them is the
    summary of the store (a test compares them).
    """

    NAMES = ("log10_compute_yearly", "crossing_year")

    def __init__(self, lay: Layout) -> None:
        self.on = lay.bytes_held() > 0
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self.NAMES}

    def add(self, arrays: Mapping[str, np.ndarray]) -> None:
        if self.on:
            for name in self.NAMES:
                self.parts[name].append(arrays[name])

    def apply(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds`` (a store opened lazily) with the held arrays in place of its own."""
        if not self.on or not self.parts[self.NAMES[0]]:
            return ds
        held = {n: (ds[n].dims, np.concatenate(self.parts[n])) for n in self.NAMES}
        return ds.assign(held)


def run_projection(
    p: engine.Plan,
    lay: Layout,
    folder: Path,
    *,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
    held: Held | None = None,
) -> Path:
    """Compute every chunk of ``p`` and stream it into ``folder/projection.zarr`` (and
    into ``held``, when given)."""
    scen = p.scenario
    attrs = provenance(scen, p.eras, p.growth_ref, clipped=0)
    attrs.update(paths_kept=lay.keep, chunk_paths=lay.chunk)
    writer = StoreWriter(
        folder / STORE_NAME,
        lay,
        attrs,
        static_arrays(scen, p.eras),
        systems=system_names(p.eras),
    )
    tasks = [(p, a, b, lay.years, lay.keep) for a, b in engine.chunk_bounds(lay.paths, lay.chunk)]
    clipped = 0

    def sink(_: int, res: tuple[int, int, dict[str, np.ndarray], int]) -> None:
        nonlocal clipped
        first, stop, arrays, n_clipped = res
        writer.write(first, stop, arrays)
        if held is not None:
            held.add(arrays)
        clipped += n_clipped
        if progress is not None:
            progress(stop - first)

    if client is None:
        # compute in a worker thread while this one compresses and writes the last chunk
        with threads(1) as pool:
            map_chunks(pool, tasks, sink, slots=1)
    else:
        map_chunks(executor_for(client, [p]), tasks, sink, slots=slots_of(client))
    writer.finish({"clipped_rate_draws": clipped})
    return folder / STORE_NAME


def write_reports(
    folder: Path, *, plot: bool = False, held: Held | None = None
) -> tuple[xr.Dataset, list[Path]]:
    """Summarise the store in ``folder`` and write summary.csv, summary.md (and the chart);
    ``held``: the run's arrays kept in memory, read instead of the store's copy."""
    from projector.model.summary import summarize
    from projector.pipeline.fileio import atomic_path
    from projector.render.report import summary_csv, summary_markdown

    ds = open_result(folder / STORE_NAME)
    if held is not None:
        ds = held.apply(ds)
    s = summarize(ds)
    written = []
    for name, text in (("summary.csv", summary_csv(s)), ("summary.md", summary_markdown(s))):
        with atomic_path(folder / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(folder / name)
    if plot and "variant" not in ds.dims:
        from projector.render import plots

        fig = plots.fan_chart(ds, summary=s)
        with atomic_path(folder / "fan_chart.png") as tmp:
            fig.savefig(tmp, dpi=130, format="png")
        plots.close(fig)
        written.append(folder / "fan_chart.png")
    written.append(folder / STORE_NAME)
    return s, written


def project(
    scenario: str | Path | Scenario,
    /,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    store: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    keep_paths: int | None = None,
    chunk_paths: int | None = None,
    force: bool = False,
) -> xr.Dataset:
    """Run a projection and return it as an ``xarray.Dataset``.

    Parameters
    ----------
    scenario
        A name in ``scenarios/``, a path to a TOML file, or a loaded :class:`Scenario`.
    paths, seed, dataset, changes
        Changes to the scenario (``changes``: ``{"growth.moore_doubling_months": 18}``
        or ``["growth.moore_doubling_months=18"]``), recorded in provenance.
    store
        A result folder to stream the run into (store, summaries); the Dataset returned
        is then opened lazily from it. Without it the run is computed in memory (every
        full path kept) and must fit there.
    workers, scheduler
        Run the chunks on a local Dask cluster of ``workers`` processes, or on the
        cluster whose scheduler is at ``scheduler``; bit-identical to a serial run.
    keep_paths, chunk_paths
        Full monthly paths to keep (store only; default: all up to 10,000 paths, else
        1,000) and paths per chunk (memory only).

    Returns
    -------
    xarray.Dataset
        Dims ``path``, ``time``, ``year``, ``anchor``, ``component`` (see
        ``projector.model.cube``); :func:`projector.model.summary.summarize` summarises it.
    """
    from projector.pipeline.executors import connect
    from projector.pipeline.transaction import result_transaction

    scen = resolve(scenario, paths=paths, seed=seed, dataset=dataset, changes=changes)
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    if store is None:
        p = engine.plan(scen, systems)
        need = 8.0 * scen.paths * (len(p.times) + len(scen.anchors) + 10) * 1.5
        from projector.pipeline.store import memory_available

        if need > memory_available():
            raise InputError(
                f"{scen.paths:,} paths in memory would need about {need / 1e9:.1f} GB; "
                "pass store=PATH to stream them to disk instead"
            )
        return to_dataset(
            engine.run(scen, systems, chunk_paths=chunk_size(scen.paths, chunk_paths)), scen
        )
    target = Path(store)
    check_target(target, identity(scen, systems), force=force)
    p, lay = plan_run(scen, systems, target.parent, keep_paths=keep_paths, chunk_paths=chunk_paths)
    if workers is None and scheduler is None:
        with result_transaction(target) as tmp:
            run_projection(p, lay, tmp)
            write_reports(tmp)
    else:
        with connect(workers=workers, scheduler=scheduler) as client:
            with result_transaction(target) as tmp:
                run_projection(p, lay, tmp, client=client)
                write_reports(tmp)
    return open_result(target)


# --- sweeps ----------------------------------------------------------------------------


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


def run_sweep(
    variants: Sequence[tuple[str, Scenario]],
    target: Path,
    *,
    client: Any = None,
    keep_paths: int | None = 0,
    chunk_paths: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[xr.Dataset, list[Path]]:
    """Run every variant's chunks as tasks and write one store with a ``variant`` dim.

    Variants must share their number of paths and their anchors; the yearly grid is the
    union of theirs (NaN where a variant does not reach a year). Full paths are kept
    only when every variant has the same time grid.
    """
    from projector.pipeline.transaction import result_transaction

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
        if key not in cache:
            cache[key] = load_dataset(s.data.dataset, notable_only=s.data.notable_only)
        plans.append(engine.plan(s, cache[key]))
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
        chunk=chunk_size(first.paths, chunk_paths),
        times=plans[0].times if keep else np.empty(0),
        years=years,
        keep=keep,
        anchors=tuple(a.name for a in first.anchors),
        components=tuple(c.name for c in first.reversion),
        variants=len(plans),
    )
    n_sys = max(len(p.t_dl) + len(p.t_pre) for p in plans)
    check_fits(lay, target.parent, in_flight=2 * slots_of(client), n_systems=n_sys)
    prov = [provenance(p.scenario, p.eras, p.growth_ref, clipped=0) for p in plans]
    attrs = dict(prov[0])
    attrs.update(
        title=f"projector sweep: {first.name} ({len(plans)} variants)",
        paths_kept=keep,
        chunk_paths=lay.chunk,
        sweep=True,
    )
    bounds = engine.chunk_bounds(lay.paths, lay.chunk)
    tasks = [(p, a, b, years, keep) for p in plans for a, b in bounds]
    clipped = [0] * len(plans)
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

        def sink(i: int, res: tuple[int, int, dict[str, np.ndarray], int]) -> None:
            a, b, arrays, n_clipped = res
            v = i // len(bounds)
            writer.write(a, b, arrays, variant=v)
            clipped[v] += n_clipped
            if progress is not None:
                progress(b - a)

        map_chunks(executor_for(client, plans), tasks, sink, slots=slots_of(client))
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


def sweep_variants(
    scenarios: Sequence[str],
    sets: Sequence[str],
    *,
    paths: int | None = None,
    seed: int | None = None,
) -> list[tuple[str, Scenario]]:
    """The variants of a sweep: each scenario file x each combination of ``--set`` values."""
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
