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

__all__ = ["BOOTSTRAP_DRAWS", "COLUMNS", "PIT_BINS", "score", "summarise"]

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
                "above_95": int(sum(r["realised"] > r["q975"] for r in sel)),
                "below_95": int(sum(r["realised"] < r["q025"] for r in sel)),
                "mean_pit": float(pit.mean()),
                "pit_hist": np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))[0].tolist(),
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
