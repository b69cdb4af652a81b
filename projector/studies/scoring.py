"""Scores of a backtest: per case (PIT, band coverage, CRPS) and per method and horizon,
with block-bootstrap intervals that resample whole cut-offs.

Dependency direction: ``scoringrules`` -> ``scoring`` -> ``backtest``. Cases that share a
cut-off share its data and its paths, so the intervals resample cut-offs, not cases:
the cases of a drawn cut-off come together (a block bootstrap). Cases of neighbouring
cut-offs still overlap (one jump of the frontier seen from several), so the intervals
are, if anything, too narrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError

if TYPE_CHECKING:
    from projector.studies.backtest import Backtest

__all__ = [
    "BOOTSTRAP_DRAWS",
    "COLUMNS",
    "DRAW_COLUMNS",
    "PIT_BINS",
    "score",
    "score_draws",
    "summarise",
]

#: Block-bootstrap draws behind each interval, from a fixed seed (so intervals repeat).
BOOTSTRAP_DRAWS = 1000
#: Bins of the PIT histogram.
PIT_BINS = 10


#: Columns of backtest.csv, in order (the first 13 are the issue's contract).
COLUMNS = (
    "method",
    "cutoff",
    "horizon",
    "realised",
    "median",
    "q025",
    "q25",
    "q75",
    "q975",
    "pit",
    "in_50",
    "in_95",
    "crps",
    "frontier_at_cutoff",
    "members",
    "q05",
    "q95",
    "in_90",
)
#: Columns added after :data:`COLUMNS` when the truth is uncertain (:func:`score_draws`):
#: the point truth, the sd of the truth draws, the chance of a miss above / below the
#: 95% band, and the number of truth draws.
DRAW_COLUMNS = ("realised_point", "realised_sd", "above_95", "below_95", "truth_draws")


def score(members: npt.ArrayLike, realised: float, /) -> dict[str, float]:
    """Scores of one ensemble forecast against the realised value (all in log10 FLOP).

    ``pit`` is the fraction of members below reality, ties counted half (so a point
    forecast that is exactly right has PIT 0.5); ``in_50``/``in_90``/``in_95`` are 1 when
    reality lies inside the central 50% / 90% / 95% band (bounds included); ``crps`` is the ensemble
    CRPS from ``scoringrules`` (its quantile-decomposition estimator, which equals the
    empirical-distribution CRPS E|X - y| - E|X - X'| / 2; the absolute error for a
    point forecast).
    """
    from projector.extras import require

    scoringrules = require("scoringrules", "studies", "backtest scores (CRPS)")

    x = np.sort(np.asarray(members, dtype=np.float64).ravel())
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise InputError("backtest: an ensemble is empty or has non-finite members")
    q025, q05, q25, median, q75, q95, q975 = np.quantile(
        x, [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975]
    )
    below = np.searchsorted(x, realised, side="left")
    equal = np.searchsorted(x, realised, side="right") - below
    crps = float(scoringrules.crps_ensemble(realised, x, estimator="qd", sorted_ensemble=True))
    return {
        "realised": float(realised),
        "median": float(median),
        "q025": float(q025),
        "q25": float(q25),
        "q75": float(q75),
        "q975": float(q975),
        "pit": float((below + 0.5 * equal) / x.size),
        "in_50": int(q25 <= realised <= q75),
        "in_95": int(q025 <= realised <= q975),
        "q05": float(q05),
        "q95": float(q95),
        "in_90": int(q05 <= realised <= q95),
        "crps": crps,
        "members": int(x.size),
    }


def score_draws(members: npt.ArrayLike, realised: npt.ArrayLike, /) -> dict[str, Any]:
    """Scores of one ensemble against an uncertain truth: :func:`score` averaged over the
    truth draws ``realised`` (draw,) [log10 FLOP].

    ``crps`` is the expected CRPS under the truth's distribution, ``pit`` the mean PIT,
    ``in_50``/``in_90``/``in_95`` the chance that the truth lies in the band (fractions,
    not 0/1), ``above_95``/``below_95`` the chance of a miss above / below it, and
    ``pit_hist`` the share of the draws in each of the :data:`PIT_BINS` bins (so the
    summary's histogram counts expected cases). ``realised`` becomes the draws' mean and
    ``realised_sd`` their sd. With every draw at the same value this is :func:`score`.
    """
    from projector.extras import require

    scoringrules = require("scoringrules", "studies", "backtest scores (CRPS)")

    y = np.asarray(realised, dtype=np.float64).ravel()
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise InputError("backtest: the truth draws are empty or not finite")
    out: dict[str, Any] = score(members, float(y[0]))
    x = np.sort(np.asarray(members, dtype=np.float64).ravel())
    below = np.searchsorted(x, y, side="left")
    equal = np.searchsorted(x, y, side="right") - below
    pit = (below + 0.5 * equal) / x.size
    # One call over all draws: the same estimator, element by element, as score()'s.
    crps = scoringrules.crps_ensemble(
        y, np.broadcast_to(x, (y.size, x.size)), estimator="qd", sorted_ensemble=True
    )
    q = {k: out[k] for k in ("q025", "q05", "q25", "q75", "q95", "q975")}
    out.update(
        # About the first draw: exact (mean y[0], sd 0) when every draw is the same.
        realised=float(y[0] + np.mean(y - y[0])),
        realised_sd=float(np.std(y - y[0])),
        pit=float(np.mean(pit)),
        in_50=float(np.mean((q["q25"] <= y) & (y <= q["q75"]))),
        in_90=float(np.mean((q["q05"] <= y) & (y <= q["q95"]))),
        in_95=float(np.mean((q["q025"] <= y) & (y <= q["q975"]))),
        above_95=float(np.mean(y > q["q975"])),
        below_95=float(np.mean(y < q["q025"])),
        crps=float(np.mean(crps)),
        truth_draws=int(y.size),
        pit_hist=(np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))[0] / y.size).tolist(),
    )
    return out


def _interval(
    values: npt.NDArray[np.float64], blocks: npt.NDArray[np.int64], rng: np.random.Generator
) -> tuple[float, float]:
    """90% interval of the mean of ``values`` when whole blocks (cut-offs) are resampled."""
    ids = np.unique(blocks)
    members = [values[blocks == b] for b in ids]
    sums = np.array([m.sum() for m in members])
    counts = np.array([m.size for m in members])
    draw = rng.integers(0, ids.size, size=(BOOTSTRAP_DRAWS, ids.size))
    means = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    lo, hi = np.quantile(means, [0.05, 0.95])
    return float(lo), float(hi)


def _misses(sel: list[dict[str, Any]], key: str, miss: Any) -> int | float:
    """Cases outside the 95% band on one side: a count, or with an uncertain truth (the
    rows carry the chance of a miss) the expected count."""
    if sel and key in sel[0]:
        return float(sum(r[key] for r in sel))
    return int(sum(miss(r) for r in sel))


def _pit_hist(
    bt: Backtest, sel: list[dict[str, Any]], pit: npt.NDArray[np.float64]
) -> list[int] | list[float]:
    """The PIT histogram: counts of cases, or with an uncertain truth the expected counts
    (each case's share of truth draws per bin, summed)."""
    if bt.pit_hists:
        keys = [(r["method"], r["cutoff"], r["horizon"]) for r in sel]
        return np.sum([bt.pit_hists[k] for k in keys], axis=0).tolist()
    return np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))[0].tolist()


