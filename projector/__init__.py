"""projector: Monte Carlo projections of frontier ML training compute.

Modules, in dependency order: ``scenario`` (TOML -> frozen dataclasses), ``data``
(milestone systems), ``kernels`` (numba) and ``twins`` (their NumPy references),
``engine`` (plan and chunks), ``cube`` (the one Dataset builder), ``summary`` (exact
statistics with Monte Carlo errors), ``report`` (Markdown/CSV), ``store`` (Zarr result
stores), ``execute`` (serial, threaded, Dask), ``api`` (runs into result folders), and
at the edges ``plots`` and ``cli``.

The facade for Python users (heavy modules load on first use)::

    import projector
    ds = projector.project("default", paths=100_000, store="results/mine")
    s = projector.summarize(ds)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_scenario", "open_result", "project", "summarize"]

_LAZY = {
    "load_scenario": ("projector.inputs.scenario", "load_scenario"),
    "open_result": ("projector.pipeline.store", "open_result"),
    "project": ("projector.pipeline.run", "project"),
    "summarize": ("projector.model.summary", "summarize"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'projector' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
