"""The Monte Carlo projection: a pure plan, then any range of paths from it.

Dependency direction: ``inputs`` -> ``engine`` -> ``kernels``; ``cube`` turns chunks into
a Dataset and :class:`projector.pipeline.run.Run` drives everything. No I/O here.

:func:`plan` does everything but the random draws (eras, grid, mixture, options);
:func:`run_chunk` computes paths ``[first, stop)`` from a plan and is what every
executor maps (serially, across threads or on Dask workers: ``pipeline.executors``).

Reproducibility: random numbers come from one ``numpy.random.Generator`` per block of
:data:`RNG_BLOCK` paths, seeded by ``SeedSequence(seed, spawn_key=(block,))`` (what
``SeedSequence(seed).spawn`` would give), and each block always draws its full
quota in a fixed order. Path j therefore depends only on the seed and j: not on the
chunk size, the thread count or the total number of paths.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from projector.dates import iso_date
from projector.errors import InputError
from projector.inputs.frontier import frontier_at, record_setters
from projector.inputs.reversion import calendar_params
from projector.inputs.scenario import Scenario
from projector.inputs.systems import Systems
from projector.model import memo, record_process
from projector.model.codes import SHAPE_CODES
from projector.model.draws import RNG_BLOCK, Draws, block_generator, draws
from projector.model.eras import MIN_ERA_SYSTEMS, Eras, prepare_eras
from projector.model.limits import CEILINGS, CeilingPlan, draw_knots, plan_ceilings
from projector.model.lines import ols_fit

__all__ = [
    "CEILING_ARRAYS",
    "PATH_ARRAYS",
    "RNG_BLOCK",
    "Chunk",
    "Eras",
    "Plan",
    "Reduce",
    "block_generator",
    "chunk_bounds",
    "moore_rate",
    "plan",
    "prepare_eras",
    "reversion_mass_before_start",
    "run_chunk",
    "start_date_label",
    "time_grid",
]


#: Per-path arrays of a chunk and of a projection (path first; log10_compute adds time).
PATH_ARRAYS = (
    "log10_compute",
    "growth_dl",
    "growth_pre_dl",
    "growth_moore",
    "reversion_year",
    "reversion_component",
    "crossing_year",
    "start_offset",
    "frontier_origin",
)
#: Per-path arrays of a run with ceilings (``ceilings.mode`` not 'off'; None otherwise).
CEILING_ARRAYS = ("ceiling_knots", "ceiling_reached")


@dataclasses.dataclass(frozen=True)
class Chunk:
    """The arrays of paths ``[first, stop)``, as :func:`run_chunk` returns them."""

    first: int
    stop: int
    log10_compute: npt.NDArray[np.floating]  # (n, time) [log10 FLOP]
    growth_dl: npt.NDArray[np.float64]  # (n,) [OOM/year]
    growth_pre_dl: npt.NDArray[np.float64]
    growth_moore: npt.NDArray[np.float64]
    reversion_year: npt.NDArray[np.float64]  # (n,) [decimal year]
    reversion_component: npt.NDArray[np.int64]
    crossing_year: npt.NDArray[np.float64]  # (n, anchor) [decimal year], NaN = never
    start_offset: npt.NDArray[np.float64]  # (n,) [OOM]
    frontier_origin: npt.NDArray[np.float64]  # (n,) [decimal year], NaN = none
    clipped: int
    # With a Reduce: the paths at its years, (n, year) float32 [log10 FLOP]; then
    # log10_compute holds only the kept paths' rows, as float32.
    log10_compute_yearly: npt.NDArray[np.float32] | None = None
    # With ceilings: (n, ceiling, knot) log10 FLOP at the plan's whole-year knots, and
    # (n, ceiling) the first grid time the path before its ceilings reached each.
    ceiling_knots: npt.NDArray[np.float64] | None = None
    ceiling_reached: npt.NDArray[np.float64] | None = None


@dataclasses.dataclass(frozen=True)
class Reduce:
    """What a store keeps of each path, computed path by path (no (path, time) array):
    the values at the years (grid interval ``[i - 1, i]`` and fraction), and the whole
    path only for paths ``[0, keep)`` of the run."""

    year_index: npt.NDArray[np.int64]
    year_frac: npt.NDArray[np.float64]
    keep: int


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything a run needs besides the random draws; pure data, cheap to ship.

    Built once by :func:`plan`; :func:`run_chunk` computes any range of paths from it,
    so serial, threaded and distributed runs give the same bits.
    """

    scenario: Scenario
    label: str  # the dataset's label, for messages
    eras: Eras
    times: npt.NDArray[np.float64]  # (time,) [decimal year], times[0] = s
    growth_ref: float
    t_dl: npt.NDArray[np.float64]  # the systems the Deep-Learning rate is fitted on
    y_dl: npt.NDArray[np.float64]
    t_pre: npt.NDArray[np.float64]
    y_pre: npt.NDArray[np.float64]
    cum_weights: npt.NDArray[np.float64]  # (k,) after conditioning (truncate policy)
    family: npt.NDArray[np.int64]  # (k,)
    params: npt.NDArray[np.float64]  # (k, 3) in calendar years (relative ones shifted)
    below_start: npt.NDArray[np.float64]  # (k,) P_k(R <= s); used by 'truncate'
    all_before_start: bool  # 'truncate' with no mass after s: every path reverts at s
    shape: int
    width: float
    thresholds: npt.NDArray[np.float64]  # (anchor,) [log10 FLOP]
    start_log10_sd: float  # [OOM]
    deviation: npt.NDArray[np.float64]  # (origin, time) [OOM]; no rows when off
    deviation_origin: npt.NDArray[np.float64]  # (origin,) [decimal year]
    ceilings: CeilingPlan | None = None  # None: ceilings.mode = 'off'
    record: record_process.RecordFit | None = None  # frontier_paths = 'record-process'
    long_run: float | None = None  # growth.long_run_doubling_months as OOM/year; None: derived

    @property
    def paths(self) -> int:
        return self.scenario.paths


