"""Historical trends: the Three Eras analysis (method.md section 8).

Dependency direction: ``data`` -> ``trends`` -> ``kernels``; ``results`` builds the
output Dataset, ``plots`` draws it and ``cli`` runs it. The OLS and the bootstrap are
the engine's own kernels (:func:`projector.model.kernels.ols_fit`,
:func:`projector.model.kernels.bootstrap_slopes`): one fit for both.

After Sevilla et al., *Compute Trends Across Three Eras of Machine Learning*
(arXiv:2202.05924): OLS of log10 training compute on decimal year per window, with
bootstrap intervals, optionally with each estimate perturbed by a log-uniform factor
in [1/2, 2]; systems classed by the Z-score of their compute among neighbours
published within +/- 1.5 years (low outlier, regular scale, large scale); and a test
of whether the 2010 and 2015/16 transitions are breaks in the trend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import stats

from projector.errors import InputError
from projector.inputs.systems import Systems, decimal_year
from projector.model import kernels

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "QUANTITIES",
    "SCALE_CLASSES",
    "Break",
    "Fit",
    "ScaleRule",
    "TrendAnalysis",
    "Window",
    "analyse",
    "break_test",
    "classify",
    "fit_window",
    "open_trends",
    "parse_window",
    "standard_windows",
]

#: Scale classes, in the order of their integer codes.
SCALE_CLASSES = ("low-outlier", "regular", "large")
_LOW, _REGULAR, _LARGE = 0, 1, 2
_LOG10_2 = math.log10(2.0)
MIN_WINDOW_SYSTEMS = 3
ALEXNET = dt.date(2012, 9, 30)
ALPHAZERO = dt.date(2017, 12, 5)
ALPHAGO_FAN_ERA = dt.date(2015, 9, 1)
DL_START = dt.date(2010, 1, 1)


@dataclasses.dataclass(frozen=True)
class ScaleRule:
    """The Z-score rule of the Three Eras paper, with its values as defaults.

    Attributes
    ----------
    half_width_years
        Neighbours are systems published within +/- this many years [years]; the
        paper's text says 1.5, one caption says 2.
    low, high
        Z < low: low outlier (excluded); Z >= high (and published on or after
        ``large_from``): large scale; otherwise regular scale.
    large_from
        First date at which a system can be large scale (2016 in the paper's rule).
    """

    half_width_years: float = 1.5
    low: float = -2.0
    high: float = 0.76
    large_from: dt.date = dt.date(2016, 1, 1)

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise InputError(f"--z-low {self.low:g} must be below --z-high {self.high:g}")


@dataclasses.dataclass(frozen=True)
class Window:
    """A date window and the systems it fits.

    ``scale`` is ``all`` (every system), ``regular`` (regular scale: neither low
    outliers nor large scale) or ``large`` (large scale only). ``end`` is inclusive;
    None means the cut-off (or the newest system).
    """

    name: str
    start: dt.date
    end: dt.date | None
    scale: str = "all"
    quantity: str = "compute"
    domain: str = ""

    def __post_init__(self) -> None:
        if self.scale not in ("all", "regular", "large"):
            raise InputError(f"window {self.name}: scale must be all, regular or large")
        if self.end is not None and self.end <= self.start:
            raise InputError(f"window {self.name}: end {self.end} is not after start {self.start}")


#: ``projector trends --quantity`` choices.
QUANTITIES = ("compute", "parameters", "both")
#: Domain groups of the parameter-count windows (:func:`_domain_group`).
PARAMETER_DOMAINS = ("language", "vision", "games", "other")
#: Where the parameter-count article sees language models leave the common trend.
LANGUAGE_TAKEOFF = dt.date(2018, 1, 1)


def standard_windows(quantity: str = "both") -> list[Window]:
    """The paper's windows for compute, parameters or both (stable names).

    Parameter windows are the compute windows over parameter counts (names prefixed
    ``params-``; the DL-era one is ``params-dl-all``) plus, by domain group, the DL
    era, 2000 to 2017 and, for language, 2018 on: the windows in which Villalobos et
    al., *Machine Learning Model Sizes and the Parameter Gap* (arXiv:2207.02852),
    report a doubling every 18-24 months in all domains and then every 4-8 months for
    language models.
    """
    if quantity not in QUANTITIES:
        raise InputError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    compute = [
        Window("pre-dl", dt.date(1952, 1, 1), DL_START - dt.timedelta(days=1)),
        Window("dl", DL_START, None),
        Window("dl-regular", DL_START, None, "regular"),
        Window("large-scale", ALPHAGO_FAN_ERA, None, "large"),
        Window("alexnet-alphazero", ALEXNET, ALPHAZERO),
        Window("alexnet-present", ALEXNET, None),
    ]
    params = [
        dataclasses.replace(w, name="params-" + ("dl-all" if w.name == "dl" else w.name),
                            quantity="parameters")
        for w in compute
    ]  # fmt: skip
    before_takeoff = LANGUAGE_TAKEOFF - dt.timedelta(days=1)
    for domain in PARAMETER_DOMAINS:
        params += [
            Window(f"params-dl-{domain}", DL_START, None, quantity="parameters", domain=domain),
            Window(f"params-2000-2017-{domain}", dt.date(2000, 1, 1), before_takeoff,
                   quantity="parameters", domain=domain),
        ]  # fmt: skip
    params.append(
        Window("params-2018-present-language", LANGUAGE_TAKEOFF, None, quantity="parameters",
               domain="language")
    )  # fmt: skip
    return {"compute": compute, "parameters": params, "both": compute + params}[quantity]


def parse_window(spec: str, /) -> Window:
    """``NAME:START:END[:SCALE]`` with ISO dates; END may be empty for the cut-off."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or not parts[0]:
        raise InputError(f"--window {spec!r}: expected NAME:START:END[:SCALE]")
    try:
        start = dt.date.fromisoformat(parts[1])
        end = dt.date.fromisoformat(parts[2]) if parts[2] else None
    except ValueError:
        raise InputError(f"--window {spec!r}: dates must be YYYY-MM-DD") from None
    return Window(parts[0], start, end, parts[3] if len(parts) == 4 else "all")


def classify(
    systems: Systems, /, rule: ScaleRule = ScaleRule()
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Z-score of each system's log10 compute among its neighbours, and its class.

    Neighbours are the systems published within ``rule.half_width_years`` of it,
    itself included (a centred window). Z is 0 where the neighbourhood has no spread.

    Returns
    -------
    (z, scale_class) : (n,) float64, (n,) int64 codes into :data:`SCALE_CLASSES`
    """
    t, y = systems.year, systems.log10_compute
    z = np.zeros(len(t))
    for i in range(len(t)):
        near = np.abs(t - t[i]) <= rule.half_width_years
        sd = y[near].std(ddof=1) if near.sum() > 1 else 0.0
        if sd > 0:
            z[i] = (y[i] - y[near].mean()) / sd
    large_ok = systems.date >= np.datetime64(rule.large_from, "D")
    cls = np.full(len(t), _REGULAR, dtype=np.int64)
    cls[z < rule.low] = _LOW
    cls[(z >= rule.high) & large_ok] = _LARGE
    return z, cls


@dataclasses.dataclass(frozen=True)
class Fit:
    """OLS fit of one window with bootstrap draws.

    Slopes in OOM/year (log10 units per year); doubling times in months; ``line_start``
    and ``line_end`` are the fitted line at the window's first and last system [FLOP
    or parameters].
    """

    window: Window
    n: int
    first: float
    last: float
    slope: float
    intercept: float
    r2: float
    boot_slope: npt.NDArray[np.float64]
    boot_intercept: npt.NDArray[np.float64]

    @property
    def fitted(self) -> bool:
        """False when the window held too few systems to fit (every number is NaN)."""
        return bool(np.isfinite(self.slope))

    def slope_quantiles(self) -> tuple[float, float, float]:
        if not self.fitted:
            return math.nan, math.nan, math.nan
        q = np.nanquantile(self.boot_slope, [0.025, 0.5, 0.975])
        return float(q[0]), float(q[1]), float(q[2])

    @property
    def doubling_months(self) -> float:
        return _doubling(self.slope)

    def doubling_interval(self) -> tuple[float, float]:
        """(low, high) doubling time [months] from the 97.5% and 2.5% slope quantiles."""
        lo, _, hi = self.slope_quantiles()
        return _doubling(hi), _doubling(lo)

    @property
    def line_start(self) -> float:
        return float(10 ** (self.intercept + self.slope * self.first))

    @property
    def line_end(self) -> float:
        return float(10 ** (self.intercept + self.slope * self.last))


def _doubling(slope: float) -> float:
    """Doubling time [months] of a log10 slope [OOM/year]; inf for a non-positive slope."""
    if math.isnan(slope):
        return math.nan
    return 12.0 * _LOG10_2 / slope if slope > 0 else math.inf


def _select(
    systems: Systems, cls: npt.NDArray[np.int64], window: Window, cutoff: dt.date | None
) -> npt.NDArray[np.bool_]:
    end = window.end or cutoff
    mask = systems.date >= np.datetime64(window.start, "D")
    if end is not None:
        mask &= systems.date <= np.datetime64(end, "D")
    if window.scale == "regular":
        mask &= cls == _REGULAR
    elif window.scale == "large":
        mask &= cls == _LARGE
    if window.quantity == "parameters":
        mask &= np.isfinite(systems.parameters) & (systems.parameters > 0)
    if window.domain:
        mask &= np.array([_domain_group(d) == window.domain for d in systems.domain])
    return mask


def _domain_group(domain: str) -> str:
    """language, vision, games or other, from a bundled or Epoch domain label."""
    first = domain.split(",")[0].strip().lower()
    return first if first in ("language", "vision", "games") else "other"


def fit_window(
    t: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    window: Window,
    /,
    *,
    rng: np.random.Generator,
    resamples: int = 1000,
    noise: bool = False,
) -> Fit:
    """OLS of ``y`` on ``t`` and ``resamples`` bootstrap fits (method.md section 8).

    With ``noise``, every resampled value is shifted by log10 of a factor drawn
    log-uniformly from [1/2, 2] (the paper's per-estimate error).
    """
    n = len(t)
    if n < MIN_WINDOW_SYSTEMS or np.ptp(t) == 0:
        raise InputError(
            f"window {window.name}: {n} system(s) with distinct dates; need at least "
            f"{MIN_WINDOW_SYSTEMS}"
        )
    slope, intercept = kernels.ols_fit(t, y)
    resid = y - (intercept + slope * t)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    idx = rng.integers(0, n, size=(resamples, n))
    shift = rng.uniform(-_LOG10_2, _LOG10_2, size=(resamples, n)) if noise else np.empty((0, n))
    boot = np.empty(resamples)
    kernels.bootstrap_slopes(t, y, idx, shift, boot)
    yb = y[idx] + (shift if noise else 0.0)
    boot_intercept = yb.mean(axis=1) - boot * t[idx].mean(axis=1)
    return Fit(window, n, float(t.min()), float(t.max()), float(slope), float(intercept), r2,
               boot, boot_intercept)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Break:
    """A single trend against two separately fitted groups ("before" and "after").

    The groups are the two sides of a date (a break in time) or two classes of
    systems over the same dates (a separate trend for large-scale systems).
    ``f_stat``, ``p_value``: the Chow test (k = 2 parameters per group).
    ``delta_bic``: BIC(single) - BIC(two groups); positive favours two trends
    (above 10 is "very strong" on Kass and Raftery's scale).
    """

    name: str
    split: str
    n_before: int
    n_after: int
    slope_before: float
    slope_after: float
    slope_single: float
    f_stat: float
    p_value: float
    delta_bic: float


def break_test(
    name: str,
    t: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    after: npt.NDArray[np.bool_],
    /,
    *,
    split: str = "",
) -> Break:
    """Chow test and BIC comparison: one OLS line for all, or one per group."""
    before = ~after
    if before.sum() < MIN_WINDOW_SYSTEMS or after.sum() < MIN_WINDOW_SYSTEMS:
        raise InputError(f"break {name}: need {MIN_WINDOW_SYSTEMS} systems in each group")

    def rss(tt: npt.NDArray[np.float64], yy: npt.NDArray[np.float64]) -> tuple[float, float]:
        s, c = kernels.ols_fit(tt, yy)
        return float(np.sum((yy - c - s * tt) ** 2)), float(s)

    rss_all, s_all = rss(t, y)
    rss_1, s_1 = rss(t[before], y[before])
    rss_2, s_2 = rss(t[after], y[after])
    n, k = len(t), 2
    rss_split = rss_1 + rss_2
    if rss_split > 0:
        f_stat = ((rss_all - rss_split) / k) / (rss_split / (n - 2 * k))
    else:  # both groups exactly on their lines: any misfit of one line is decisive
        f_stat = math.inf if rss_all > 0 else math.nan
    p_value = float(stats.f.sf(f_stat, k, n - 2 * k))

    def bic(r: float, p: int) -> float:
        return n * math.log(r / n) + p * math.log(n) if r > 0 else -math.inf

    return Break(name, split, int(before.sum()), int(after.sum()), s_1, s_2, s_all,
                 float(f_stat), p_value, bic(rss_all, 2) - bic(rss_split, 4))  # fmt: skip


def _breaks(kept: Systems, cls: npt.NDArray[np.int64], cutoff: dt.date | None) -> list[Break]:
    """The two transitions of the Three Eras paper, as measured claims.

    1. 2010: pre-DL (1952 on) and DL-era systems on one line or two (time split).
    2. 2015-09, in time: DL-era systems before and after AlphaGo Fan on one line or two.
    3. 2015-09, by class: after it, large-scale and regular-scale systems on one line or
       two (the paper's claim is a separate, higher trend, not a kink in one trend).
    Low outliers are left out of all three.
    """
    usable = (cls != _LOW) & (kept.year >= 1952)
    t, y, c = kept.year[usable], kept.log10_compute[usable], cls[usable]
    dl = t >= decimal_year(DL_START)
    era = t >= decimal_year(ALPHAGO_FAN_ERA)
    tests = [
        ("2010 (pre-DL to DL)", t, y, dl, "time at 2010-01-01"),
        ("2015-09 in time (all DL systems)", t[dl], y[dl], era[dl], "time at 2015-09-01"),
        ("2015-09 by class (large vs regular)", t[era], y[era], c[era] == _LARGE,
         "large-scale vs regular-scale, 2015-09 on"),
    ]  # fmt: skip
    out = []
    for name, tt, yy, after, split in tests:
        try:
            out.append(break_test(name, tt, yy, after, split=split))
        except InputError:  # too few systems on one side: reported as not testable
            nan = math.nan
            n1, n2 = int((~after).sum()), int(after.sum())
            out.append(Break(name, split, n1, n2, nan, nan, nan, nan, nan, nan))
    return out


@dataclasses.dataclass(frozen=True)
class TrendAnalysis:
    """Everything ``projector trends`` reports for one dataset."""

    systems: Systems
    cutoff: dt.date | None
    z_score: npt.NDArray[np.float64]
    scale_class: npt.NDArray[np.int64]
    fits: list[Fit]
    breaks: list[Break]
    rule: ScaleRule
    resamples: int
    noise: bool
    seed: int


def analyse(
    systems: Systems,
    /,
    *,
    cutoff: dt.date | None = None,
    windows: list[Window] | None = None,
    rule: ScaleRule = ScaleRule(),
    resamples: int = 1000,
    noise: bool = False,
    seed: int = 0,
) -> TrendAnalysis:
    """Fit every window, class every system and test the two transitions.

    Systems are cut off at ``cutoff`` and kept one per paper first (method.md 1).
    Lower bounds (``systems.censored``) are left out of every fit and of the scale
    classes: a floor is not a figure to regress on. Each window draws from its own
    stream (``SeedSequence(seed, spawn_key=(i,))``), so adding a window leaves the
    others' intervals unchanged.
    """
    kept = systems.uncensored().until(cutoff).one_per_paper()
    z, cls = classify(kept, rule)
    fits = []
    for i, window in enumerate(windows if windows is not None else standard_windows()):
        mask = _select(kept, cls, window, cutoff)
        values = (
            kept.log10_compute
            if window.quantity == "compute"
            else np.log10(np.where(mask, kept.parameters, 1.0))
        )
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))
        t, y = kept.year[mask], values[mask]
        if len(t) < MIN_WINDOW_SYSTEMS or np.ptp(t) == 0:
            nan = np.full(resamples, np.nan)
            fits.append(Fit(window, len(t), math.nan, math.nan, math.nan, math.nan, math.nan,
                            nan, nan))  # fmt: skip
            continue
        fits.append(fit_window(t, y, window, rng=rng, resamples=resamples, noise=noise))
    breaks = _breaks(kept, cls, cutoff)
    return TrendAnalysis(kept, cutoff, z, cls, fits, breaks, rule, resamples, noise, seed)


def open_trends(folder: str | Path, /) -> xr.Dataset:
    """The trends a ``projector trends`` folder holds (its ``trends.nc``), loaded in memory.

    Dims: ``window``, ``draw``, ``system`` (:func:`projector.model.trends_cube.trends_to_dataset`).
    """
    import xarray as xr

    path = Path(folder) / "trends.nc"
    if not path.is_file():
        raise InputError(f"{folder}: no trends.nc (give the folder a `projector` command wrote)")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
