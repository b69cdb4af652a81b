"""FLOP ceilings on one training run from its constraints: power, chips, money, data.

Dependency direction: a leaf of ``model`` (NumPy only); it takes plain arrays, so the
engine can draw the constraint parameters per path (from ``inputs.constraints``) and
call these on arrays of shape ``(path,)`` or ``(path, year)``. Every function
broadcasts its inputs and returns their broadcast shape; none adds or removes a
dimension except :func:`binding`, which reduces a leading constraint axis.

The power and chips ceilings follow the arithmetic of Sevilla et al., *Can AI scaling
continue through 2030?* (Epoch AI, 2024-08-20,
https://epoch.ai/blog/can-ai-scaling-continue-through-2030): the FLOP/s a run can draw
on, times the fraction of peak it achieves (MFU), times how long it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHINCHILLA_TOKENS_PER_PARAMETER",
    "SECONDS_PER_DAY",
    "binding",
    "chips",
    "data",
    "money",
    "power",
]

SECONDS_PER_DAY = 86_400.0
#: Compute-optimal tokens per parameter (Hoffmann et al. 2022, arXiv:2203.15556).
CHINCHILLA_TOKENS_PER_PARAMETER = 20.0

Array = npt.NDArray[np.float64]


def _f(x: npt.ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def power(
    power_w: npt.ArrayLike,
    efficiency_flop_per_s_per_w: npt.ArrayLike,
    mfu: npt.ArrayLike,
    duration_s: npt.ArrayLike,
    /,
) -> Array:
    """Power ceiling ``C = P_run * efficiency * MFU * T_run`` [FLOP].

    Parameters
    ----------
    power_w
        All-in facility power available to the run [W] (chips, servers, network,
        cooling: what the grid supplies).
    efficiency_flop_per_s_per_w
        Peak FLOP/s per W of that all-in power [FLOP/s/W], at the precision ``mfu`` is
        measured against (FP8 in the bundled table).
    mfu
        Model FLOP utilization, the achieved fraction of peak [1].
    duration_s
        Wall-clock duration of the run [s].

    Notes
    -----
    Sevilla et al. 2024 (module docstring): "a 5 GW power supply ... would allow for
    training runs of 2e29 FLOP by 2030" (tested in ``tests/test_constraints.py``).
    """
    return _f(power_w) * _f(efficiency_flop_per_s_per_w) * _f(mfu) * _f(duration_s)


def chips(
    n_h100e: npt.ArrayLike,
    share_run: npt.ArrayLike,
    peak_flop_per_s: npt.ArrayLike,
    mfu: npt.ArrayLike,
    duration_s: npt.ArrayLike,
    /,
) -> Array:
    """Chips ceiling ``C = N_H100e * share_run * F_peak * MFU * T_run`` [FLOP].

    Parameters
    ----------
    n_h100e
        Stock of AI chips [H100-equivalents].
    share_run
        Fraction of the stock one run uses [1].
    peak_flop_per_s
        Peak FLOP/s of one H100-equivalent [FLOP/s] (1.979e15 dense FP8 for an H100;
        the stock is counted in H100s, so this is the H100's peak unless the stock
        is counted in newer chips).
    mfu
        Model FLOP utilization [1].
    duration_s
        Wall-clock duration of the run [s].
    """
    return _f(n_h100e) * _f(share_run) * _f(peak_flop_per_s) * _f(mfu) * _f(duration_s)


def money(budget_usd: npt.ArrayLike, flop_per_usd: npt.ArrayLike, /) -> Array:
    """Money ceiling ``C = budget * price-performance`` [FLOP].

    Parameters
    ----------
    budget_usd
        Spend on the run [USD] (amortized hardware and energy, as Cottier et al. 2024,
        arXiv:2405.21015, count it).
    flop_per_usd
        Training FLOP delivered per dollar [FLOP/USD]. As the bundled table defines
        it (rented accelerator-hours), it already includes utilization (MFU) and
        does not depend on the duration: a longer run costs more dollars, not fewer
        FLOP per dollar. A FLOP/s-per-dollar of hardware (Epoch's price-performance
        trend) would need MFU and the hardware's amortization period on top.
    """
    return _f(budget_usd) * _f(flop_per_usd)


def data(
    tokens: npt.ArrayLike,
    /,
    *,
    tokens_per_parameter: float = CHINCHILLA_TOKENS_PER_PARAMETER,
) -> Array:
    """Data ceiling: the compute-optimal FLOP for ``D`` training tokens [FLOP].

    ``C = 6 N D`` (Kaplan et al. 2020, arXiv:2001.08361) with ``D = 20 N``
    (Hoffmann et al. 2022, arXiv:2203.15556), so ``C = 6 D^2 / 20 = 0.3 D^2``.

    Parameters
    ----------
    tokens
        Training tokens available [token].
    tokens_per_parameter
        Tokens per parameter of the compute-optimal model [1] (default 20).
    """
    d = _f(tokens)
    return 6.0 * d * d / tokens_per_parameter


def binding(ceilings: Sequence[npt.ArrayLike] | Array, /) -> npt.NDArray[np.intp]:
    """Index of the smallest (binding) ceiling per path and year.

    Parameters
    ----------
    ceilings
        A sequence of ceilings [FLOP] broadcastable to one shape, or one array whose
        first axis is the constraint. NaN means "not modelled" and never binds.

    Returns
    -------
    The index along the constraint axis, in the broadcast shape without that axis
    (ties go to the first). Where every ceiling is NaN the index is 0.
    """
    if isinstance(ceilings, np.ndarray):
        stacked = ceilings.astype(np.float64, copy=False)
    else:
        stacked = np.stack(np.broadcast_arrays(*[_f(c) for c in ceilings]))
    return np.argmin(np.where(np.isnan(stacked), np.inf, stacked), axis=0)
