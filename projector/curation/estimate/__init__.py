"""Estimating a system's training compute from what its paper reports (method.md 9).

Dependency direction: ``hardware`` -> ``estimate`` -> ``data`` (which recomputes its
estimated rows with it) and ``cli``.

Two methods, after Sevilla et al., *Estimating training compute of deep learning
models* (Epoch, 2022):

1. **Counting operations.** Training FLOP = forward FLOP x (1 + backward/forward ratio)
   x examples x epochs. For dense networks and transformers the forward pass costs
   2 FLOP per parameter per token, giving the familiar ``6 N D``. Networks described
   layer by layer are counted per layer (:class:`Dense`, :class:`Conv2d`,
   :class:`Recurrent`, :class:`Attention`, :class:`Embedding`).
2. **Hardware time.** Training FLOP = chips x hours x 3600 x peak FLOP/s (at the
   precision used) x utilization.

Convention: one multiply-add (MAC) is two FLOP, as in vendors' peak figures; some
profilers count a MAC as one. One petaFLOP/s-day is 8.64e19 FLOP.

The backward/forward ratio defaults to 2 (the backward pass computes gradients with
respect to both the activations and the weights, each costing about one forward
pass). Change it when:

- the network is dominated by its first layer: the first layer needs no gradient
  with respect to its input, so its ratio is 1 (applied automatically in layer-by-layer
  counts, ``first_layer_backward_ratio``);
- batches are tiny (online learning, batch size 1-10): the weight update, which costs
  a few FLOP per parameter per *step*, is no longer negligible against the per-example
  cost; give ``batch_size`` to add it;
- the system is not trained by backpropagation (perceptron rules, evolution, search):
  use a ratio of 0 and say how the update was counted.

Inside: ``units`` -> ``ops`` (method 1) and ``gpu`` (method 2) -> ``inputs`` (the bundled
dataset's estimation inputs).
"""

from __future__ import annotations

from projector.curation.estimate.gpu import gpu_time
from projector.curation.estimate.inputs import compute_from_inputs, parse_inputs
from projector.curation.estimate.ops import (
    LAYER_HELP,
    Attention,
    Conv2d,
    Dense,
    Embedding,
    Layer,
    Recurrent,
    ops_dense,
    ops_layers,
    ops_per_example,
    parse_layer,
)
from projector.curation.estimate.units import (
    DEFAULT_BACKWARD_RATIO,
    FLOP_PER_MAC,
    FLOP_PER_PFLOPS_DAY,
    UTILIZATION_LLM,
    UTILIZATION_OTHER,
    flop_to_macs,
    flop_to_pflops_days,
    macs_to_flop,
    parse_count,
    pflops_days_to_flop,
)

__all__ = [
    "DEFAULT_BACKWARD_RATIO",
    "FLOP_PER_MAC",
    "FLOP_PER_PFLOPS_DAY",
    "LAYER_HELP",
    "UTILIZATION_LLM",
    "UTILIZATION_OTHER",
    "Attention",
    "Conv2d",
    "Dense",
    "Embedding",
    "Layer",
    "Recurrent",
    "compute_from_inputs",
    "flop_to_macs",
    "flop_to_pflops_days",
    "gpu_time",
    "macs_to_flop",
    "ops_dense",
    "ops_layers",
    "ops_per_example",
    "parse_count",
    "parse_inputs",
    "parse_layer",
    "pflops_days_to_flop",
]
