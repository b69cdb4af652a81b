"""projector: Monte Carlo projections of frontier ML training compute.

The package, by kind of code (dependencies point down this list):

- ``inputs/``: scenario keys and tables, scenario files, the systems table and its
  formats, the frontier; the bundled data.
- ``model/``: numba kernels and their NumPy twins, the engine (``plan``, ``run_chunk``),
  the one variable table and Dataset builder (``cube``), summaries.
- ``pipeline/``: :class:`~projector.pipeline.run.Run` (resolve, load, plan, check,
  compute, result, summary), executors (serial, threads, Dask), stores, the memory and
  disk budget, result folders.
- ``studies/``: trends, backtests, sensitivity, comparisons, published figures.
- ``render/``: tables, text, plots, the HTML report.
- ``curation/``: estimating training compute, accelerators, measuring.
- ``cli/``: parsing and printing; the one error boundary and the signal handlers.

The facade for Python users (modules load on first use; importing ``projector`` changes
no signal handler, backend or global seed)::

    import projector as pj
    ds = pj.run("default", paths=100_000, store="results/mine")
    s = pj.summarize(ds)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Run",
    "__version__",
    "backtest",
    "compare",
    "counts",
    "counts_backtest",
    "load_scenario",
    "open_result",
    "override",
    "project",
    "run",
    "sensitivity",
    "summarize",
    "sweep",
    "trends",
]

_LAZY = {
    "Run": ("projector.pipeline.run", "Run"),
    "backtest": ("projector.facade", "backtest"),
    "compare": ("projector.facade", "compare"),
    "counts": ("projector.studies.counts", "counts"),
    "counts_backtest": ("projector.studies.count_backtest", "backtest"),
    "load_scenario": ("projector.inputs.scenario", "load_scenario"),
    "open_result": ("projector.pipeline.store", "open_result"),
    "override": ("projector.inputs.scenario", "override"),
    "project": ("projector.pipeline.api", "project"),
    "run": ("projector.pipeline.api", "run"),
    "sensitivity": ("projector.facade", "sensitivity"),
    "summarize": ("projector.model.summary", "summarize"),
    "sweep": ("projector.facade", "sweep"),
    "trends": ("projector.facade", "trends"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'projector' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
