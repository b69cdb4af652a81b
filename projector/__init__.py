"""projector: Monte Carlo projections of frontier ML training compute.

Modules, in dependency order: ``scenario`` (TOML -> frozen dataclasses), ``data``
(milestone systems), ``kernels`` (numba) and ``twins`` (their NumPy references),
``engine`` (draws and chunks), ``results`` (xarray cube, summaries, I/O), and at the
edges ``plots`` and ``cli``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
