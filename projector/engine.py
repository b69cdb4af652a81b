"""The Monte Carlo projection: draw inputs, run the kernels, chunk over paths.

Dependency direction: ``scenario`` and ``data`` -> ``engine`` -> ``kernels``;
``results`` turns a :class:`Projection` into a Dataset. No I/O here.

Reproducibility: random numbers come from one ``numpy.random.Generator`` per block of
:data:`RNG_BLOCK` paths, seeded by ``SeedSequence(seed, spawn_key=(block,))`` (what
``SeedSequence(seed).spawn`` would give), and each block always draws its full
quota in a fixed order. Path j therefore depends only on the seed and j: not on the
chunk size, the thread count or the total number of paths.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from projector import kernels
from projector.data import Systems
from projector.errors import InputError
from projector.scenario import Scenario

__all__ = [
    "RNG_BLOCK",
    "Eras",
    "Projection",
    "block_generator",
    "moore_rate",
    "prepare_eras",
    "run",
    "start_date_label",
    "time_grid",
]

RNG_BLOCK = 1000  # paths per random stream; fixed, so results never depend on chunking
MIN_ERA_SYSTEMS = 3


@dataclasses.dataclass(frozen=True)
class Eras:
    """The data a projection is fitted on, after cut-off and one-per-paper."""

    systems: Systems  # all kept systems (both eras)
    pre_dl: Systems
    dl: Systems
    start_year: float  # s [decimal year]
    log10_start: float  # log10 C(s) [FLOP]
    start_source: str  # how C(s) was chosen, for provenance
    frontier_system: str  # the system that set C(s) when 'frontier', else ""


@dataclasses.dataclass(frozen=True)
class Projection:
    """Arrays of one projection run; dims (path,), (path, time), (path, anchor)."""

    times: npt.NDArray[np.float64]
    log10_compute: npt.NDArray[np.float64]
    growth_dl: npt.NDArray[np.float64]
    growth_pre_dl: npt.NDArray[np.float64]
    growth_moore: npt.NDArray[np.float64]
    reversion_year: npt.NDArray[np.float64]
    reversion_component: npt.NDArray[np.int64]
    crossing_year: npt.NDArray[np.float64]
    growth_ref: float  # the reference (Moore) rate g_ref [OOM/year]
    clipped: int  # how many rate draws were clipped (nonpositive='clip')
    eras: Eras


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


def prepare_eras(scen: Scenario, systems: Systems) -> Eras:
    """Cut off, keep one row per paper, split into eras and choose C(s).

    Raises
    ------
    InputError
        When an era has fewer than three systems, or the start compute cannot be set.
    """
    spec = scen.data
    kept = systems.until(spec.cutoff).one_per_paper()
    kept = kept.between(spec.pre_dl_start, None)
    pre = kept.between(spec.pre_dl_start, spec.dl_start)
    dl = kept.between(spec.dl_start, None)
    for label, era, first, end in (
        ("pre-Deep-Learning", pre, spec.pre_dl_start, spec.dl_start),
        ("Deep-Learning", dl, spec.dl_start, spec.cutoff),
    ):
        if len(era) < MIN_ERA_SYSTEMS or np.ptp(era.year) == 0:
            span = f"[{first}, {end or 'end'}{']' if end and end is spec.cutoff else ')'}"
            raise InputError(
                f"{systems.label}: only {len(era)} usable system(s) in the {label} era {span}; "
                f"need at least {MIN_ERA_SYSTEMS} with distinct dates (check data.cutoff, "
                "data.dl_start and data.pre_dl_start in the scenario)"
            )
    start_year = scen.start_year
    if start_year is None:
        start_year = float(kept.year.max())
    where = scen.source
    if scen.start_compute == "frontier":
        before = kept.year <= start_year + 1e-12
        if not before.any():
            raise InputError(
                f"{where}: start.compute = 'frontier' but no system is dated before "
                f"the start year {start_year:g}"
            )
        i = int(np.argmax(np.where(before, kept.log10_compute, -np.inf)))
        log10_start = float(kept.log10_compute[i])
        source, frontier = f"frontier: {kept.name[i]} ({kept.date[i]})", str(kept.name[i])
    elif scen.start_compute == "trend":
        slope, intercept = kernels.ols_fit(dl.year, dl.log10_compute)
        log10_start = float(slope * start_year + intercept)
        source, frontier = "trend: Deep-Learning-era OLS line at the start year", ""
    else:
        log10_start = float(scen.start_compute)
        source, frontier = "explicit", ""
    return Eras(kept, pre, dl, float(start_year), log10_start, source, frontier)


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The random stream of path block ``block`` (paths ``block*RNG_BLOCK`` onwards)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


@dataclasses.dataclass(frozen=True)
class _Draws:
    idx_dl: npt.NDArray[np.int64]
    idx_pre: npt.NDArray[np.int64]
    u_pick: npt.NDArray[np.float64]
    z: npt.NDArray[np.float64]
    u: npt.NDArray[np.float64]


def _draw_block(seed: int, block: int, n_dl: int, n_pre: int) -> _Draws:
    rng = block_generator(seed, block)
    # Fixed order and full block size: a path's draws never depend on how many are used.
    return _Draws(
        idx_dl=rng.integers(0, n_dl, size=(RNG_BLOCK, n_dl)),
        idx_pre=rng.integers(0, n_pre, size=(RNG_BLOCK, n_pre)),
        u_pick=rng.random(RNG_BLOCK),
        z=rng.standard_normal(RNG_BLOCK),
        u=rng.random(RNG_BLOCK),
    )


def _draws(seed: int, first: int, stop: int, n_dl: int, n_pre: int) -> _Draws:
    blocks = range(first // RNG_BLOCK, (stop - 1) // RNG_BLOCK + 1)
    parts = [_draw_block(seed, b, n_dl, n_pre) for b in blocks]
    lo = first - blocks[0] * RNG_BLOCK
    sl = slice(lo, lo + stop - first)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])[sl]

    return _Draws(cat("idx_dl"), cat("idx_pre"), cat("u_pick"), cat("z"), cat("u"))


def run(
    scen: Scenario,
    systems: Systems,
    *,
    chunk_paths: int = 2 * RNG_BLOCK,
    progress: Callable[[int], None] | None = None,
) -> Projection:
    """Run the projection of ``scen`` on ``systems``.

    Parameters
    ----------
    scen
        A validated scenario (``paths``, ``seed``, grid, mixture, anchors).
    systems
        The full dataset; the scenario's cut-off and eras are applied here.
    chunk_paths
        Paths computed per kernel call (memory bound only; results do not depend on it).
    progress
        Called with the number of paths finished after each chunk.

    Returns
    -------
    Projection
        ``log10_compute`` (path, time) [log10 FLOP], per-path rates [OOM/year],
        reversion draws and first-crossing years (path, anchor) [decimal year, NaN = never].
    """
    if chunk_paths < 1:
        raise InputError(f"chunk_paths must be >= 1, got {chunk_paths}")
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
    g_ref = moore_rate(scen.moore_doubling_months, scen.moore_units)
    n = scen.paths
    comps = scen.reversion
    cum = np.cumsum([c.weight for c in comps])
    cum[-1] = 1.0
    family = np.array([kernels.FAMILY_CODES[c.distribution] for c in comps], dtype=np.int64)
    params = np.zeros((len(comps), 3))
    for k, c in enumerate(comps):
        params[k, : len(c.params)] = [v for _, v in c.params]
    shape = kernels.SHAPE_CODES[scen.weight_shape]
    thresholds = np.array([a.log10_flop for a in scen.anchors], dtype=np.float64)

    out = Projection(
        times=times,
        log10_compute=np.empty((n, len(times))),
        growth_dl=np.empty(n),
        growth_pre_dl=np.empty(n),
        growth_moore=np.empty(n),
        reversion_year=np.empty(n),
        reversion_component=np.empty(n, dtype=np.int64),
        crossing_year=np.empty((n, len(thresholds))),
        growth_ref=g_ref,
        clipped=0,
        eras=eras,
    )
    t_dl, y_dl = eras.dl.year, eras.dl.log10_compute
    t_pre, y_pre = eras.pre_dl.year, eras.pre_dl.log10_compute
    clipped = 0
    for first in range(0, n, chunk_paths):
        stop = min(first + chunk_paths, n)
        sl = slice(first, stop)
        d = _draws(scen.seed, first, stop, len(t_dl), len(t_pre))
        no_noise = np.empty((0, 0))
        kernels.bootstrap_slopes(t_dl, y_dl, d.idx_dl, no_noise, out.growth_dl[sl])
        kernels.bootstrap_slopes(t_pre, y_pre, d.idx_pre, no_noise, out.growth_pre_dl[sl])
        clipped += _check_rates(scen, systems.label, out, sl, first)
        np.sqrt(out.growth_pre_dl[sl] * g_ref, out=out.growth_moore[sl])
        kernels.mixture_draws(
            d.u_pick,
            d.z,
            d.u,
            cum,
            family,
            params,
            s,
            out.reversion_year[sl],
            out.reversion_component[sl],
        )
        kernels.integrate_paths(
            times,
            s,
            eras.log10_start,
            out.growth_dl[sl],
            out.growth_moore[sl],
            out.reversion_year[sl],
            shape,
            out.log10_compute[sl],
        )
        kernels.first_crossing(times, out.log10_compute[sl], thresholds, out.crossing_year[sl])
        if progress is not None:
            progress(stop - first)
    return dataclasses.replace(out, clipped=clipped)


def _check_rates(scen: Scenario, label: str, out: Projection, sl: slice, first: int) -> int:
    """Non-positive bootstrap rates: an error, or a documented clip (method.md 5)."""
    clipped = 0
    for name, arr in (("Deep-Learning", out.growth_dl[sl]), ("pre-DL", out.growth_pre_dl[sl])):
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
    year = math.floor(start_year)
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    return (dt.date(year, 1, 1) + dt.timedelta(days=round((start_year - year) * days))).isoformat()
