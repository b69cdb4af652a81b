"""The one-liners over :class:`~projector.pipeline.run.Run`: :func:`run` (``projector.run``),
its deprecated alias :func:`project`, and the reversion warnings ``projector validate`` prints.

Dependency direction: ``run`` -> ``api`` -> the facade and the CLI.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projector.inputs.scenario import Scenario
from projector.inputs.systems import load_dataset
from projector.model import engine
from projector.pipeline.run import Run

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["project", "reversion_warnings", "run"]


def run(
    scenario: str | Path | Scenario,
    /,
    *,
    paths: int | None = None,
    seed: int | None = None,
    dataset: str | Path | None = None,
    changes: Mapping[str, Any] | Sequence[str] | None = None,
    store: str | Path | bool | None = None,
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
        Changes to the scenario, recorded in provenance (:class:`Run`).
    store
        A result folder to stream the run into (store, summaries; ``True``: the default
        ``results/<name>/``); the Dataset returned is then opened lazily from it. Without
        it the run is computed in memory (every full path kept) and must fit there.
    workers, scheduler
        Run the chunks on a local Dask cluster of ``workers`` processes (in a script,
        under ``if __name__ == "__main__":``), or on the cluster at ``scheduler``;
        bit-identical to a run in this process.
    keep_paths, chunk_paths, force
        As for :class:`Run`.

    Returns
    -------
    xarray.Dataset
        Dims ``path``, ``time``, ``year``, ``anchor``, ``component`` (``projector.model.
        cube``); :func:`projector.summarize` summarises it.
    """
    r = Run(
        scenario,
        paths=paths,
        seed=seed,
        dataset=dataset,
        changes=changes,
        store=store,
        workers=workers,
        scheduler=scheduler,
        keep_paths=keep_paths,
        chunk_paths=chunk_paths,
        force=force,
    )
    return r.result()


#: What each ``growth.reversion_before_start`` policy does with a date before the start.
_BEFORE_START = {
    "mirror": "acts like a date as far after it (the 2022 formula)",
    "truncate": "is conditioned away (the mixture is renormalised on R > s)",
    "immediate": "reverts at the start (w = 0 from s)",
}


def reversion_warnings(scen: Scenario, /, *, threshold: float = 0.01) -> list[str]:
    """Warnings for reversion components that put more than ``threshold`` of their
    probability before the start (the newest data's date when the scenario sets none),
    saying what the scenario's policy does with such dates (``projector validate``)."""
    s = scen.start_year
    if s is None:
        systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
        s = float(systems.until(scen.data.cutoff).year.max())
    what = _BEFORE_START[scen.reversion_before_start]
    return [
        f"{scen.source}: reversion component '{comp}' puts {mass:.1%} of its probability "
        f"before the start {s:.2f}; under growth.reversion_before_start = "
        f"'{scen.reversion_before_start}' such a date {what}"
        for comp, mass in engine.reversion_mass_before_start(scen, s)
        if mass > threshold
    ]


def project(scenario: str | Path | Scenario, /, **kwargs: Any) -> xr.Dataset:
    """Deprecated alias of :func:`run` (same arguments, same result)."""
    warnings.warn(
        "projector.project is deprecated; use projector.run (same arguments)",
        DeprecationWarning,
        stacklevel=2,
    )
    return run(scenario, **kwargs)
