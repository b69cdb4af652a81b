"""The one pipeline: :class:`Run` resolves, loads, plans, checks, computes, builds.

Dependency direction: ``inputs`` and ``model`` -> ``executors``, ``store``, ``budget``,
``folders`` -> ``run`` -> ``sweep``, ``studies``, ``cli`` and the facade
(``projector.run``). Every way of running a projection (the command line, the Python
API, sweeps, backtests, sensitivity analyses) goes through :class:`Run`, so each gets
the same executors, the same memory and disk checks and the same Dataset.

Stages, as pvlib's ``ModelChain`` names them, each a method that runs the ones before it
when they have not run yet::

    run = Run("default", paths=100_000, store="results/mine")
    run.resolve()   # the scenario with its changes (--paths, --seed, --dataset, --set)
    run.load()      # the systems table
    run.plan()      # engine.plan: eras, grid, mixture; the store's layout
    run.check()     # the output folder, the memory and disk budget
    run.compute()   # every chunk through an executor, into memory or the store
    run.result()    # the xarray Dataset (opened lazily from the store)
    run.summary()   # exact summaries with Monte Carlo errors

:meth:`Run.execute` runs them all; :func:`projector.pipeline.api.run` is the one-liner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError
from projector.inputs.scenario import Scenario, load_scenario, override, parse_set, with_overrides
from projector.inputs.systems import Systems, load_dataset
from projector.model import engine
from projector.pipeline import budget, executors

if TYPE_CHECKING:  # folders and store load xarray: imported where a run needs them
    import xarray as xr

    from projector.pipeline.store import Layout

__all__ = ["Run", "resolve", "stream_chunks"]


def resolve(
    scenario: str | Path | Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | Path | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """A scenario with the command line's changes: ``--paths/--seed/--dataset`` and
    ``--set`` (``KEY=VALUE`` strings or a mapping), all through ``scenario.override``."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(str(scenario))
    if dataset is not None and not Path(dataset).is_file():
        raise InputError(f"--dataset {dataset}: no such file")
    scen = with_overrides(
        scen, paths=paths, seed=seed, dataset=None if dataset is None else str(dataset)
    )
    if changes:
        if isinstance(changes, Mapping):
            scen = override(scen, changes)
        else:
            scen = override(scen, dict(parse_set(text) for text in changes))
    return scen


@contextlib.contextmanager
def executor(
    client: Any = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
) -> Iterator[Any]:
    """A Dask client to run chunks on (``executors.connect``), the given ``client``, or
    None for a run in this process."""
    if client is not None or (workers is None and scheduler is None):
        yield client
        return
    with executors.connect(workers=workers, scheduler=scheduler, timeout=timeout) as c:
        yield c


