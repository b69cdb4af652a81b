"""Numba kernels of the projection: NumPy arrays in, NumPy arrays out.

Dependency direction: imports only ``ceiling_kernels`` (the ceilings' step of a path);
``engine`` and ``trends`` call these, and ``projector.model.twins`` holds one slow,
obviously correct NumPy twin of each.

Conventions (numbagg style): no I/O, no xarray, no random numbers inside jitted
code (draws come in as arrays, made by a seeded ``numpy.random.Generator``), the
looped sample axis first and time last, results written into ``out``. Each path is
computed independently of every other, so results do not depend on the number of
threads or on how paths are chunked.

Formulas: method.md sections 2 to 7 (Besiroglu, Heim & Sevilla 2022, *Projecting
compute trends in Machine Learning*).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from projector.model.ceiling_kernels import _ceiling_one
from projector.model.codes import FAMILY_CODES, SHAPE_CODES

__all__ = [
    "FAMILY_CODES",
    "SHAPE_CODES",
    "bootstrap_slopes",
    "first_crossing",
    "integrate_paths",
    "mixture_draws",
    "ols_fit",
    "project_paths",
    "shift_paths",
    "weights",
]

# Integer codes for the choices that cross into jitted code.

_LN2 = math.log(2.0)


@nb.njit(cache=True, nogil=True)
def ols_fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:  # pragma: no cover - jitted
    """Ordinary least squares of ``y`` on ``t``: returns (slope, intercept).

    Centred sums, for accuracy with decimal years around 2000. Slope in units of
    ``y`` per unit ``t`` (OOM/year for log10 FLOP on decimal years). NaN when
    every ``t`` is equal.
    """
    n = t.shape[0]
    tm = 0.0
    ym = 0.0
    for i in range(n):
        tm += t[i]
        ym += y[i]
    tm /= n
    ym /= n
    sxy = 0.0
    sxx = 0.0
    for i in range(n):
        dt = t[i] - tm
        sxy += dt * (y[i] - ym)
        sxx += dt * dt
    if sxx == 0.0:
        return math.nan, math.nan
    slope = sxy / sxx
    return slope, ym - slope * tm


@nb.njit(cache=True, parallel=True, nogil=True)
def bootstrap_slopes(
    t: np.ndarray, y: np.ndarray, idx: np.ndarray, noise: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """OLS slope of each bootstrap resample (method.md sections 2 and 8).

    The engine and the trend analysis both fit through this one kernel.

    Parameters
    ----------
    t, y : (n,) float64
        Decimal year and log10 compute [FLOP] of the era's systems.
    idx : (n_boot, n) int64
        Row indices of each resample (drawn with replacement by the caller).
    noise : (n_boot, n) or (0, n) float64
        Added to ``y`` of each resampled row [OOM] (the Three Eras paper's per-estimate
        error, log10 of a factor in [1/2, 2]); an array with no rows means none.
    out : (n_boot,) float64
        Receives the slopes [OOM/year].
    """
    n_boot, n = idx.shape
    noisy = noise.shape[0] > 0
    for b in nb.prange(n_boot):
        tb = np.empty(n)
        yb = np.empty(n)
        for i in range(n):
            tb[i] = t[idx[b, i]]
            yb[i] = y[idx[b, i]]
            if noisy:
                yb[i] += noise[b, i]
        out[b] = ols_fit(tb, yb)[0]


@nb.njit(cache=True, parallel=True, nogil=True)
def mixture_draws(
    u_pick: np.ndarray,
    z: np.ndarray,
    u: np.ndarray,
    cum_weights: np.ndarray,
    family: np.ndarray,
    params: np.ndarray,
    start_year: float,
    out_year: np.ndarray,
    out_component: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """Reversion dates from a weighted mixture (linear pool) of components.

    Component k is chosen where ``u_pick < cum_weights[k]`` first holds, then the
    date is made from a standard normal ``z`` or a uniform ``u`` by the family's
    transform (method.md section 4):

    - normal (mean, sd): ``mean + sd * z`` [calendar year];
    - lognormal (median, sigma): ``start + median * exp(sigma * z)`` (years after start);
    - uniform (low, high): ``low + (high - low) * u``;
    - triangular (low, mode, high): inverse CDF at ``u``;
    - point (year): ``year``.

    Parameters
    ----------
    u_pick, z, u : (n_path,) float64
    cum_weights : (k,) float64, cumulative component weights ending at 1
    family : (k,) int64, codes from ``FAMILY_CODES``
    params : (k, 3) float64, the family's parameters in declaration order
    out_year : (n_path,) float64 [decimal year]; out_component : (n_path,) int64
    """
    n = u_pick.shape[0]
    k_last = cum_weights.shape[0] - 1
    for j in nb.prange(n):
        k = 0
        while k < k_last and not u_pick[j] < cum_weights[k]:
            k += 1
        f = family[k]
        a = params[k, 0]
        b = params[k, 1]
        c = params[k, 2]
        if f == 0:
            r = a + b * z[j]
        elif f == 1:
            r = start_year + a * math.exp(b * z[j])
        elif f == 2:
            r = a + (b - a) * u[j]
        elif f == 3:
            # triangular(low=a, mode=b, high=c)
            fc = (b - a) / (c - a)
            if u[j] < fc:
                r = a + math.sqrt(u[j] * (c - a) * (b - a))
            else:
                r = c - math.sqrt((1.0 - u[j]) * (c - a) * (c - b))
        else:
            r = a
        out_year[j] = r
        out_component[j] = k


@nb.njit(cache=True, inline="always")
def _weight(dt: float, span: float, shape: int, width: float) -> float:  # pragma: no cover
    """w at ``dt = t - s`` with ``span = R - s`` (method.md section 5).

    Shapes 0 and 1 are the study's (functions of ``(dt / span)^2``); 2 is the logistic
    ``1 / (1 + exp((dt - span) / width))`` (w(R) = 1/2) and 3 the step (1 before R,
    0 from R on). Before the start w = 1 for every shape.
    """
    if dt <= 0.0:
        return 1.0
    if shape == 2:
        x = (dt - span) / width
        if x > 700.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(x))
    if shape == 3:
        return 1.0 if dt < span else 0.0
    if span == 0.0:
        return 0.0
    x = dt / span
    if shape == 0:
        return math.exp(-0.5 * x * x)
    return math.exp(-_LN2 * x * x)


@nb.njit(cache=True, parallel=True, nogil=True)
def weights(
    times: np.ndarray,
    start_year: float,
    reversion: np.ndarray,
    shape: int,
    width: float,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """Weight on the Deep-Learning rate, ``out[path, time]`` in [0, 1].

    ``shape`` 0 (gaussian): ``exp(-(t-s)^2 / (2 (R-s)^2))``, w(R) = exp(-1/2);
    ``shape`` 1 (half-at-reversion): ``2 ** (-((t-s)/(R-s))^2)``, w(R) = 1/2;
    ``shape`` 2 (logistic): ``1 / (1 + exp((t-R) / width))``, w(R) = 1/2;
    ``shape`` 3 (step): 1 for t < R, 0 from R on.
    w = 1 at and before the start; for shapes 0 and 1 a reversion date equal to the
    start gives w = 0 after it (the limit), and dates before the start enter through
    ``(R - s)^2`` (the study's "mirror"; the engine applies the scenario's policy to
    the draws before they reach this kernel).
    """
    for j in nb.prange(reversion.shape[0]):
        span = reversion[j] - start_year
        for i in range(times.shape[0]):
            out[j, i] = _weight(times[i] - start_year, span, shape, width)


@nb.njit(cache=True, parallel=True, nogil=True)
def integrate_paths(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """Integrate the blended growth rate into log10 compute paths (method.md 5-6).

    ``g(t) = g_DL ** w(t) * g_moore ** (1 - w(t))`` [OOM/year], both rates > 0 (the
    caller checks), integrated by the trapezoid rule on ``times`` from
    ``log10 C(s) = log10_start``.

    ``times`` must be a uniform grid starting at ``start_year`` (as
    :func:`projector.model.engine.time_grid` builds it). On such a grid both weight shapes
    are ``w_i = q ** (i * i)`` with ``q = w(one step)``, so ``w`` is advanced by the
    recurrence ``w_i = w_(i-1) * q ** (2i - 1)``: two multiplications instead of an
    ``exp`` per step (relative error below 1e-10 over 10,000 steps). Once ``w``
    falls below 1e-200 the rate is ``g_moore`` to the last bit and stays there.
    The logistic and step shapes (2, 3) evaluate w at each step directly.

    Parameters
    ----------
    times : (n_time,) float64 [decimal year], ``times[0]`` is the start
    growth_dl, growth_moore, reversion : (n_path,) float64
    out : (n_path, n_time) float64 [log10 FLOP]
    """
    for j in nb.prange(growth_dl.shape[0]):
        _integrate_one(
            times, start_year, log10_start, growth_dl[j], growth_moore[j], reversion[j],
            shape, width, out[j],
        )  # fmt: skip


@nb.njit(cache=True, inline="always")
def _integrate_one(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: float,
    growth_moore: float,
    reversion: float,
    shape: int,
    width: float,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """One path of :func:`integrate_paths` into ``out`` (n_time,)."""
    n_time = times.shape[0]
    step = times[1] - times[0] if n_time > 1 else 0.0
    c = 0.5 if shape == 0 else _LN2
    ln_moore = math.log(growth_moore)
    d = math.log(growth_dl) - ln_moore
    g_moore = growth_moore
    span = reversion - start_year
    q = 0.0
    if span != 0.0:
        x = step / span
        q = math.exp(-c * x * x)
    q2 = q * q
    m = q  # q ** (2i - 1) for the next step i
    w = 1.0
    g_prev = math.exp(ln_moore + d)
    acc = log10_start
    out[0] = acc
    if shape >= 2:
        for i in range(1, n_time):
            w = _weight(times[i] - start_year, span, shape, width)
            g = math.exp(ln_moore + w * d)
            acc += 0.5 * (g_prev + g) * (times[i] - times[i - 1])
            out[i] = acc
            g_prev = g
        return
    for i in range(1, n_time):
        if w > 1e-200:
            w *= m
            m *= q2
        if w > 1e-200:
            g = math.exp(ln_moore + w * d)
        else:
            w = 0.0
            g = g_moore
        acc += 0.5 * (g_prev + g) * (times[i] - times[i - 1])
        out[i] = acc
        g_prev = g


@nb.njit(cache=True, parallel=True, nogil=True)
def first_crossing(
    times: np.ndarray, log10_compute: np.ndarray, thresholds: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """First grid time at which each path reaches each threshold (method.md 7).

    ``out[path, anchor]`` is the first ``times[i]`` with
    ``log10_compute[path, i] >= thresholds[anchor]``, or NaN if the path never
    reaches it within the grid.
    """
    for j in nb.prange(log10_compute.shape[0]):
        _crossing_one(times, log10_compute[j], thresholds, out[j])


@nb.njit(cache=True, inline="always")
def _crossing_one(
    times: np.ndarray, path: np.ndarray, thresholds: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """One path of :func:`first_crossing` into ``out`` (n_anchor,)."""
    for a in range(thresholds.shape[0]):
        out[a] = math.nan
        for i in range(times.shape[0]):
            if path[i] >= thresholds[a]:
                out[a] = times[i]
                break


@nb.njit(cache=True, parallel=True, nogil=True)
def shift_paths(
    log10_compute: np.ndarray,
    offset: np.ndarray,
    deviation: np.ndarray,
    row: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """Add a per-path offset and a row of a deviation table to each path.

    ``out[j, i] = log10_compute[j, i] + offset[j] + deviation[row[j], i]``, with no
    deviation where ``row[j] < 0``. ``out`` may be ``log10_compute`` itself.

    Parameters
    ----------
    log10_compute, out : (n_path, n_time) float64 [log10 FLOP]
    offset : (n_path,) float64 [OOM], the error on the start compute
    deviation : (n_row, n_col) float64 [OOM], the frontier's deviations from its trend;
        with fewer columns than times, the last column holds for the later times
    row : (n_path,) int64, the table row of each path, -1 for none
    """
    for j in nb.prange(log10_compute.shape[0]):
        _shift_one(log10_compute[j], offset[j], deviation, row[j], out[j])


@nb.njit(cache=True, inline="always")
def _shift_one(
    path: np.ndarray, offset: float, deviation: np.ndarray, r: int, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """One path of :func:`shift_paths` into ``out`` (may be ``path`` itself)."""
    n_col = deviation.shape[1]
    for i in range(path.shape[0]):
        v = path[i] + offset
        if r >= 0:
            v += deviation[r, i if i < n_col else n_col - 1]
        out[i] = v


@nb.njit(cache=True, parallel=True, nogil=True)
def running_max(paths: np.ndarray, floor: float, out: np.ndarray) -> None:  # pragma: no cover
    """Each path as a record: ``out[j, i] = max(floor, paths[j, 0..i])`` [log10 FLOP].

    The frontier is the running maximum of released systems, so it never falls and never
    drops below the record already set at the start (``floor`` = log10 C(s)).
    ``out`` may be ``paths`` itself.
    """
    for j in nb.prange(paths.shape[0]):
        _record_one(paths[j], floor, out[j])


@nb.njit(cache=True, inline="always")
def _record_one(
    path: np.ndarray, floor: float, out: np.ndarray
) -> None:  # pragma: no cover - jitted
    """One path of :func:`running_max` into ``out`` (may be ``path`` itself)."""
    best = floor
    for i in range(path.shape[0]):
        if path[i] > best:
            best = path[i]
        out[i] = best


@nb.njit(cache=True, parallel=True, nogil=True)
def project_paths(
    times: np.ndarray,
    start_year: float,
    log10_start: float,
    growth_dl: np.ndarray,
    growth_moore: np.ndarray,
    reversion: np.ndarray,
    shape: int,
    width: float,
    shift: bool,
    offset: np.ndarray,
    deviation: np.ndarray,
    row: np.ndarray,
    thresholds: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    records: bool,
    floor: float,
    ceiling_mode: int,
    knot0: float,
    knots: np.ndarray,
    softness: float,
    out_yearly: np.ndarray,
    out_crossing: np.ndarray,
    out_full: np.ndarray,
    out_reached: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """:func:`integrate_paths`, :func:`shift_paths` (when ``shift``),
    :func:`apply_ceilings` (when ``ceiling_mode`` > 0), :func:`running_max` (when
    ``records``, from ``floor``) and :func:`first_crossing` path by path, reduced to
    what a result store keeps.

    Each path lives in a buffer of one row while it is computed, so no
    (path, time) array is ever made: the same arithmetic in the same order as the
    three kernels in turn, so the same bits.

    Parameters
    ----------
    year_index, year_frac : (n_year,) the grid interval ``[i - 1, i]`` holding each
        year and the year's fraction of it (``projector.model.cube`` linear interpolation)
    out_yearly : (n_path, n_year) float32 [log10 FLOP], the paths at the years
    out_crossing : (n_path, n_anchor) float64 [decimal year], NaN for never
    out_full : (n_keep, n_time) float32 [log10 FLOP], the first ``n_keep`` paths whole
    knots, out_reached : as :func:`apply_ceilings` (no rows when ``ceiling_mode`` is 0)
    """
    n_time = times.shape[0]
    for j in nb.prange(growth_dl.shape[0]):
        buf = np.empty(n_time)
        _integrate_one(
            times, start_year, log10_start, growth_dl[j], growth_moore[j], reversion[j],
            shape, width, buf,
        )  # fmt: skip
        if shift:
            _shift_one(buf, offset[j], deviation, row[j], buf)
        if ceiling_mode > 0:
            _ceiling_one(times, buf, ceiling_mode, knot0, knots[j], softness, out_reached[j])
        if records:
            _record_one(buf, floor, buf)
        _crossing_one(times, buf, thresholds, out_crossing[j])
        _keep_one(buf, year_index, year_frac, j, out_yearly, out_full)


@nb.njit(cache=True, inline="always")
def _keep_one(
    buf: np.ndarray,
    year_index: np.ndarray,
    year_frac: np.ndarray,
    j: int,
    out_yearly: np.ndarray,
    out_full: np.ndarray,
) -> None:  # pragma: no cover - jitted
    """What a store keeps of path ``j`` (its one-row buffer ``buf``): the values at the
    years, float32, linear between grid times; and the whole row in ``out_full``'s dtype
    when ``j`` is among its first ``out_full.shape[0]`` paths."""
    for k in range(year_index.shape[0]):
        i = year_index[k]
        f = year_frac[k]
        out_yearly[j, k] = np.float32(buf[i - 1] * (1 - f) + buf[i] * f)
    if j < out_full.shape[0]:
        for i in range(buf.shape[0]):
            out_full[j, i] = buf[i]
