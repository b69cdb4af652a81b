"""The integer codes the numba kernels take for the scenario's string options.

Here, not in the kernel modules, so that a plan reads them without loading numba.
"""

from __future__ import annotations

__all__ = ["CEILING_CODES", "FAMILY_CODES", "SHAPE_CODES"]

SHAPE_CODES = {"gaussian": 0, "half-at-reversion": 1, "logistic": 2, "step": 3}
FAMILY_CODES = {"normal": 0, "lognormal": 1, "uniform": 2, "triangular": 3, "point": 4}
CEILING_CODES = {"off": 0, "report": 1, "clip": 2, "saturate": 3}
