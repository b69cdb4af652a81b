"""An uncertain truth for backtests: the realised frontier as a distribution, not a point.

Dependency direction: ``inputs.systems`` -> ``truth`` -> ``backtest``. No I/O.

A snapshot's compute figures are estimates, and later snapshots revise them. Scored
against the point truth, a hindcast is judged on the estimates as one snapshot states
them; here it is judged on what the truth could be. Each *truth draw* redraws every
row's log10 compute once,

    x_i + s_i z_i + r w_i,    z_i, w_i ~ N(0, 1) independent,

with ``s_i`` the row's stated uncertainty (``Systems.log10_uncertainty_sd``: the
bundled ``uncertainty_factor`` or Epoch's ``Confidence`` label read as the 90% interval
[C/f, C f]; only with ``uncertainty``; a row with none stated keeps s_i = 0) and ``r``
the per-row revision noise [OOM]. The realised frontier of a draw is the running maximum
of its rows, so a draw is one alternative history: every case and every method is scored
against the same draws (paired). Lower-bound rows are drawn like the others.

The draws come from their own stream, ``SeedSequence([seed, TRUTH_TAG])``: a list entropy
that no hindcast stream (``SeedSequence(seed, spawn_key=...)``) shares, so the hindcasts
are the same with or without an uncertain truth.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.systems import Systems

__all__ = ["TRUTH_DRAWS", "FrontierDraws", "TruthModel", "frontier_draws", "truth_rng"]

#: Truth draws per backtest (each a whole alternative history of the truth data).
TRUTH_DRAWS = 200
#: Second entropy word of the truth draws' stream ("trut").
TRUTH_TAG = 0x74727574


@dataclasses.dataclass(frozen=True)
class TruthModel:
    """How the truth is read: each row's stated uncertainty (``uncertainty``), a per-row
    revision noise of sd ``revision_sd`` [OOM], and the number of truth ``draws``.

    With neither, the truth is the point frontier of the stated estimates.
    """

    uncertainty: bool = False
    revision_sd: float = 0.0
    draws: int = TRUTH_DRAWS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.revision_sd) and self.revision_sd >= 0):
            raise InputError(
                "--revision-noise: the revision noise's sd must be a finite number >= 0 "
                f"[OOM], got {self.revision_sd:g}"
            )
        if self.draws < 1:
            raise InputError(f"--truth-draws: expected a number >= 1, got {self.draws}")

    @property
    def point(self) -> bool:
        """True when the truth is the point frontier (nothing drawn)."""
        return not self.uncertainty and self.revision_sd == 0

    def check(self, truth: Systems, /) -> None:
        """Refuse an uncertainty that the truth data cannot supply."""
        if self.uncertainty and not np.isfinite(truth.log10_uncertainty_sd).any():
            raise InputError(
                f"{truth.label}: --truth-uncertainty needs each estimate's uncertainty, but no "
                "row has one (no 'uncertainty_factor' or 'Confidence' values) to draw from"
            )

    def describe(self, truth: Systems, /, *, seed: int) -> str:
        """backtest.md's line on the truth mode."""
        if self.point:
            return "truth mode: point (each row's stated estimate)"
        parts = []
        if self.uncertainty:
            stated = int(np.isfinite(truth.log10_uncertainty_sd).sum())
            parts.append(
                f"each row's stated uncertainty (sd of log10 compute from its confidence "
                f"interval; {stated} of {len(truth)} rows state one, the others are kept at "
                "their estimate)"
            )
        if self.revision_sd > 0:
            parts.append(f"a revision noise N(0, {self.revision_sd:g} OOM) on every row")
        return (
            f"truth mode: uncertain: {' and '.join(parts)}; {self.draws} truth draws (seed "
            f"{seed}), each row redrawn once per draw and the frontier its running maximum; "
            "every score is the average over the draws (misses and the PIT histogram are "
            "expected counts)"
        )


def truth_rng(seed: int, /) -> np.random.Generator:
    """The truth draws' own stream (see the module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, TRUTH_TAG])))


@dataclasses.dataclass(frozen=True)
class FrontierDraws:
    """Running maxima of the truth draws: ``best[k, j]`` is the frontier of draw k just
    after the j-th row (rows by publication year)."""

    published: npt.NDArray[np.float64]  # decimal years, sorted
    best: npt.NDArray[np.float64]  # (draw, row) [log10 FLOP]

    def at(self, year: float, /) -> npt.NDArray[np.float64]:
        """The frontier of every draw at a decimal year (draw,); -inf before the first row.

        The same rule as :func:`projector.inputs.frontier.frontier_at`.
        """
        k = int(np.searchsorted(self.published, year + 1e-9, side="right"))
        if k == 0:
            return np.full(self.best.shape[0], -np.inf)
        return self.best[:, k - 1].copy()

    def band(
        self, years: npt.ArrayLike, /, q: tuple[float, float] = (0.05, 0.95)
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Quantiles ``q`` of the draws' frontier at each year (for the figure)."""
        t = np.asarray(years, dtype=np.float64)
        k = np.searchsorted(self.published, t + 1e-9, side="right")
        values = np.where(k > 0, self.best[:, np.maximum(k - 1, 0)], -np.inf)
        lo, hi = np.quantile(values, q, axis=0)
        return lo, hi


def frontier_draws(
    truth: Systems, /, model: TruthModel, *, rng: np.random.Generator
) -> FrontierDraws:
    """Draw ``model.draws`` alternative histories of the truth data (module docstring).

    Every draw takes its normals in the same order (one (draws, rows) block for the stated
    uncertainty, then one for the revision noise, rows by publication year), so the draws
    depend only on the seed, the data and the model.
    """
    order = np.argsort(truth.year, kind="stable")
    x = truth.log10_compute[order]
    values = np.broadcast_to(x, (model.draws, x.size)).copy()
    if model.uncertainty:
        sd = np.nan_to_num(truth.log10_uncertainty_sd[order], nan=0.0)
        values += sd * rng.standard_normal((model.draws, x.size))
    if model.revision_sd > 0:
        values += model.revision_sd * rng.standard_normal((model.draws, x.size))
    return FrontierDraws(truth.year[order], np.maximum.accumulate(values, axis=1))