def time_grid(start_year: float, end_year: float, steps_per_year: int) -> npt.NDArray[np.float64]:
    """``start + k / steps_per_year`` for k = 0, 1, ... until the grid reaches ``end_year``.

    The last time is the first step at or after ``end_year`` (less than one step past
    it when the start is not on the step grid of the end, e.g. a start at the newest
    data's date), so every report year up to ``end_year`` lies inside the grid. Built
    from integer k so that a longer horizon leaves earlier steps bit-identical.
    """
    n = math.ceil((end_year - start_year) * steps_per_year - 1e-9)
    return start_year + np.arange(n + 1, dtype=np.float64) / steps_per_year


def moore_rate(doubling_months: float, units: str) -> float:
    """Reference long-run rate g_ref [OOM/year, or ln-units for the notebook reading].

    ``consistent``: ``log10(2) * 12 / months`` (0.181 for 20 months);
    ``published-notebook``: ``ln(2) * 12 / months`` (0.416), see method.md section 3.
    """
    factor = math.log10(2.0) if units == "consistent" else math.log(2.0)
    return factor * 12.0 / doubling_months


def long_run_rate(scen: Scenario) -> float | None:
    """``growth.long_run_doubling_months`` as a rate [OOM/year]: ``log10(2) * 12 / months``
    in every units reading (it is the rate paths revert to, which is in OOM/year); None
    when the scenario derives the long-run rate, ``sqrt(growth_pre_dl * growth_ref)``."""
    months = scen.long_run_doubling_months
    return None if months is None else math.log10(2.0) * 12.0 / months


def reversion_mass_before_start(scen: Scenario, start_year: float) -> list[tuple[str, float]]:
    """Each reversion component's probability of a date at or before the start."""
    return [
        (comp.name, comp.family.below(params, start_year))
        for comp, params in zip(scen.reversion, _component_params(scen, start_year), strict=True)
    ]


