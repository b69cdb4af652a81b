"""The backward-forward ratio and the analytic cross-check of a counted step.

Dependency direction: ``counting`` -> ``ratio`` -> ``experiments``: the measured counts set
against :mod:`projector.curation.estimate`, layer by layer and for the whole network.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from projector.curation import estimate
from projector.curation.measure.counting import Measurement, _relative

if TYPE_CHECKING:
    from projector.curation.measure.utilization import Timing

#: Relative difference between measured and analytic forward/backward FLOP that is flagged.
TOLERANCE = 0.05


def _flag(ratio: float, tolerance: float) -> bool:
    return not (math.isfinite(ratio) and abs(ratio - 1.0) <= tolerance)


def _first_counted(m: Measurement, /) -> str:
    """The first layer that costs FLOP (an embedding table costs none)."""
    for path, spec, _ in m.layers:
        if estimate.parse_layer(spec).forward_flop() > 0:
            return path
    return ""


def layer_rows(m: Measurement, /, *, tolerance: float = TOLERANCE) -> list[dict[str, Any]]:
    """One row per counted layer: measured and analytic forward/backward FLOP per step.

    Layers with an :mod:`projector.curation.estimate` spec are compared with it (the first layer
    with backward ratio 1, the others 2, as :func:`projector.curation.estimate.ops_layers`
    assumes), on their matrix-multiply-class count (the element-wise operations inside
    a layer, such as an LSTM's gates, are not in the estimate); element-wise layers
    (ReLU, GELU, dropout, pooling) are listed with their measured ratio only.
    """
    spec_of = {path: (spec, uses) for path, spec, uses in m.layers}
    first = m.layers[0][0] if m.layers else ""  # as ops_layers: the first in the list
    rows: list[dict[str, Any]] = []
    for name, (fwd, bwd) in m.modules.items():
        kind = m.module_kinds[name]
        if name not in spec_of and kind not in _ELEMENTWISE_MODULES:
            continue
        row: dict[str, Any] = {
            "layer": name,
            "kind": kind,
            "spec": "",
            "forward_flop": fwd,
            "backward_flop": bwd,
            "ratio": bwd / fwd if fwd else math.nan,
        }
        if name in spec_of:
            spec, uses = spec_of[name]
            ew_fwd, ew_bwd = m.modules_elementwise[name]
            est_fwd = estimate.parse_layer(spec).forward_flop() * uses * m.batch
            est_bwd = est_fwd * (1.0 if name == first else estimate.DEFAULT_BACKWARD_RATIO)
            row |= {
                "spec": spec if uses == 1 else f"{spec} x{uses}",
                "estimate_forward_flop": est_fwd,
                "estimate_backward_flop": est_bwd,
                "forward_vs_estimate": _relative(fwd - ew_fwd, est_fwd),
                "backward_vs_estimate": _relative(bwd - ew_bwd, est_bwd),
            }
            row["mismatch"] = bool(est_fwd) and (
                _flag(row["forward_vs_estimate"], tolerance)
                or _flag(row["backward_vs_estimate"], tolerance)
            )
        rows.append(row)
    return rows


_ELEMENTWISE_MODULES = frozenset({"ReLU", "GELU", "Dropout", "MaxPool2d"})


def network_estimate(m: Measurement, /) -> tuple[float, float, float]:
    """The analytic forward, backward and SGD-update FLOP of one step of ``m``'s network.

    From :func:`projector.curation.estimate.ops_layers` on the layer specs (a layer applied per
    token is repeated once per token): forward = the layers' forward FLOP x batch;
    backward = ratio 1 for the first layer, 2 for the others; update = 2 FLOP per
    parameter (the estimator's default ``update_flop_per_param``).
    """
    layers = [estimate.parse_layer(spec) for _, spec, uses in m.layers for _ in range(uses)]
    total, forward, _ = estimate.ops_layers(layers, float(m.batch))
    forward_step = forward * m.batch
    return forward_step, total - forward_step, 2.0 * m.params


def summary_row(
    m: Measurement, /, *, tolerance: float = TOLERANCE, timing: Timing | None = None
) -> dict[str, Any]:
    """The whole-network row: counts, ratios, the cross-check and (if timed) utilization.

    ``forward_vs_estimate`` and ``backward_vs_estimate`` compare the framework's
    matrix-multiply-class count (element-wise FLOP excluded) with the analytic count;
    ``mismatch`` is True when either is off by more than ``tolerance``.
    """
    est_fwd, est_bwd, est_upd = network_estimate(m)
    matmul_fwd = m.forward_flop - m.elementwise[0]
    matmul_bwd = m.backward_flop - m.elementwise[1]
    first_fwd, first_bwd = m.modules.get(_first_counted(m), (0.0, 0.0))
    row: dict[str, Any] = {
        "arch": m.arch,
        "depth": m.depth,
        "batch": m.batch,
        "params": m.params,
        "forward_flop": m.forward_flop,
        "backward_flop": m.backward_flop,
        "ratio": m.ratio,
        "optimizer_flop": m.optimizer_flop,
        "ratio_with_update": m.ratio_with_update,
        "elementwise_forward_flop": m.elementwise[0],
        "elementwise_backward_flop": m.elementwise[1],
        "first_layer_ratio": first_bwd / first_fwd if first_fwd else math.nan,
        "estimate_forward_flop": est_fwd,
        "estimate_backward_flop": est_bwd,
        "estimate_ratio": est_bwd / est_fwd if est_fwd else math.nan,
        "forward_vs_estimate": _relative(matmul_fwd, est_fwd),
        "backward_vs_estimate": _relative(matmul_bwd, est_bwd),
        "optimizer_vs_estimate": _relative(m.optimizer_flop, est_upd),
        "flop_per_counted_unit": m.conversion,
    }
    row["mismatch"] = _flag(row["forward_vs_estimate"], tolerance) or _flag(
        row["backward_vs_estimate"], tolerance
    )
    if timing is not None:
        step_flop = m.forward_flop + m.backward_flop + m.optimizer_flop
        peak = timing.peak.flop_per_s
        row |= {
            "seconds": timing.seconds,
            "seconds_median": timing.seconds_median,
            "flop_per_s": step_flop / timing.seconds,
            "peak_flop_per_s": peak,
            "utilization": step_flop / timing.seconds / peak,
            # the same time judged with the analytic count, for when the framework mis-counts
            "estimate_utilization": (est_fwd + est_bwd + est_upd) / timing.seconds / peak,
            "peak_source": timing.peak.source,
        }
    return row