def stream_chunks(
    plans: Sequence[engine.Plan],
    lay: Layout,
    sink: Callable[[int, int, int, dict[str, np.ndarray], int], None],
    *,
    client: Any = None,
) -> None:
    """Compute every chunk of every plan, reduced to what a store of layout ``lay`` keeps,
    and hand ``sink(variant, first, stop, arrays, clipped)`` each in order."""
    bounds = engine.chunk_bounds(lay.paths, lay.chunk)
    tasks = [(p, a, b, lay.years, lay.keep) for p in plans for a, b in bounds]

    def each(i: int, res: tuple[int, int, dict[str, np.ndarray], int]) -> None:
        first, stop, arrays, clipped = res
        sink(i // len(bounds), first, stop, arrays, clipped)

    if client is None:
        # compute in a worker thread while this one compresses and writes the last chunk
        with executors.threads(1) as pool:
            executors.map_chunks(pool, tasks, each, slots=1)
    else:
        ex = executors.executor_for(client, plans)
        executors.map_chunks(ex, tasks, each, slots=executors.slots_of(client))


class Run:
    """One projection, stage by stage (module docstring).

    Parameters
    ----------
    scenario
        A name in ``scenarios/``, a path to a TOML file, or a loaded :class:`Scenario`.
    paths, seed, dataset, changes
        Changes to the scenario (``changes``: ``{"growth.moore_doubling_months": 18}``
        or ``["growth.moore_doubling_months=18"]``), recorded in provenance.
    systems
        The systems table, when the caller has it loaded already (backtests, sweeps);
        otherwise the scenario's dataset is loaded.
    store
        A result folder to stream the run into (store, summaries); ``True`` for the
        default folder ``results/<name>/`` (``results/<name>-<hash8>/`` when anything was
        changed). Without it the run is computed in memory with every full path kept.
    keep_paths, chunk_paths
        Full paths a store keeps (default: all up to 10,000 paths, else 1,000) and paths
        per chunk (memory only: results never depend on it). Given for a run in memory,
        the Dataset holds what a store would, bit for bit (that many full paths, float32,
        later rows NaN; the yearly grid from the kernels): the fast form for reruns.
    workers, scheduler, timeout, client
        Run the chunks on a local Dask cluster of ``workers`` processes, on the cluster
        whose scheduler is at ``scheduler``, or on a connected ``client``; bit-identical
        to a run in this process.
    threads
        Threads numba's parallel kernels may use.
    force, reuse, plot
        Replace a result made from other inputs; keep a result made from the same inputs
        instead of recomputing it; write the fan chart beside the summaries.
    progress
        Called with the number of paths finished after each chunk.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario,
        /,
        *,
        paths: int | None = None,
        seed: int | None = None,
        dataset: str | Path | None = None,
        changes: Mapping[str, Any] | Sequence[str] | None = None,
        systems: Systems | None = None,
        store: str | Path | bool | None = None,
        keep_paths: int | None = None,
        chunk_paths: int | None = None,
        workers: int | None = None,
        scheduler: str | None = None,
        timeout: float = 10.0,
        client: Any = None,
        threads: int | None = None,
        force: bool = False,
        reuse: bool = False,
        plot: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        if chunk_paths is not None and chunk_paths < 1:
            raise InputError(f"chunk_paths must be >= 1, got {chunk_paths}")
        if keep_paths is not None and keep_paths < 0:
            raise InputError(f"keep_paths must be >= 0, got {keep_paths}")
        self._request = dict(paths=paths, seed=seed, dataset=dataset, changes=changes)
        self._scenario_in = scenario
        self._store = store
        self.keep_paths, self.chunk_paths = keep_paths, chunk_paths
        self.workers, self.scheduler, self.timeout = workers, scheduler, timeout
        self.client, self.threads = client, threads
        self.force, self.reuse, self.plot = force, reuse, plot
        self.progress = progress
        self._systems = systems
        self._scenario: Scenario | None = None
        self._plan: engine.Plan | None = None
        self._layout: Layout | None = None
        self._target: Path | None = None
        self._checked = False
        self._dataset: xr.Dataset | None = None
        self._summary: xr.Dataset | None = None
        self.up_to_date = False  # reuse found a result of the same inputs
        self.written: list[Path] = []

    # --- stages -----------------------------------------------------------------------

    def resolve(self) -> Scenario:
        """The scenario with every change applied (validated like the file)."""
        if self._scenario is None:
            self._scenario = resolve(self._scenario_in, **self._request)  # type: ignore[arg-type]
        return self._scenario

    def load(self) -> Systems:
        """The systems table the scenario names (or the one given)."""
        if self._systems is None:
            scen = self.resolve()
            self._systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
        return self._systems

    @property
    def target(self) -> Path | None:
        """The result folder, or None for a run in memory."""
        if self._target is None and self._store is not None and self._store is not False:
            from projector.pipeline.checks import check_output_folder
            from projector.pipeline.folders import RESULTS_DIR, result_folder

            want = (
                result_folder(self.resolve(), root=RESULTS_DIR)
                if self._store is True
                else self._store
            )
            self._target = check_output_folder(want)  # writable, before any compute
        return self._target

    def plan(self) -> engine.Plan:
        """The plan (``engine.plan``), after checking that it fits in memory."""
        if self._plan is None:
            scen, systems = self.resolve(), self.load()
            budget.check_plan(scen, systems)  # the plan itself, before it is built
            self._plan = engine.plan(scen, systems)
        return self._plan

    @property
    def layout(self) -> Layout:
        """What the run's store holds (also the shapes of a run in memory)."""
        if self._layout is None:
            from projector.model.cube import default_keep, yearly_grid
            from projector.pipeline.store import Layout

            p = self.plan()
            scen = p.scenario
            keep = scen.paths if self.keep_paths is None else self.keep_paths
            if self.target is not None and self.keep_paths is None:
                keep = default_keep(scen.paths)
            self._layout = Layout(
                paths=scen.paths,
                chunk=executors.chunk_size(scen.paths, self.chunk_paths),
                times=p.times,
                years=yearly_grid(p.times, scen.report_years),
                keep=min(keep, scen.paths),
                anchors=tuple(a.name for a in scen.anchors),
                components=tuple(c.name for c in scen.reversion),
                constraints=p.ceilings.names if p.ceilings is not None else (),
            )
        return self._layout

    def check(self) -> None:
        """The output folder may be written (or holds this result already: ``reuse``), and
        the run fits in memory and, with a store, on disk; refused before any compute."""
        if self._checked:
            return
        scen, systems = self.resolve(), self.load()
        target = self.target
        if target is not None:
            from projector.pipeline.folders import check_target, identity, scenario_inputs

            same = check_target(
                target, identity(scen, systems), force=self.force,
                inputs=scenario_inputs(scen),
            )  # fmt: skip
            if same and self.reuse:
                self.up_to_date = True
                self._checked = True
                return
        p, lay = self.plan(), self.layout
        if target is None:
            budget.check_in_memory(scen.paths, len(p.times), len(lay.years), len(lay.anchors))
        else:
            slots = self.workers or 1
            budget.check_fits(
                lay, target.parent, in_flight=2 * slots,
                # the record process draws one uniform per path and step, like a system index
                n_systems=len(p.t_dl) + len(p.t_pre) + (len(p.times) if p.record else 0),
            )  # fmt: skip
        self._checked = True

    def compute(self) -> None:
        """Every chunk through the executor: into memory, or streamed into the store inside
        one result transaction (the old result stays until the new one is whole)."""
        self.check()
        if self.up_to_date or self._dataset is not None:
            return
        if self.threads:
            executors.set_threads(self.threads)
        with executor(
            self.client, workers=self.workers, scheduler=self.scheduler, timeout=self.timeout
        ) as client:
            if self.target is None:
                self._dataset = self._compute_in_memory(client)
            else:
                self._compute_into_store(client)

    def result(self) -> xr.Dataset:
        """The run as an ``xarray.Dataset`` (dims ``path``, ``time``, ``year``, ``anchor``,
        ``component``; ``projector.model.cube``): opened lazily from a store."""
        if self._dataset is None:
            self.compute()
            if self._dataset is None:
                assert self.target is not None
                from projector.pipeline.store import open_result

                self._dataset = open_result(self.target)
        return self._dataset

    def summary(self) -> xr.Dataset:
        """Summaries with Monte Carlo errors (``projector.model.summary.summarize``)."""
        if self._summary is None:
            from projector.model.summary import summarize

            self._summary = summarize(self.result())
        return self._summary

    def rerun(self, changes: Mapping[str, Any] | Sequence[str] | None = None, /) -> Run:
        """This run again with ``changes`` on top of its own (scalar keys by dotted name,
        ``{"growth.moore_doubling_months": 18}`` or ``["KEY=VALUE", ...]``), computed in
        memory: the warm path of a notebook or the explorer.

        The scenario is not read again, the systems table is reused unless a ``data``
        key changed, the plan is reused when the resolved scenario is the same, and the
        random draws, bootstrap rates and record-process fit of the last runs are kept
        (:mod:`projector.model.memo`), so a rerun of 10,000 paths costs the kernels and
        the summary. The result is bit-identical to a fresh run of the same scenario.
        """
        old = self.resolve()
        scen = resolve(old, changes=changes) if changes else old
        same_data = (scen.data.dataset, scen.data.notable_only) == (
            old.data.dataset,
            old.data.notable_only,
        )
        nxt = Run(
            scen,
            systems=self.load() if same_data else None,
            keep_paths=self.keep_paths,
            chunk_paths=self.chunk_paths,
            threads=self.threads,
        )
        if self._plan is not None and scen.sha256 == self._plan.scenario.sha256:
            nxt._plan = self._plan
        return nxt

    def execute(self) -> Run:
        """Every stage, in order; with a store and ``plot``, the fan chart too."""
        self.compute()
        if self.up_to_date and self.plot and self.target is not None:
            from projector.pipeline.folders import write_fan_chart

            self.written = [write_fan_chart(self.result(), self.target / "fan_chart.png")]
        return self

    # --- the two ways to compute ------------------------------------------------------

    def _compute_in_memory(self, client: Any) -> xr.Dataset:
        from projector.model import memo
        from projector.model.cube import to_dataset

        p, lay = self.plan(), self.layout
        n = p.paths
        if client is None and n <= memo.MAX_PATHS:
            memo.enable()  # small runs in this process: keep the draws for the next one
        if self.keep_paths is not None:
            return self._compute_reduced(client)
        arrays: dict[str, np.ndarray] = {}
        clipped = 0

        def sink(_: int, c: engine.Chunk) -> None:
            nonlocal clipped
            names = engine.PATH_ARRAYS + (engine.CEILING_ARRAYS if p.ceilings else ())
            for name in names:
                part = getattr(c, name)
                if c.first == 0 and c.stop == n:  # one chunk: its arrays are the run's
                    arrays[name] = part
                    continue
                if name not in arrays:
                    arrays[name] = np.empty((n, *part.shape[1:]), dtype=part.dtype)
                arrays[name][c.first : c.stop] = part
            clipped += c.clipped
            if self.progress is not None:
                self.progress(c.stop - c.first)

        tasks = [(p, a, b) for a, b in engine.chunk_bounds(n, lay.chunk)]
        ex = executors.executor_for(client, [p])
        executors.map_chunks(
            ex, tasks, sink, slots=executors.slots_of(client), fn=executors.compute_full_chunk
        )
        return to_dataset(p, arrays, clipped=clipped)

    def _compute_reduced(self, client: Any) -> xr.Dataset:
        """In memory, what a store of this run would hold (``keep_paths`` full paths,
        float32; the yearly grid for every path), bit for bit."""
        import xarray as xr

        from projector.model.cube import (
            VARIABLES,
            _stamp,
            coords,
            provenance,
            static_arrays,
            system_names,
        )

        p, lay = self.plan(), self.layout
        parts: list[dict[str, np.ndarray]] = []
        clipped = 0

        def sink(_: int, first: int, stop: int, arrays: dict[str, Any], k: int) -> None:
            nonlocal clipped
            parts.append(arrays)
            clipped += k
            if self.progress is not None:
                self.progress(stop - first)

        bounds = engine.chunk_bounds(lay.paths, lay.chunk)
        tasks = [(p, a, b, lay.years, lay.keep) for a, b in bounds]
        ex = executors.executor_for(client, [p])
        executors.map_chunks(ex, tasks, lambda i, r: sink(i, *r), slots=executors.slots_of(client))
        data = {
            name: parts[0][name] if len(parts) == 1 else np.concatenate([q[name] for q in parts])
            for name in parts[0]
            if name != "log10_compute"
        }
        kept = [q["log10_compute"] for q in parts if "log10_compute" in q]
        full = np.full((lay.paths, len(lay.times)), np.nan, dtype=np.float32)
        if kept:
            rows = kept[0] if len(kept) == 1 else np.concatenate(kept)
            if rows.shape[0] == lay.paths:
                full = rows
            else:
                full[: rows.shape[0]] = rows
        data["log10_compute"] = full
        data.update(static_arrays(p.scenario, p.eras, p))
        ds = xr.Dataset(
            {name: (VARIABLES[name][0], values) for name, values in data.items()},
            coords={
                **coords(p.scenario, lay.times, lay.years, lay.paths, p),
                "system": system_names(p.eras),
            },
        )
        _stamp(ds, p.scenario)
        ds.attrs.update(
            provenance(
                p.scenario, p.eras, p.growth_ref, clipped=clipped, ceilings=p.ceilings,
                record=p.record,
            ),
            paths=lay.paths,
            paths_kept=lay.keep,
            chunk_paths=lay.chunk,
        )  # fmt: skip
        return ds

    def _compute_into_store(self, client: Any) -> None:
        from projector.model.cube import provenance, static_arrays, system_names
        from projector.pipeline.folders import Held, write_reports
        from projector.pipeline.store import STORE_NAME, StoreWriter
        from projector.pipeline.transaction import result_transaction

        p, lay, target = self.plan(), self.layout, self.target
        assert target is not None
        attrs = provenance(
            p.scenario, p.eras, p.growth_ref, clipped=0, ceilings=p.ceilings, record=p.record
        )
        attrs.update(paths_kept=lay.keep, chunk_paths=lay.chunk)
        with result_transaction(target) as tmp:
            writer = StoreWriter(
                tmp / STORE_NAME,
                lay,
                attrs,
                static_arrays(p.scenario, p.eras, p),
                systems=system_names(p.eras),
            )
            held = Held(lay)
            clipped = 0

            def sink(_: int, first: int, stop: int, arrays: dict[str, Any], n: int) -> None:
                nonlocal clipped
                writer.write(first, stop, arrays)
                held.add(arrays)
                clipped += n
                if self.progress is not None:
                    self.progress(stop - first)

            stream_chunks([p], lay, sink, client=client)
            writer.finish({"clipped_rate_draws": clipped})
            self._summary, written = write_reports(tmp, plot=self.plot, held=held)
        self.written = [target / w.name for w in written]
