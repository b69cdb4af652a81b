"""The fixed cost of the command line: a command imports only what it uses.

Each check runs the command in a fresh interpreter and reads ``sys.modules`` at its end.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from projector.model import kernels, lines

HEAVY = ("numba", "scipy", "xarray", "dask", "pandas", "zarr", "matplotlib")

_PROBE = """
import json, sys
from projector.cli.app import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(HEAVY)))
print("LOADED " + json.dumps([status, loaded]))
"""


def _loaded(*argv: str) -> tuple[int, list[str]]:
    code = _PROBE.replace("json.loads(HEAVY)", repr(list(HEAVY)))
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("LOADED "))
    status, loaded = json.loads(line[len("LOADED ") :])
    return int(status or 0), loaded


def test_version_imports_nothing_heavy() -> None:
    assert _loaded("--version") == (0, [])


def test_validate_imports_neither_numba_xarray_nor_dask() -> None:
    # scipy stays: the default scenario's record-process fit is a SciPy optimisation
    # and the mixture's truncation uses scipy.special.ndtr (a plan refuses what a run would)
    status, loaded = _loaded("validate", "default")
    assert status == 0
    assert not {"numba", "xarray", "dask", "pandas", "zarr", "matplotlib"} & set(loaded)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 60), elements=finite), st.data())
def test_plan_time_ols_is_the_kernels_bits(t: np.ndarray, data: st.DataObject) -> None:
    y = data.draw(hnp.arrays(np.float64, t.shape[0], elements=finite))
    got = lines.ols_fit(t, y)
    want = kernels.ols_fit(t, y)
    np.testing.assert_array_equal(np.array(got), np.array(want))
