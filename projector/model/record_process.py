"""The frontier as the record process it is: the running maximum of released systems.

Dependency direction: ``inputs`` and ``kernels`` -> ``record_process`` -> ``engine``
(``growth.frontier_paths = 'record-process'``; issue 19). No I/O here.

The model. Systems are released as a Poisson process whose upper tail is exponential
about a latent level ``L(t)``: releases with log10 compute above ``u`` arrive at the rate
``exp((L(t) - u) / beta)`` per year, at every level ``u`` near the frontier (a
peaks-over-threshold tail; ``beta`` [OOM] is its scale). From the start ``L`` moves with
the engine's growth rate, ``L(t) = L(s) + integral of g`` (bootstrap Deep-Learning rate
blended to the long-run rate at the reversion date), so the long run is the 2022 method's. The
frontier is the running maximum, ``F(t) = max(C(s), releases in (s, t])``: it never falls
and never drops below the record already set. Then:

- the largest release of a grid step ``[t0, t1]`` is Gumbel with scale ``beta`` and
  location ``beta * ln(integral of exp(L / beta) over the step)``, exactly (the rates of a
  Poisson process add up), so one uniform per path and step gives an exact draw of the
  frontier on the grid;
- a step with no new record has probability ``exp(-rate x step)`` > 0, so a stall of a
  year or four has the probability the fitted process gives it;
- the new record's excess over the old one is exponential with mean ``beta``.

Fitting, at each start s from the data before it (no constant tuned on outcomes): the
likelihood of the record history from ``data.dl_start`` to s (the record times and sizes,
and the waits between them, the last one open) under a level moving at a constant slope
over the history. ``L(s)`` has a closed form given ``beta`` and the slope. With
``growth.record_slope = 'records'`` (the default) ``beta`` and the slope are fitted by
maximum likelihood, each path draws them from the fit's normal approximation (the
inverse Hessian) and takes the ``L(s)`` they imply: the past slope only places the level
at s, and the future moves at the engine's g(t). ``'records-forward'`` also projects at
the drawn slope; ``'bootstrap'`` holds the slope at the OLS slope of the Deep-Learning
fit set and fits ``beta`` alone.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector.dates import iso_date
from projector.errors import InputError
from projector.inputs.frontier import frontier_at, record_setters
from projector.inputs.systems import decimal_year
from projector.model import memo
from projector.model.lines import ols_fit

if TYPE_CHECKING:
    from projector.inputs.scenario import Scenario
    from projector.model.engine import Plan, Reduce
    from projector.model.eras import Eras

__all__ = [
    "MIN_HISTORY_YEARS",
    "MIN_RECORDS",
    "RecordFit",
    "fit",
    "path_parameters",
    "project",
]

#: The kernels, in their own module so that a fit never loads numba.
_KERNELS = ("_records_one", "project_record_paths", "record_paths")


def __getattr__(name: str) -> Any:
    if name in _KERNELS:
        from projector.model import record_kernels

        return getattr(record_kernels, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The record history a fit needs: this many years before the start ...
MIN_HISTORY_YEARS = 5.0
#: ... holding at least this many new records.
MIN_RECORDS = 3
# Bounds of the tail scale searched by the fit [OOM], and of the slope [OOM/year].
_SCALE_BOUNDS = (0.02, 5.0)
_MAX_SLOPE = 5.0


@dataclasses.dataclass(frozen=True)
class RecordFit:
    """What the record process was fitted to, and the fitted values."""

    scale_oom: float  # beta: mean excess of a new record over the old one [OOM]
    level_at_start: float  # L(s) [log10 FLOP]: releases above u at rate exp((L - u)/beta)
    slope: float  # the latent level's slope in the fit [OOM/year]
    slope_source: str  # growth.record_slope: 'records', 'records-forward' or 'bootstrap'
    cov: tuple[float, float, float]  # var ln beta, cov, var slope ('records'; else 0)
    history_start: float  # [decimal year] data.dl_start, or the first record after it
    history_level: float  # the frontier there [log10 FLOP]
    record_years: tuple[float, ...]  # the new records in (history_start, s]
    record_values: tuple[float, ...]  # [log10 FLOP]
    n_systems: int  # systems the history was read from (after cut-off)
    log_likelihood: float

    def attrs(self, start_year: float, log10_start: float) -> dict[str, Any]:
        """Provenance attributes (``record_process_*``) of a result."""
        gap = self.level_at_start - log10_start
        stall = math.exp(-math.exp(gap / self.scale_oom) * _mean_exp(self.slope / self.scale_oom))
        return {
            "record_process_scale_oom": self.scale_oom,
            "record_process_level_at_start": self.level_at_start,
            "record_process_slope": self.slope,
            "record_process_slope_source": self.slope_source,
            "record_process_sd_log_scale": math.sqrt(self.cov[0]),
            "record_process_sd_slope": math.sqrt(self.cov[2]),
            "record_process_records": len(self.record_years),
            "record_process_history": f"{iso_date(self.history_start)} to {iso_date(start_year)}",
            "record_process_history_level": self.history_level,
            "record_process_systems": self.n_systems,
            "record_process_log_likelihood": self.log_likelihood,
            "record_process_rate_at_start": math.exp(gap / self.scale_oom),
            "record_process_no_record_in_a_year": stall,
        }

    def levels(
        self, start_year: float, scale: np.ndarray, slope: np.ndarray
    ) -> npt.NDArray[np.float64]:
        """L(s) of each path's (scale, slope): the level's maximum-likelihood value [log10
        FLOP] given them (closed form, :func:`_log_exposure`)."""
        t = np.asarray(self.record_years)
        x = np.asarray(self.record_values)
        log_s = _log_exposure(scale[:, None], slope[:, None], self.history_start,
                              self.history_level, t, x, start_year)  # fmt: skip
        return scale * (math.log(t.size) - log_s)


def _mean_exp(x: float) -> float:
    """``(exp(x) - 1) / x``, 1 at 0."""
    return math.expm1(x) / x if abs(x) > 1e-12 else 1.0


def _history(
    eras: Eras, first: float
) -> tuple[float, float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(start, level there, record times, record values) of the frontier in (first, s]."""
    s = eras.start_year
    rec = record_setters(eras.systems)
    t, x = eras.systems.year[rec], eras.systems.log10_compute[rec]
    order = np.argsort(t, kind="stable")
    t, x = t[order], x[order]
    level = float(frontier_at(eras.systems, [first])[0])
    inside = (t > first + 1e-9) & (t <= s + 1e-9)
    t, x = t[inside], x[inside]
    if not math.isfinite(level) and t.size:  # nothing before: the first record starts it
        first, level, t, x = float(t[0]), float(x[0]), t[1:], x[1:]
    return first, level, t, x


