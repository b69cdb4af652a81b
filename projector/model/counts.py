"""How many models above a threshold: counts below each path's own frontier.

Dependency direction: ``inputs`` (systems, frontier) -> ``counts`` -> ``studies.counts``
-> ``render`` / ``cli``. NumPy only; no I/O, no xarray.

The engine projects one number per path and time, the frontier F(t) (the largest
notable system so far). The systems below it are modelled in bands of distance from
the running maximum at their release: band b holds the systems released between b and
b + 1 orders of magnitude below F(t) (b = 0, 1, 2; :data:`BANDS`). Two models of how
many systems each band receives per year:

- ``bands`` (fitted): the number of notable systems per year in each band is Poisson
  with a log-linear rate, ``lambda_b(t) = exp(a_b + g_b (t - T))``, fitted by maximum
  likelihood to the data before the cut-off T (from ``fit_start``); each path draws
  (a_b, g_b) from the fit's normal approximation (parameter uncertainty).
- ``allocation`` (after Kumar & Manning 2025, GovAI, arXiv 2504.16138): the largest model
  of a year takes a share s ~ U(5%, 50%) of the year's training compute (drawn per path)
  and the rest is spread over order-of-magnitude bins below it by a power law in
  relative size (bin b gets a share proportional to 10^(-alpha b), alpha drawn per path);
  a bin's compute divided by the mean size of a model in it is its number of models
  per year. The path's frontier stands in for the year's largest model.

Each new system is placed uniformly within its band below the path's frontier at its
release, so a path's counts are consistent with the path: nothing lies above F(t), a
path whose frontier never reaches a threshold has no new model above it, and under
ceilings (issue 20) no model exceeds the path's ceiling. Counts above a threshold are
cumulative (every system released by t, the observed ones included), so they never
decrease in time.

Censoring: a row whose figure is a lower bound (``compute_bound = lower``) counts as a
system of at least that compute, never more; the realised count at a date is an interval
[at least, at most], the upper end adding the lower-bounded rows below the threshold that
might lie above it (those released when some system had reached the threshold).

Random numbers: one stream per block of :data:`RNG_BLOCK` paths,
``SeedSequence(seed, spawn_key=(block, COUNTS_STREAM))``, independent of the projection's
own streams, so counting changes none of the projection's bits, and the counts of a path
depend only on the seed, its index and its frontier.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.systems import Systems

__all__ = [
    "ALLOCATION_ALPHA",
    "ALLOCATION_SHARE",
    "BANDS",
    "COUNTS_STREAM",
    "METHODS",
    "BandFit",
    "CountDraws",
    "distance_below_frontier",
    "fit_bands",
    "realised_counts",
    "simulate",
]

#: Bands of distance below the running maximum [OOM]: [0, 1), [1, 2), [2, 3).
BANDS = 3
METHODS = ("bands", "allocation")
#: Paths per random stream (the engine's block size).
RNG_BLOCK = 1000
#: Second spawn-key entry of the counts' streams (the engine uses (block,), 1 and 2).
COUNTS_STREAM = 3
#: GovAI's largest-model share of a year's training compute, uniform on this range.
ALLOCATION_SHARE = (0.05, 0.50)
#: The power law's exponent, uniform on this range: the write-up's 0.9-1.1 (its code
#: uses 0.5-0.7; see the README's counts section).
ALLOCATION_ALPHA = (0.9, 1.1)
#: Bins the allocation's power law is normalised over (below these the compute is spent
#: on models too small to count here).
ALLOCATION_BINS = 6
#: Mean of 10^-U for U ~ U(0, 1): a model's mean size in a band relative to its top.
_MEAN_IN_BAND = 0.9 / math.log(10.0)


def distance_below_frontier(systems: Systems, /) -> npt.NDArray[np.float64]:
    """Each system's distance below the running maximum at its release [OOM] (>= 0).

    The running maximum includes the system itself and every system published the same
    day; a lower bound sits at its bound (so its distance is at most this).
    """
    order = np.argsort(systems.year, kind="stable")
    year = systems.year[order]
    best = np.maximum.accumulate(systems.log10_compute[order])
    last = np.searchsorted(year, year, side="right") - 1  # same-day systems share F
    out = np.empty(len(systems))
    out[order] = best[last] - systems.log10_compute[order]
    return out


@dataclasses.dataclass(frozen=True)
class BandFit:
    """The Poisson log-linear fit of systems per year in each band, at cut-off ``cutoff``.

    ``coef[b] = (a_b, g_b)``: log of the rate at the cut-off [ln(1/year)] and its growth
    [1/year]; ``cov[b]`` their covariance (inverse Fisher information). ``counts[b, k]``
    systems in band b in year bin k (``bins[k]`` to ``bins[k] + 1``, the last one cut
    at the cut-off, ``exposure`` years long).
    """

    cutoff: float
    bins: npt.NDArray[np.float64]
    exposure: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    coef: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]

    def rate_at(self, year: float) -> npt.NDArray[np.float64]:
        """The fitted rate of each band at ``year`` [systems/year] (band,)."""
        return np.exp(self.coef[:, 0] + self.coef[:, 1] * (year - self.cutoff))


def fit_bands(systems: Systems, /, cutoff: float, *, fit_start: float) -> BandFit:
    """Fit each band's Poisson log-linear rate to the systems in [fit_start, cutoff].

    Raises
    ------
    InputError
        Fewer than two years of data, or a band with no system at all (nothing to fit).
    """
    first = math.floor(fit_start)
    if cutoff - first < 2.0:
        raise InputError(
            f"counts: the band fit needs at least two years of systems before the cut-off "
            f"({cutoff:.2f}); fit_start {fit_start:.2f} is too late"
        )
    bins = np.arange(first, math.ceil(cutoff), dtype=np.float64)
    exposure = np.minimum(bins + 1.0, cutoff) - bins
    keep = (systems.year >= first) & (systems.year <= cutoff)
    d = distance_below_frontier(systems)[keep]
    yr = systems.year[keep]
    band = np.floor(d).astype(np.int64)
    k = np.clip(np.floor(yr - first).astype(np.int64), 0, len(bins) - 1)
    counts = np.zeros((BANDS, len(bins)), dtype=np.int64)
    inside = band < BANDS
    np.add.at(counts, (band[inside], k[inside]), 1)
    x = bins + exposure / 2.0 - cutoff  # years before the cut-off (bin midpoints)
    coef = np.empty((BANDS, 2))
    cov = np.empty((BANDS, 2, 2))
    for b in range(BANDS):
        if counts[b].sum() == 0:
            raise InputError(
                f"counts: no system {b}-{b + 1} OOM below the frontier between "
                f"{first} and {cutoff:.2f}; the band fit has nothing to fit"
            )
        coef[b], cov[b] = _poisson_loglinear(counts[b], x, exposure)
    return BandFit(cutoff, bins, exposure, counts, coef, cov)


def _poisson_loglinear(
    n: npt.NDArray[np.int64], x: npt.NDArray[np.float64], exposure: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """MLE of log E[n] = log(exposure) + a + g x by Newton's method, and its covariance.

    The log-likelihood is concave, so Newton from the constant-rate fit converges; the
    step is halved while the likelihood does not rise (large g from few counts).
    """
    design = np.stack([np.ones_like(x), x], axis=1)
    beta = np.array([math.log(n.sum() / exposure.sum()), 0.0])

    def loglik(b: npt.NDArray[np.float64]) -> float:
        eta = design @ b
        return float(np.sum(n * eta - exposure * np.exp(eta)))

    for _ in range(100):
        mu = exposure * np.exp(design @ beta)
        grad = design.T @ (n - mu)
        info = design.T @ (design * mu[:, None])
        step = np.linalg.solve(info, grad)
        t, old = 1.0, loglik(beta)
        while loglik(beta + t * step) < old - 1e-12 and t > 1e-6:
            t /= 2.0
        beta = beta + t * step
        if np.max(np.abs(t * step)) < 1e-10:
            break
    mu = exposure * np.exp(design @ beta)
    info = design.T @ (design * mu[:, None])
    return beta, np.linalg.inv(info)


def realised_counts(
    systems: Systems, /, thresholds: npt.ArrayLike, at: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The realised count of systems at or above each threshold by ``at``, as an interval.

    Parameters
    ----------
    thresholds
        log10 FLOP (threshold,).
    at
        Decimal year (systems published at or before it).

    Returns
    -------
    (at_least, at_most)
        (threshold,) each. ``at_least`` counts point estimates at or above the threshold
        and lower bounds at or above it; ``at_most`` adds the lower bounds below it that
        were released when the running maximum had reached it (their true compute is
        unknown above the bound, and could be there).
    """
    th = np.asarray(thresholds, dtype=np.float64)
    known = systems.year <= at + 1e-9
    c = systems.log10_compute[known]
    cens = systems.censored[known]
    frontier = (systems.log10_compute[known] + distance_below_frontier(systems)[known])[:, None]
    above = c[:, None] >= th[None, :]
    hidden = cens[:, None] & ~above & (frontier >= th[None, :])
    at_least = above.sum(axis=0).astype(np.int64)
    return at_least, at_least + hidden.sum(axis=0).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class CountDraws:
    """Per-path counts at each output time (path first).

    ``above[p, i, k]``: systems at or above ``thresholds[i]`` released by ``times[k]``
    (observed ones included; cumulative). ``within[p, w, k]``: systems released by
    ``times[k]`` within ``within[w]`` OOM of the path's frontier at ``times[k]``.
    ``share`` and ``alpha`` (allocation) or ``rate`` and ``growth`` (bands) are the
    per-path draws of the model's parameters, (path, band) or (path,).
    """

    above: npt.NDArray[np.int32]
    within: npt.NDArray[np.int32]
    params: dict[str, npt.NDArray[np.float64]]


