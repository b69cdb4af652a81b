"""Measuring FLOP, the backward-forward ratio and utilization empirically (GitHub issue 13).

Dependency direction: ``estimate`` and ``hardware`` -> ``measure`` -> ``projector.cli.measure``.
Inside: ``models`` (the networks) -> ``counting`` (the framework's counter and the compiled
graphs) -> ``ratio`` (the backward-forward ratio and the analytic cross-check) and
``utilization`` (peaks, step times) -> ``experiments`` (one model, a sweep).
PyTorch is an optional extra (``pip install 'projector[measure]'``) and is imported only
inside the functions here, never at ``import projector``.

Reproduces two experiments of Epoch's *Trends in ML* sequence: Hobbhahn & Sevilla,
*What's the backward-forward FLOP ratio for neural networks?* (2021) and Hobbhahn,
Sevilla et al., *How to measure FLOP/s for neural networks empirically?* (2021).

How the counting works:

- ``torch.utils.flop_counter.FlopCounterMode`` counts the matrix-multiply class of
  operations (``mm``, ``addmm``, ``bmm``, convolution, attention kernels) per module,
  in the forward and the backward pass (the backward part is the count after
  ``loss.backward()`` minus the count after the forward pass). The conversion to
  projector's convention (one multiply-add = 2 FLOP) is not assumed but calibrated
  on a 1 x 1 x 1 matrix product (:func:`flop_per_counted_unit`).
- Element-wise operations (ReLU, GELU, tanh, sigmoid, add, mul, div, dropout,
  max-pooling, and the optimiser's update) are not in the framework's table; they are
  counted here at 1 FLOP per element (2 for an ``add`` with a scale factor ``alpha``),
  max-pooling at 1 FLOP per input element. They are reported separately.
- The analytic cross-check counts the same network with :mod:`projector.curation.estimate`,
  layer by layer (:func:`projector.curation.estimate.parse_layer`), and flags a relative
  difference beyond :data:`TOLERANCE`.
"""

from __future__ import annotations

from projector.curation import estimate as estimate
from projector.curation.measure.counting import (
    Measurement,
    add_graph_counts,
    count_graph,
    count_step,
    flop_per_counted_unit,
)
from projector.curation.measure.experiments import measure_model, sweep
from projector.curation.measure.models import (
    ARCHITECTURE_HELP,
    ARCHITECTURES,
    EXTRA_MESSAGE,
    Built,
    build_model,
    require_torch,
)
from projector.curation.measure.ratio import TOLERANCE, layer_rows, network_estimate, summary_row
from projector.curation.measure.utilization import (
    Peak,
    Timing,
    chip_for_device_name,
    measure_peak,
    time_step,
)

__all__ = [
    "ARCHITECTURES",
    "ARCHITECTURE_HELP",
    "EXTRA_MESSAGE",
    "TOLERANCE",
    "Built",
    "Measurement",
    "Peak",
    "Timing",
    "add_graph_counts",
    "build_model",
    "chip_for_device_name",
    "count_graph",
    "count_step",
    "flop_per_counted_unit",
    "layer_rows",
    "measure_model",
    "measure_peak",
    "network_estimate",
    "require_torch",
    "summary_row",
    "sweep",
    "time_step",
]