def _log_exposure(
    scale: Any, slope: Any, first: float, level: float, t: np.ndarray, x: np.ndarray, s: float
) -> Any:
    """``ln S``, ``S = sum over the waits of integral exp((slope (tau - s) - x_k) / scale)``:
    each wait from a record (or the history's start) to the next (or to s) at the
    frontier x_k it held. Broadcasts over ``scale`` and ``slope`` (last axis: waits)."""
    starts = np.concatenate([[first], t]) - s
    ends = np.concatenate([t, [s]]) - s
    levels = np.concatenate([[level], x])
    keep = ends - starts > 0
    starts, dur, levels = starts[keep], (ends - starts)[keep], levels[keep]
    a = np.asarray(slope / scale)
    ad = a * dur
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(np.abs(ad) > 1e-12, np.expm1(ad) / ad, 1.0)
    terms = -levels / scale + a * starts + np.log(dur) + np.log(mean)
    return np.logaddexp.reduce(terms, axis=-1)


def _profile(
    scale: float, slope: float, first: float, level: float, t: np.ndarray, x: np.ndarray, s: float
) -> tuple[float, float]:
    """Log-likelihood maximised over the level, and that level L(s), at (scale, slope).

    Times relative to s. Intensity of a release above u at time tau:
    ``exp((L(s) + slope (tau - s) - u) / scale)``; a record at t_k from x_(k-1) to x_k has
    density ``exp((L(s) + slope (t_k - s) - x_(k-1)) / scale) exp(-(x_k - x_(k-1)) / scale)
    / scale``; between records the frontier x survives with probability ``exp(-integral of
    the rate above x)``. The level enters as ``K L / scale - exp(L / scale) S``, maximal at
    ``exp(L / scale) = K / S``.
    """
    k = t.size
    log_e = math.log(k) - float(_log_exposure(scale, slope, first, level, t, x, s))
    prev = np.concatenate([[level], x[:-1]])
    ll = float(np.sum(log_e + (slope * (t - s) - prev) / scale - math.log(scale)
                      - (x - prev) / scale)) - k  # fmt: skip
    return ll, scale * log_e