def summarise(bt: Backtest, /) -> list[dict[str, Any]]:
    """Per method and horizon (and ``all``): cases, mean CRPS, coverage of the 50%, 90% and
    95% bands, misses above and below the 95% band, the mean PIT and its histogram
    (:data:`PIT_BINS` bins, counts), the median's error, and 90% block-bootstrap intervals
    (``*_lo``, ``*_hi``) of the mean CRPS and the coverages.

    ``bias`` is the mean of median - realised [OOM]; ``rmse`` its root mean square.
    """
    out = []
    horizons = sorted({r["horizon"] for r in bt.rows})
    for method in bt.methods:
        mine = [r for r in bt.rows if r["method"] == method]
        for h in [*horizons, None]:
            sel = [r for r in mine if h is None or r["horizon"] == h]
            if not sel:
                continue
            err = np.array([r["median"] - r["realised"] for r in sel])
            pit = np.array([r["pit"] for r in sel])
            blocks = np.unique([r["cutoff"] for r in sel], return_inverse=True)[1]
            row: dict[str, Any] = {
                "method": method,
                "horizon": "all" if h is None else h,
                "cases": len(sel),
                "cutoffs": int(blocks.max()) + 1,
                "crps": float(np.mean([r["crps"] for r in sel])),
                "cover_50": float(np.mean([r["in_50"] for r in sel])),
                "cover_90": float(np.mean([r["in_90"] for r in sel])),
                "cover_95": float(np.mean([r["in_95"] for r in sel])),
                "above_95": _misses(sel, "above_95", lambda r: r["realised"] > r["q975"]),
                "below_95": _misses(sel, "below_95", lambda r: r["realised"] < r["q025"]),
                "mean_pit": float(pit.mean()),
                "pit_hist": _pit_hist(bt, sel, pit),
                "bias": float(err.mean()),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "width_95": float(np.mean([r["q975"] - r["q025"] for r in sel])),
            }
            rng = np.random.default_rng(0)  # the same draws for every method: paired
            for key, col in (("crps", "crps"), ("cover_50", "in_50"), ("cover_90", "in_90"),
                             ("cover_95", "in_95")):  # fmt: skip
                values = np.array([float(r[col]) for r in sel])
                row[f"{key}_lo"], row[f"{key}_hi"] = _interval(values, blocks, rng)
            out.append(row)
    return out
