"""Per-path ceilings: each path draws its constraints and turns them into FLOP ceilings.

Dependency direction: ``inputs.constraints`` (the cited table) and ``model.ceilings`` (the
formulas) -> ``limits`` -> ``engine`` (plan and chunks), ``cube`` (what a store keeps)
and ``ceiling_summary``. No I/O here beyond loading the table in :func:`plan_ceilings`.

How a path's ceilings are drawn (issue 20, README "Can it keep going?"):

* Each constraint parameter (power, efficiency, MFU, duration, chip stock, one run's
  share of it, budget, price-performance, data stock) gets one standard normal ``z`` per
  path, held for every year: a path is a world where, say, power is at its 80th
  percentile throughout. With ``ceilings.correlation`` = rho the draws share a common
  factor, ``z = sqrt(rho) z0 + sqrt(1 - rho) e``.
* The table's ``low`` and ``high`` at a year are read as its 5th and 95th percentiles and
  ``central`` as the median, log-normal on each side: ``log x = log c + z / 1.645 *
  (log h - log c)`` for ``z >= 0`` (``log c - log l`` below). A range the source states
  at 95% is read as 90%, so slightly wider than stated. A constraint the table holds (no
  growth row: MFU, share, duration, data) is kept within the table's overall range, and a
  fraction at or below 1.
* The ceilings [FLOP], as ``model.ceilings`` states them: power = power x efficiency x
  MFU x duration; chips = stock x share x an H100's FP8 peak x MFU x duration; money =
  budget x price-performance; data = 0.3 D^2. MFU and duration are shared by power and
  chips: the draws of one path are joint.
* A ceiling is not modelled (NaN, never binds) before the first year all its inputs have
  a sourced level: the table's growth rows are trends of what frontier runs drew, and run
  backwards they fall below runs that happened (``tests/test_ceilings_engine.py``).

Ceilings are computed at whole-year knots; between them the engine interpolates each
ceiling linearly in log10, which is exact for the table (log-linear between whole years).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.constraints import CONSTRAINTS, Constraints, load_constraints
from projector.inputs.scenario import Scenario
from projector.model.ceilings import CHINCHILLA_TOKENS_PER_PARAMETER, SECONDS_PER_DAY
from projector.model.codes import CEILING_CODES
from projector.model.draws import ceiling_normals

__all__ = [
    "CEILINGS",
    "H100_FP8_PEAK",
    "PARAMETERS",
    "USES",
    "CeilingPlan",
    "at_years",
    "draw_knots",
    "plan_ceilings",
]

#: The ceilings, in the order of the ``constraint`` dimension of a result.
CEILINGS = ("power", "chips", "money", "data")
#: The table's constraints each ceiling is made of.
USES: dict[str, tuple[str, ...]] = {
    "power": ("power_run", "energy_efficiency", "mfu", "duration_run"),
    "chips": ("chip_stock", "chip_share_run", "mfu", "duration_run"),
    "money": ("budget_run", "price_performance"),
    "data": ("data_stock",),
}
#: The parameters a path draws, one normal each (the order of the draws).
PARAMETERS = (
    "power_run",
    "energy_efficiency",
    "mfu",
    "duration_run",
    "chip_stock",
    "chip_share_run",
    "budget_run",
    "price_performance",
    "data_stock",
)
#: Dense FP8 peak of one H100 SXM [FLOP/s] (``projector/curation/data/accelerators.csv``,
#: NVIDIA's H100 datasheet: 3,958 TFLOP/s with sparsity): the chip stock is counted in
#: H100-equivalents, so each counts as one H100.
H100_FP8_PEAK = 1.979e15
#: z of the 95th percentile: low and high are read as the 5th and 95th.
Z95 = 1.6448536269514722
_CONSTANT = {
    "power": math.log10(SECONDS_PER_DAY),
    "chips": math.log10(SECONDS_PER_DAY * H100_FP8_PEAK),
    "money": 0.0,
    "data": math.log10(6.0 / CHINCHILLA_TOKENS_PER_PARAMETER),
}


@dataclasses.dataclass(frozen=True)
class CeilingPlan:
    """What a run needs to draw ceilings: the table at whole-year knots, log10.

    ``low``, ``central``, ``high``: (parameter, knot) log10 values in the table's units
    with the scenario's factors applied; ``bounds``: (parameter, 2) log10 limits of a
    draw; ``modelled_from``: (ceiling,) first year each ceiling is modelled.
    """

    mode: str
    code: int
    knot0: float
    knot_years: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    central: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    bounds: npt.NDArray[np.float64]
    modelled_from: npt.NDArray[np.float64]
    correlation: float
    softness: float
    table_label: str
    table_sha256: str

    @property
    def names(self) -> tuple[str, ...]:
        return CEILINGS


def plan_ceilings(scen: Scenario, start_year: float, end_time: float) -> CeilingPlan | None:
    """The ceilings of a run from ``start_year`` to ``end_time`` (None when off).

    Raises
    ------
    InputError
        The table cannot be read or lacks a constraint a ceiling needs.
    """
    spec = scen.ceilings
    if spec.mode == "off":
        return None
    table = load_constraints(None if spec.table == "bundled" else spec.table)
    missing = [n for n in PARAMETERS if n not in table.names()]
    if missing:
        raise InputError(
            f"{table.label}: ceilings need level rows for {', '.join(missing)} "
            f"(key 'ceilings.mode' = {spec.mode!r} in {scen.source})"
        )
    first = math.floor(start_year)
    last = max(math.ceil(end_time), first + 1)
    years = np.arange(first, last + 1, dtype=np.float64)
    low: list[np.ndarray] = []
    central: list[np.ndarray] = []
    high: list[np.ndarray] = []
    bounds = []
    for name in PARAMETERS:
        shift = math.log10(getattr(spec, name))
        triple = [np.log10(v) + shift for v in table.at(name, years)]
        bound = _bounds(table, name, shift)
        for arr, out in zip(triple, (low, central, high), strict=True):
            out.append(np.minimum(arr, 0.0) if CONSTRAINTS[name].fraction else arr)
        bounds.append(bound)
    modelled = np.array(
        [max(table.levels(n)[0].year for n in USES[c]) for c in CEILINGS], dtype=np.float64
    )
    return CeilingPlan(
        mode=spec.mode,
        code=CEILING_CODES[spec.mode],
        knot0=float(first),
        knot_years=years,
        low=np.array(low),
        central=np.array(central),
        high=np.array(high),
        bounds=np.array(bounds),
        modelled_from=modelled,
        correlation=spec.correlation,
        softness=spec.softness,
        table_label=table.label,
        table_sha256=table.sha256,
    )


def _bounds(table: Constraints, name: str, shift: float) -> tuple[float, float]:
    """log10 limits of a draw: a held constraint stays in the table's range, a fraction
    at or below 1; a growing one is unbounded."""
    hi = 0.0 if CONSTRAINTS[name].fraction else math.inf
    if table.growth(name) is not None:
        return (-math.inf, hi)
    rows = table.levels(name)
    lo = math.log10(min(r.low for r in rows)) + shift
    return (lo, min(hi, math.log10(max(r.high for r in rows)) + shift))


def draw_knots(cp: CeilingPlan, seed: int, first: int, stop: int) -> npt.NDArray[np.float64]:
    """The log10 ceilings [FLOP] of paths ``[first, stop)`` at the knots:
    (path, ceiling, knot), NaN where a ceiling is not modelled yet."""
    n_param = len(PARAMETERS)
    z = ceiling_normals(seed, first, stop, n_param + 1)
    rho = cp.correlation
    z = math.sqrt(rho) * z[:, :1] + math.sqrt(1.0 - rho) * z[:, 1:]
    out = np.zeros((stop - first, len(CEILINGS), cp.knot_years.shape[0]))
    for p, name in enumerate(PARAMETERS):
        zp = z[:, p : p + 1] / Z95
        c = cp.central[p]
        value = np.where(zp >= 0, c + zp * (cp.high[p] - c), c + zp * (c - cp.low[p]))
        np.clip(value, cp.bounds[p, 0], cp.bounds[p, 1], out=value)
        for k, ceiling in enumerate(CEILINGS):
            uses = USES[ceiling]
            if name in uses:
                out[:, k] += value * (2.0 if ceiling == "data" else 1.0)
    for k, ceiling in enumerate(CEILINGS):
        out[:, k] += _CONSTANT[ceiling]
        out[:, k, cp.knot_years < cp.modelled_from[k]] = np.nan
    return out


def at_years(
    cp: CeilingPlan, knots: npt.NDArray[np.float64], years: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``knots`` (path, ceiling, knot) at ``years``, linear in log10 as the kernels do."""
    x = np.asarray(years, dtype=np.float64) - cp.knot0
    m = np.clip(np.floor(x).astype(np.int64), 0, knots.shape[2] - 2)
    f = x - m
    return knots[:, :, m] * (1.0 - f) + knots[:, :, m + 1] * f