def fit(scen: Scenario, eras: Eras, t_dl: np.ndarray, y_dl: np.ndarray, /) -> RecordFit:
    """Fit the record process to the frontier's history before the start.

    ``growth.record_slope = 'records'`` or ``'records-forward'``: scale and slope by
    maximum likelihood (the level
    profiled out), with the inverse Hessian of the profile log-likelihood in (ln scale,
    slope) as their covariance; ``'bootstrap'``: the slope held at the OLS slope of the
    Deep-Learning fit set, the scale by maximum likelihood.

    Raises
    ------
    InputError
        Fewer than :data:`MIN_HISTORY_YEARS` years of records before the start, fewer
        than :data:`MIN_RECORDS` new records in them, or no usable maximum.
    """
    from scipy import optimize  # here: only record-process runs need it

    s = eras.start_year
    first = decimal_year(scen.data.dl_start)
    where = f"{eras.systems.label}: growth.frontier_paths = 'record-process'"
    if s - first < MIN_HISTORY_YEARS - 1e-9:
        raise InputError(
            f"{where} has fewer than five years of records before cut-off {iso_date(s)} "
            f"(the record history starts at data.dl_start, {scen.data.dl_start}); use a later "
            "cut-off or an earlier data.dl_start"
        )
    first, level, t, x = _history(eras, first)
    if t.size < MIN_RECORDS:
        raise InputError(
            f"{where}: only {t.size} new record(s) between {iso_date(first)} and {iso_date(s)}; "
            f"need at least {MIN_RECORDS} to fit the record process"
        )
    ols = float(ols_fit(t_dl, y_dl)[0])
    lo, hi = (math.log(b) for b in _SCALE_BOUNDS)

    def nll(v: np.ndarray) -> float:
        return -_profile(math.exp(v[0]), v[1], first, level, t, x, s)[0]

    if scen.record_slope != "bootstrap":
        res = optimize.minimize(nll, np.array([math.log(0.5), max(ols, 0.1)]), method="L-BFGS-B",
                                bounds=[(lo, hi), (1e-3, _MAX_SLOPE)])  # fmt: skip
        v = np.round(np.asarray(res.x, dtype=float), _FIT_DECIMALS)
        cov = _covariance(nll, v)
        if cov is None or not res.success:
            raise InputError(
                f"{where}: the record history {iso_date(first)} to {iso_date(s)} gives the "
                "likelihood no interior maximum; set growth.record_slope = 'bootstrap'"
            )
    else:
        if not ols > 0:
            raise InputError(f"{where}: the Deep-Learning OLS slope is {ols:.3g} (<= 0)")
        res = optimize.minimize_scalar(lambda w: nll(np.array([w, ols])), bounds=(lo, hi),
                                       method="bounded", options={"xatol": 1e-6})  # fmt: skip
        v, cov = np.array([round(float(res.x), _FIT_DECIMALS), ols]), (0.0, 0.0, 0.0)
    scale = math.exp(float(v[0]))
    ll, level_at_start = _profile(scale, float(v[1]), first, level, t, x, s)
    return RecordFit(
        scale, level_at_start, float(v[1]), scen.record_slope, cov, first, level,
        tuple(map(float, t)), tuple(map(float, x)), len(eras.systems), ll,
    )  # fmt: skip


