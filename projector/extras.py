"""Optional dependencies (extras): import one, or stop with one line naming the extra.

Dependency direction: imports ``errors`` only; every import site of an extra's package
calls :func:`require` (plots, the studies, the HTML report, the Dask executor).

The extras (``pip install 'projector[plot,studies,dask]'``; ``make install`` installs
all): ``plot`` (matplotlib: figures), ``studies`` (SALib, scoringrules, Markdown:
sensitivity analyses, backtest scores, the HTML report), ``dask`` (dask, distributed:
``--workers``/``--scheduler``), ``measure`` (PyTorch). A plain ``projector project``
needs none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from projector.errors import MissingExtra

__all__ = ["require"]


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import and return ``module``, or raise :class:`MissingExtra` naming ``extra``.

    Parameters
    ----------
    module
        The dotted module name, e.g. ``"matplotlib.figure"`` or ``"SALib.analyze.sobol"``.
    extra
        The extra that installs it: ``"plot"``, ``"studies"``, ``"dask"``, ``"measure"``.
    what
        What needs it, as the start of a sentence: ``"plots"``, ``"--workers/--scheduler"``.

    Raises
    ------
    MissingExtra
        One line, e.g. ``plots need the 'plot' extra: pip install 'projector[plot]'``
        (an :class:`~projector.errors.InputError`: exit status 2 on the command line).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        missing = exc.name is None or exc.name.split(".")[0] == top
        if not missing:  # the package is there but one of its own imports failed
            raise
        raise MissingExtra(
            f"{what} need the '{extra}' extra: pip install 'projector[{extra}]'"
        ) from None