def _block_rng(seed: int, block: int) -> np.random.Generator:
    seq = np.random.SeedSequence(seed, spawn_key=(block, COUNTS_STREAM))
    return np.random.Generator(np.random.PCG64(seq))


def _rates(
    method: str, fit: BandFit | None, n: int, rng: np.random.Generator
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-path parameters and the rate's log level and growth (path, band) [1/year]."""
    if method == "bands":
        assert fit is not None
        z = rng.standard_normal((n, BANDS, 2))
        chol = np.linalg.cholesky(fit.cov)  # (band, 2, 2)
        coef = fit.coef[None, :, :] + np.einsum("bij,pbj->pbi", chol, z)
        return {"log_rate": coef[:, :, 0], "growth": coef[:, :, 1]}, coef[:, :, 0], coef[:, :, 1]
    share = rng.uniform(*ALLOCATION_SHARE, size=n)
    alpha = rng.uniform(*ALLOCATION_ALPHA, size=n)
    b = np.arange(ALLOCATION_BINS, dtype=np.float64)
    weight = 10.0 ** (-alpha[:, None] * b[None, :])
    weight /= weight.sum(axis=1, keepdims=True)
    # models per year in bin b: its compute over a model's mean size there, both relative
    # to the largest model; the largest itself is one more per year in band 0
    per_year = (1.0 - share[:, None]) / share[:, None] * weight / (_MEAN_IN_BAND * 10.0**-b)
    per_year = per_year[:, :BANDS]
    per_year[:, 0] += 1.0
    return {"share": share, "alpha": alpha}, np.log(per_year), np.zeros((n, BANDS))


def simulate(
    frontier: npt.NDArray[np.floating],
    times: npt.NDArray[np.float64],
    /,
    start: float,
    observed: npt.NDArray[np.float64],
    thresholds: Sequence[float],
    within: Sequence[float],
    at: Sequence[float],
    *,
    method: str = "bands",
    fit: BandFit | None = None,
    seed: int,
    first_path: int = 0,
) -> CountDraws:
    """Draw each path's counts from its frontier.

    Parameters
    ----------
    frontier
        log10 FLOP of each path's frontier on ``times`` (path, time), non-decreasing.
    times
        The grid [decimal year]; systems are released on it from ``start`` on, the
        frontier between grid times taken as at the grid time before (a step).
    start
        The cut-off T: systems after it are drawn, systems up to it are ``observed``.
    observed
        log10 compute of the systems known at T (lower bounds at their bound).
    thresholds, within
        log10 FLOP and OOM below the frontier (at most :data:`BANDS`).
    at
        Output times [decimal year], after ``start``, within ``times``.
    method, fit
        :data:`METHODS`; ``bands`` needs the :class:`BandFit` at T.
    seed, first_path
        The seed, and the global index of the first path (a multiple of
        :data:`RNG_BLOCK`), so that a path's counts depend only on the seed and its index.
    """
    if method not in METHODS:
        raise InputError(f"counts: method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "bands" and fit is None:
        raise InputError("counts: method 'bands' needs the band fit at the cut-off")
    if first_path % RNG_BLOCK:
        raise ValueError(f"first_path must be a multiple of {RNG_BLOCK}")
    f = np.asarray(frontier, dtype=np.float64)
    th = np.asarray(thresholds, dtype=np.float64)
    wk = np.asarray(within, dtype=np.float64)
    out_t = np.asarray(at, dtype=np.float64)
    if out_t.min() <= start or out_t.max() > times[-1] + 1e-9:
        raise InputError(
            f"counts: output times must lie after the start {start:.2f} and by the "
            f"projection's end {times[-1]:.2f}"
        )
    # the release grid: the projection's grid times after T and the output times
    grid = np.union1d(times[(times > start) & (times < out_t.max())], out_t)
    col = np.searchsorted(times, grid + 1e-9, side="right") - 1
    dt = np.diff(np.concatenate([[start], grid]))
    out_j = np.searchsorted(grid, out_t - 1e-9)  # index of each output time in grid
    n_paths = f.shape[0]
    above = np.empty((n_paths, th.size, out_t.size), dtype=np.int32)
    within_out = np.empty((n_paths, wk.size, out_t.size), dtype=np.int32)
    params: dict[str, list[npt.NDArray[np.float64]]] = {}
    obs_above = (observed[:, None] >= th[None, :]).sum(axis=0)
    for lo in range(0, n_paths, RNG_BLOCK):
        hi = min(lo + RNG_BLOCK, n_paths)
        rng = _block_rng(seed, (first_path + lo) // RNG_BLOCK)
        p_draws, log_rate, growth = _rates(method, fit, RNG_BLOCK, rng)  # a full block
        for key, v in p_draws.items():
            params.setdefault(key, []).append(v[: hi - lo])
        fb = f[lo:hi][:, col]  # (n, J) frontier at each release time
        t_rel = grid - start
        # a full block's releases and positions are drawn always, so that a path's draws
        # do not depend on how many paths follow it; those of missing paths are dropped
        lam = np.exp(log_rate[:, :, None] + growth[:, :, None] * t_rel) * dt
        n_new = rng.poisson(lam)  # (block, band, J)
        idx = np.repeat(np.arange(n_new.size), n_new.ravel())
        u = rng.random(idx.size)
        p_i, b_i, j_i = np.unravel_index(idx, n_new.shape)
        mine = p_i < hi - lo
        p_i, b_i, j_i, u = p_i[mine], b_i[mine], j_i[mine], u[mine]
        c = fb[p_i, j_i] - b_i - u
        n, n_j = hi - lo, grid.size
        for i, t in enumerate(th):
            new = np.bincount(p_i * n_j + j_i, weights=c >= t, minlength=n * n_j)
            cum = np.cumsum(new.reshape(n, n_j), axis=1)[:, out_j]
            above[lo:hi, i, :] = obs_above[i] + np.rint(cum).astype(np.int32)
        for k_out, jk in enumerate(out_j):
            f_at = fb[:, jk]  # (n,)
            released = j_i <= jk
            for w, width in enumerate(wk):
                near = released & (c >= f_at[p_i] - width)
                n_obs = (observed[None, :] >= f_at[:, None] - width).sum(axis=1)
                within_out[lo:hi, w, k_out] = n_obs + np.bincount(p_i[near], minlength=n)
    return CountDraws(above, within_out, {name: np.concatenate(v) for name, v in params.items()})