_FIT_DECIMALS = 9  # the fit rounded: SciPy builds and machines differ in its last bits


def _covariance(nll: Any, v: np.ndarray) -> tuple[float, float, float] | None:
    """Inverse of the Hessian of ``nll`` at ``v`` (central differences), or None when it
    is not positive definite (no interior maximum)."""
    h = np.array([1e-4, 1e-4])
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (nll(v + ei + ej) - nll(v + ei - ej) - nll(v - ei + ej)
                          + nll(v - ei - ej)) / (4 * h[i] * h[j])  # fmt: skip
    if not np.all(np.isfinite(hess)) or np.linalg.det(hess) <= 0 or hess[0, 0] <= 0:
        return None
    inv = np.linalg.inv(hess)
    return float(inv[0, 0]), float(inv[0, 1]), float(inv[1, 1])


def path_parameters(
    fit: RecordFit, z: np.ndarray, start_year: float, clip_floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each path's (scale [OOM], slope [OOM/year], level L(s) [log10 FLOP]).

    'records': (ln scale, slope) from the fit's normal approximation, the slope's
    standard normal ``z[0]`` mapped into its part above ``clip_floor`` (inverse-CDF
    truncation: one draw per path), ln scale given the slope from ``z[1]``; the level
    then at its maximum given both. 'bootstrap': the fitted values on every path.
    """
    from scipy import special

    n = z.shape[1]
    if fit.slope_source == "bootstrap":
        return np.full(n, fit.scale_oom), np.full(n, fit.slope), np.full(n, fit.level_at_start)
    var_b, cov, var_g = fit.cov
    sd_g = math.sqrt(var_g)
    below = special.ndtr((clip_floor - fit.slope) / sd_g)
    zg = -special.ndtri(special.ndtr(-z[0]) * (1.0 - below))
    slope = fit.slope + sd_g * zg
    log_scale = (math.log(fit.scale_oom) + cov / sd_g * zg
                 + math.sqrt(max(var_b - cov * cov / var_g, 0.0)) * z[1])  # fmt: skip
    lo, hi = (math.log(b) for b in _SCALE_BOUNDS)
    scale = np.exp(np.clip(log_scale, lo, hi))
    return scale, slope, fit.levels(start_year, scale, slope)


# --- the engine's call ------------------------------------------------------------------

#: The most memory the uniforms of one call of the kernel may take [bytes].
UNIFORM_BYTES = 256 * 2**20


def _project_part(
    p: Plan,
    first: int,
    stop: int,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    offset: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    yearly: np.ndarray,
    crossing: np.ndarray,
    paths: np.ndarray,
    ceilings: tuple[int, float, np.ndarray, float, np.ndarray],
) -> None:
    """Paths ``[first, stop)`` of :func:`project` into the given rows of its outputs."""
    from projector.model.draws import record_uniforms

    assert p.record is not None
    s = p.eras.start_year
    fit, sizes = p.record, (p.scenario.seed, first, stop, p.times.shape[0] - 1)
    z, u = memo.cached(("record_uniforms", *sizes), stop - first, lambda: record_uniforms(*sizes))
    scale, slope, level = memo.cached(
        ("record_parameters", *sizes, fit, s, p.scenario.clip_floor),
        stop - first,
        lambda: path_parameters(fit, z, s, p.scenario.clip_floor),
    )
    # 'records-forward': the latent level moves at each path's draw of the fitted slope
    # (growth_dl keeps the bootstrap rate, which the backtest's trend baselines use);
    # otherwise the fit only places the level at s and the future is the engine's g(t)
    rate = slope if fit.slope_source == "records-forward" else growth_dl
    floor = p.eras.log10_start + offset  # C(s), with its error when start.log10_sd > 0
    if memo.enabled() and stop - first <= memo.MAX_PATHS:
        from projector.model import warm_kernels as wk

        def gumbel() -> np.ndarray:
            out = np.empty_like(u)
            wk.gumbel_terms(u, out)
            return out

        log_dt = np.empty(max(p.times.shape[0] - 1, 0))
        wk.log_steps(p.times, log_dt)
        order = np.argsort(p.thresholds, kind="stable")
        wk.project_record_paths_warm(
            p.times, log_dt, s, level, rate, growth_moore, reversion, p.shape, p.width, floor,
            scale, memo.cached(("gumbel", *sizes), stop - first, gumbel), order,
            p.thresholds[order], year_index, year_frac, ceilings[0], ceilings[1], ceilings[2],
            ceilings[3], yearly, crossing, paths, ceilings[4],
        )  # fmt: skip
        return
    from projector.model.record_kernels import project_record_paths

    project_record_paths(
        p.times, s, level, rate, growth_moore, reversion, p.shape, p.width, floor,
        scale, u, p.thresholds, year_index, year_frac, ceilings[0], ceilings[1], ceilings[2],
        ceilings[3], yearly, crossing, paths, ceilings[4],
    )  # fmt: skip


def project(
    p: Plan,
    first: int,
    stop: int,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    offset: np.ndarray,
    reduce: Reduce | None,
    ceilings: tuple[int, float, np.ndarray, float, np.ndarray] = (
        0,
        0.0,
        np.empty((0, 0, 2)),
        1.0,
        np.empty((0, 0)),
    ),
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Paths ``[first, stop)`` as records: (log10_compute, yearly or None, crossing).

    As ``engine.run_chunk`` returns them: with ``reduce``, the kept full paths (float32)
    and the yearly values; without, every full path (float64). With
    ``growth.record_slope = 'records-forward'`` each path's Deep-Learning rate is its draw
    of the fitted slope (``record_process_slope`` and ``_sd_slope`` in the provenance);
    otherwise the bootstrap rate, as in every other scenario. ``ceilings``: (mode code,
    first knot year, knots, softness, out_reached) as ``ceiling_kernels.apply_ceilings``
    takes them; ``out_reached`` is filled.
    """
    from projector.model.draws import RNG_BLOCK

    assert p.record is not None
    n, n_time = stop - first, p.times.shape[0]
    crossing = np.empty((n, p.thresholds.shape[0]))
    reduced = reduce is not None and n_time > 1
    paths: np.ndarray
    if reduce is not None and reduced:
        paths = np.empty((max(0, min(reduce.keep, stop) - first), n_time), np.float32)
        yearly = np.empty((n, reduce.year_index.shape[0]), np.float32)
        year_index, year_frac = reduce.year_index, reduce.year_frac
    else:
        paths, yearly = np.empty((n, n_time)), np.empty((n, 0), np.float32)
        year_index, year_frac = np.empty(0, np.int64), np.empty(0)
    # The uniforms are one float64 per path and step: on a daily grid a chunk of 25,000
    # paths would hold 5.4 GB of them (issue 23). Whole random blocks at a time, so that
    # at most UNIFORM_BYTES of them live at once; each path's draws depend only on the
    # seed and its index, so the bits are the same for any split.
    step = max(1, UNIFORM_BYTES // (8 * max(n_time - 1, 1)) // RNG_BLOCK) * RNG_BLOCK
    a = first
    while a < stop:
        b = min(stop, (a // RNG_BLOCK) * RNG_BLOCK + step)
        i, k = a - first, b - first
        rows = slice(min(i, paths.shape[0]), min(k, paths.shape[0]))
        _project_part(
            p, a, b, growth_dl[i:k], growth_moore[i:k], reversion[i:k], offset[i:k] if
            np.ndim(offset) else offset, year_index, year_frac, yearly[i:k], crossing[i:k],
            paths[rows], (ceilings[0], ceilings[1], ceilings[2][i:k] if len(ceilings[2])
            else ceilings[2], ceilings[3], ceilings[4][i:k] if len(ceilings[4])
            else ceilings[4]),
        )  # fmt: skip
        a = b
    return paths, (yearly if reduced else None), crossing
