"""What a path under ceilings may reach: its lowest ceiling or the record, on the engine's grid.

A path with ceilings is held at or below its lowest ceiling at every grid time, but never
below the record at the start (a record process never falls): its limit at a grid time is
``max(lowest ceiling, record)``. Where a drawn ceiling lies below the record (GPT-6 Astra,
10^27.0 in 2026-09, is above the low tail of some ceilings of 2027), that limit has a kink
between two grid times, and a year between them sees the path interpolated linearly from
the two grid limits, which is above ``max(ceiling at the year, record)`` by up to the
ceiling's growth over one grid step. So the limit at the years is the grid limit
interpolated as the paths are (``projector.model.cube.yearly_values``), not the ceiling at
the year: this module states it once for the tests that check ceilings.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xarray as xr

from projector.model import limits
from projector.model.cube import yearly_values
from projector.model.engine import Plan


def ceiling_or_record(
    ds: xr.Dataset, p: Plan
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(path, time) and (path, year) limits of the paths of ``ds`` (run from plan ``p``).

    The ceilings are redrawn from the plan (the draws depend only on the seed and the path,
    not on chunking) and checked against the stored ``log10_ceiling`` first.
    """
    cp = p.ceilings
    assert cp is not None, "a run with ceilings"
    knots = limits.draw_knots(cp, p.scenario.seed, 0, p.paths)
    years = ds["year"].values.astype(np.float64)
    on_grid = limits.at_years(cp, knots, p.times)  # (path, ceiling, time)
    at_years = np.stack(
        [yearly_values(p.times, on_grid[:, k], years) for k in range(on_grid.shape[1])], axis=1
    )
    np.testing.assert_allclose(  # the redrawn ceilings are the run's (float32 stored)
        at_years, ds["log10_ceiling"].values.astype(np.float64), rtol=0, atol=1e-5
    )
    lowest = np.where(np.isnan(on_grid), np.inf, on_grid).min(axis=1)  # inf: none modelled
    grid = np.maximum(lowest, p.eras.log10_start)
    finite = np.where(np.isinf(grid), 1e300, grid)  # interpolate without inf * 0
    yearly = yearly_values(p.times, finite, years)
    return grid, np.where(yearly > 1e299, np.inf, yearly)