def _component_params(scen: Scenario, s: float) -> npt.NDArray[np.float64]:
    """(k, 3) parameters in calendar years, as ``kernels.mixture_draws`` takes them."""
    return np.array(
        [calendar_params(c.distribution, c.relative_to, [v for _, v in c.params], s)
         for c in scen.reversion]
    ).reshape(len(scen.reversion), 3)  # fmt: skip


def _frontier_deviations(
    eras: Eras, times: npt.NDArray[np.float64], spec: Scenario
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The frontier's own deviations from its trend, one row per past origin.

    For origins tau = s - m * step (m = 1, 2, ... while tau >= data.dl_start) and lags
    h = i * step, ``E[m, i] = F(tau + h') - F(tau) - g_F * h'`` with ``h' = min(h, s - tau)``
    (frozen once the origin's history runs out), F the realised frontier (running
    maximum) and g_F its OLS slope over the same span; each column is then centred
    on its mean over origins, so a path's expected compute is the smooth path's.
    A path adds the row of a uniformly drawn origin: the stall-and-jump shape of the
    record series, resampled (a block bootstrap of its whole trajectory).
    """
    n_time = times.shape[0]
    step = 1.0 / spec.steps_per_year
    s = eras.start_year
    dl0 = float(eras.dl.year.min()) if len(eras.dl) else s
    if spec.frontier_noise_years > 0:
        dl0 = max(dl0, s - spec.frontier_noise_years)
    n_origin = math.floor((s - dl0) / step + 1e-9)
    if n_origin < 2:
        raise InputError(
            f"{spec.source}: growth.frontier_noise = 'resampled' needs at least two time "
            f"steps of Deep-Learning-era history before the start {s:.2f}"
        )
    grid = s - np.arange(n_origin, -1, -1, dtype=np.float64) * step  # oldest first, ends at s
    f = frontier_at(eras.systems, grid)
    g_f = ols_fit(grid, f)[0]
    m = np.arange(1, n_origin + 1)  # origin index from the start backwards
    origin_pos = n_origin - m  # position of tau in grid
    # Every origin's history has run out after n_origin steps, so the columns from there
    # on are all equal: keep n_origin + 1 of them (shift_paths repeats the last one).
    n_col = min(n_time, n_origin + 1)
    lag = np.minimum(np.arange(n_col)[None, :], m[:, None])  # steps, frozen at m
    dev = f[origin_pos[:, None] + lag] - f[origin_pos][:, None] - g_f * lag * step
    dev -= dev.mean(axis=0, keepdims=True)
    dev *= spec.frontier_noise_scale
    return np.ascontiguousarray(dev), grid[origin_pos]


def plan(scen: Scenario, systems: Systems, /) -> Plan:
    """Everything about a run but its random draws: data, eras, grid and mixture.

    Raises
    ------
    InputError
        Thin eras, a start compute that cannot be set, years outside the projection,
        a truncated mixture with nothing left, or too little history for the options.
    """
    eras = prepare_eras(scen, systems)
    s = eras.start_year
    if scen.end_year <= s:
        raise InputError(
            f"{scen.source}: key 'end_year' ({scen.end_year:g}) must be after the start year {s:g}"
        )
    bad_years = [y for y in scen.report_years if y < s]
    if bad_years:
        raise InputError(
            f"{scen.source}: key 'report.years' has {bad_years[0]:g}, before the start year {s:.2f}"
        )
    times = time_grid(s, scen.end_year, scen.steps_per_year)
    comps = scen.reversion
    params = _component_params(scen, s)
    below = np.array([c.family.below(params[k], s) for k, c in enumerate(comps)])
    weight = np.array([c.weight for c in comps])
    all_before = False
    if scen.reversion_before_start == "truncate":
        kept = weight * (1.0 - below)
        if not kept.sum() > 0:
            # Conditioning on R > s is undefined with no mass there; reverting every path
            # at s instead would silently replace the user's stories by another one.
            names = ", ".join(c.name for c in comps)
            raise InputError(
                f"{scen.source}: [[reversion]] ({names}) puts all its mass at or before "
                f"the start {s:.2f}, so growth.reversion_before_start = 'truncate' leaves "
                "nothing to condition on; move the dates after the start or choose "
                "'mirror' or 'immediate'"
            )
        weight = kept / kept.sum()
    cum = np.cumsum(weight)
    cum[-1] = 1.0
    dl = eras.dl
    if scen.fit == "frontier":
        in_dl = eras.systems.date >= np.datetime64(scen.data.dl_start, "D")
        dl = eras.systems.take(record_setters(eras.systems) & in_dl)
        if len(dl) < MIN_ERA_SYSTEMS or np.ptp(dl.year) == 0:
            raise InputError(
                f"{systems.label}: growth.fit = 'frontier' leaves {len(dl)} record-setting "
                f"Deep-Learning-era system(s); need at least {MIN_ERA_SYSTEMS}"
            )
    sd = _start_sd(scen, eras)
    record = None
    if scen.frontier_paths == "record-process":  # the record process replaces the deviations
        # the fit reads these and nothing else of the scenario (kept by the warm path)
        seen = memo.digest(eras.systems.year, eras.systems.log10_compute, dl.year, dl.log10_compute)
        key = ("record_fit", eras.start_year, seen, scen.data.dl_start, scen.record_slope)
        record = memo.cached(
            key, 0, lambda: record_process.fit(scen, eras, dl.year, dl.log10_compute)
        )
    if scen.frontier_noise == "resampled" and record is None:
        deviation, origin = _frontier_deviations(eras, times, scen)
    else:
        deviation, origin = np.empty((0, times.shape[0])), np.empty(0)
    return Plan(
        scenario=scen,
        label=systems.label,
        eras=eras,
        times=times,
        growth_ref=moore_rate(scen.moore_doubling_months, scen.moore_units),
        t_dl=dl.year,
        y_dl=dl.log10_compute,
        t_pre=eras.pre_dl.year,
        y_pre=eras.pre_dl.log10_compute,
        cum_weights=cum,
        family=np.array([c.family.code for c in comps], dtype=np.int64),
        params=params,
        below_start=below,
        all_before_start=all_before,
        shape=SHAPE_CODES[scen.weight_shape],
        width=scen.logistic_width_years,
        thresholds=np.array([a.log10_flop for a in scen.anchors], dtype=np.float64),
        start_log10_sd=sd,
        deviation=deviation,
        deviation_origin=origin,
        ceilings=plan_ceilings(scen, s, float(times[-1])),
        record=record,
        long_run=long_run_rate(scen),
    )


def _start_sd(scen: Scenario, eras: Eras) -> float:
    """sd of the error on log10 C(s) [OOM]: the scenario's, or the start row's ('data')."""
    if scen.start_log10_sd != "data":
        return float(scen.start_log10_sd)
    column = getattr(eras.systems, "log10_uncertainty_sd", None)
    if column is None or not eras.frontier_system:
        return 0.0
    hit = np.flatnonzero(eras.systems.name == eras.frontier_system)
    value = float(column[hit[0]]) if hit.size else math.nan
    return value if math.isfinite(value) else 0.0


def _truncate(p: Plan, d: Draws) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The normal and uniform draws mapped into each chosen component's part after s.

    Inverse-CDF truncation keeps one draw per path (no rejection loop): a normal
    component's ``z`` becomes ``-ndtri(ndtr(-z) * P(R > s))`` in standard units above
    ``(s - mean) / sd``; a uniform or triangular component's ``u`` becomes
    ``P(R <= s) + u * P(R > s)``.
    """
    k = np.minimum(np.searchsorted(p.cum_weights, d.u_pick, side="right"), len(p.family) - 1)
    below = p.below_start[k]
    from scipy import special

    z = np.where(below > 0, -special.ndtri(special.ndtr(-d.z) * (1.0 - below)), d.z)
    u = np.where(below > 0, below + d.u * (1.0 - below), d.u)
    return z, u


def run_chunk(p: Plan, first: int, stop: int, /, reduce: Reduce | None = None) -> Chunk:
    """Paths ``[first, stop)`` of the plan's run; a pure function of its arguments.

    Path j depends only on the seed and j (method: module docstring), so any split of
    the paths into chunks, run in any order on any worker, gives the same bits. With
    ``reduce``, only what a store keeps is made (the same bits, less memory and time).
    """
    if not 0 <= first < stop <= p.paths:
        raise InputError(f"run_chunk: need 0 <= first < stop <= {p.paths}, got {first}, {stop}")
    from projector.model import ceiling_kernels, kernels  # numba: loaded by a run, not a plan

    scen = p.scenario
    n = stop - first
    noise_on = scen.estimate_noise_factor > 1.0
    sizes = (scen.seed, first, stop, len(p.t_dl), len(p.t_pre), noise_on)
    d = memo.cached(("draws", *sizes), n, lambda: draws(*sizes))

    def slopes() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        growth_dl, growth_pre = np.empty(n), np.empty(n)
        half = math.log10(scen.estimate_noise_factor)
        noise_dl = (2.0 * d.noise_dl - 1.0) * half if noise_on else d.noise_dl
        noise_pre = (2.0 * d.noise_pre - 1.0) * half if noise_on else d.noise_pre
        kernels.bootstrap_slopes(p.t_dl, p.y_dl, d.idx_dl, noise_dl, growth_dl)
        kernels.bootstrap_slopes(p.t_pre, p.y_pre, d.idx_pre, noise_pre, growth_pre)
        return growth_dl, growth_pre

    # the warm path (model.memo) keeps the rates: a function of the draws and the systems
    fitted = memo.digest(p.t_dl, p.y_dl, p.t_pre, p.y_pre)
    key = ("slopes", *sizes, scen.estimate_noise_factor, fitted)
    growth_dl, growth_pre = (a.copy() for a in memo.cached(key, n, slopes))  # clipped below
    clipped = _check_rates(scen, p.label, growth_dl, growth_pre, first)
    if p.long_run is None:
        growth_moore = np.sqrt(growth_pre * p.growth_ref)
    else:  # growth.long_run_doubling_months: the long-run rate itself, the same on every path
        growth_moore = np.full(n, p.long_run)
    z, u = (d.z, d.u) if scen.reversion_before_start != "truncate" else _truncate(p, d)
    reversion, component = np.empty(n), np.empty(n, dtype=np.int64)
    s = p.eras.start_year
    kernels.mixture_draws(
        d.u_pick, z, u, p.cum_weights, p.family, p.params, s, reversion, component
    )
    if p.all_before_start or scen.reversion_before_start == "immediate":
        np.maximum(reversion, s, out=reversion)  # w = 0 from the start
    offset = p.start_log10_sd * d.z_start if p.start_log10_sd > 0 else np.zeros(n)
    n_origin = p.deviation.shape[0]
    if n_origin:
        row = np.minimum((d.u_origin * n_origin).astype(np.int64), n_origin - 1)
        origin = p.deviation_origin[row]
    else:
        row, origin = np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    shift = bool(n_origin or p.start_log10_sd > 0)
    cp = p.ceilings
    knots, reached = np.empty((0, 0, 2)), np.empty((n, 0))
    if cp is not None:
        knots, reached = draw_knots(cp, scen.seed, first, stop), np.empty((n, len(CEILINGS)))
        if cp.mode == "saturate":
            reversion = np.full(n, np.inf)  # the ceiling slows the path, not the 2022 story
    mode = cp.code if cp is not None else 0
    knot0, soft = (cp.knot0, cp.softness) if cp is not None else (0.0, 1.0)
    if p.record is not None:  # issue 19: the frontier as the running maximum of releases
        paths_r, yearly_r, crossing_r = record_process.project(
            p, first, stop, growth_dl, growth_moore, reversion, offset, reduce,
            (mode, knot0, knots, soft, reached),
        )  # fmt: skip
        return Chunk(first, stop, paths_r, growth_dl, growth_pre, growth_moore,
                     _slowed(cp, reached, reversion), component, crossing_r, offset, origin,
                     clipped, yearly_r, knots if cp is not None else None,
                     reached if cp is not None else None)  # fmt: skip
    # a record process: the frontier never falls, nor drops below the record C(s) itself
    records = scen.frontier_paths == "records"
    crossing = np.empty((n, p.thresholds.shape[0]))
    yearly = None
    paths: npt.NDArray[np.floating]
    if reduce is not None and p.times.shape[0] > 1:
        paths = np.empty((max(0, min(reduce.keep, stop) - first), p.times.shape[0]), np.float32)
        yearly = np.empty((n, reduce.year_index.shape[0]), np.float32)
        kernels.project_paths(
            p.times, s, p.eras.log10_start, growth_dl, growth_moore, reversion, p.shape,
            p.width, shift, offset, p.deviation, row, p.thresholds, reduce.year_index,
            reduce.year_frac, records, p.eras.log10_start, mode, knot0, knots, soft, yearly,
            crossing, paths, reached,
        )  # fmt: skip
    else:
        paths = np.empty((n, p.times.shape[0]))
        kernels.integrate_paths(
            p.times, s, p.eras.log10_start, growth_dl, growth_moore, reversion, p.shape,
            p.width, paths,
        )  # fmt: skip
        if shift:
            kernels.shift_paths(paths, offset, p.deviation, row, paths)
        if mode:
            ceiling_kernels.apply_ceilings(p.times, paths, mode, knot0, knots, soft, paths, reached)
        if records:
            kernels.running_max(paths, p.eras.log10_start, paths)
        kernels.first_crossing(p.times, paths, p.thresholds, crossing)
    reversion = _slowed(cp, reached, reversion)
    return Chunk(
        first=first,
        stop=stop,
        log10_compute=paths,
        growth_dl=growth_dl,
        growth_pre_dl=growth_pre,
        growth_moore=growth_moore,
        reversion_year=reversion,
        reversion_component=component,
        crossing_year=crossing,
        start_offset=offset,
        frontier_origin=origin,
        clipped=clipped,
        log10_compute_yearly=yearly,
        ceiling_knots=knots if cp is not None else None,
        ceiling_reached=reached if cp is not None else None,
    )


def _slowed(
    cp: CeilingPlan | None, reached: npt.NDArray[np.float64], reversion: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The reversion dates a chunk reports: under 'saturate', where growth slows, the first
    time the path at its Deep-Learning rate meets a ceiling (NaN: never); else as drawn."""
    if cp is None or cp.mode != "saturate":
        return reversion
    met = np.where(np.isnan(reached), np.inf, reached).min(axis=1)
    return np.where(np.isinf(met), np.nan, met)


def chunk_bounds(paths: int, chunk_paths: int) -> list[tuple[int, int]]:
    """``[first, stop)`` of each chunk; chunks start on RNG block boundaries when
    ``chunk_paths`` is a multiple of :data:`RNG_BLOCK` (no block is drawn twice)."""
    return [(a, min(a + chunk_paths, paths)) for a in range(0, paths, chunk_paths)]


def _check_rates(
    scen: Scenario,
    label: str,
    growth_dl: npt.NDArray[np.float64],
    growth_pre: npt.NDArray[np.float64],
    first: int,
) -> int:
    """Non-positive bootstrap rates: an error, or a documented clip (method.md 5)."""
    clipped = 0
    for name, arr in (("Deep-Learning", growth_dl), ("pre-DL", growth_pre)):
        bad = ~(arr > 0)
        if not bad.any():
            continue
        if scen.nonpositive == "error":
            j = first + int(np.argmax(bad))
            raise InputError(
                f"{label}: the bootstrap {name} growth rate of path {j} is {arr[bad][0]:.3g} "
                f"OOM/year (<= 0), so g(t) is undefined; set growth.nonpositive = 'clip' in "
                f"{scen.source} to raise such draws to growth.clip_floor, or use more data"
            )
        clipped += int(bad.sum())
        arr[bad] = scen.clip_floor
    return clipped


def start_date_label(start_year: float) -> str:
    """A decimal year as an ISO date (for messages and summaries)."""
    return iso_date(start_year)
