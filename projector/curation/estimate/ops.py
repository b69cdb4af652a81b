"""Method 1, counting operations: ``6 N D`` and the layer-by-layer count.

Dependency direction: ``units`` -> ``ops`` -> ``inputs`` and :mod:`projector.curation.measure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from projector.curation.estimate.units import (
    DEFAULT_BACKWARD_RATIO,
    _check,
    _finite,
    macs_to_flop,
)
from projector.errors import InputError


def ops_dense(
    params: float, tokens: float, /, *, backward_ratio: float = DEFAULT_BACKWARD_RATIO
) -> float:
    """Training FLOP of a dense network or transformer: ``2 N (1 + r) D`` [FLOP].

    Parameters
    ----------
    params
        Parameters used per token N (for mixture-of-experts, the active ones).
    tokens
        Tokens (or examples, for a dense net) processed in training, all epochs D.
    backward_ratio
        Backward/forward FLOP ratio r; 2 gives ``6 N D``.
    """
    _check("params", params)
    _check("tokens", tokens)
    _check("backward_ratio", backward_ratio, positive=False)
    return _finite(2.0 * params * (1.0 + backward_ratio) * tokens)


def ops_per_example(
    forward_flop: float,
    examples: float,
    /,
    *,
    epochs: float = 1.0,
    backward_ratio: float = DEFAULT_BACKWARD_RATIO,
) -> float:
    """Training FLOP from the forward cost of one example: ``F (1 + r) n e`` [FLOP]."""
    _check("forward_flop", forward_flop)
    _check("examples", examples)
    _check("epochs", epochs)
    _check("backward_ratio", backward_ratio, positive=False)
    return _finite(forward_flop * (1.0 + backward_ratio) * examples * epochs)


@dataclasses.dataclass(frozen=True)
class Dense:
    """Fully connected layer: ``n_in x n_out`` multiply-adds per example."""

    n_in: int
    n_out: int

    def forward_flop(self) -> float:
        return macs_to_flop(self.n_in * self.n_out)

    def params(self) -> float:
        return float(self.n_in * self.n_out + self.n_out)


@dataclasses.dataclass(frozen=True)
class Conv2d:
    """2-D convolution on a square ``size x size`` input.

    Output side ``(size + 2 padding - kernel) // stride + 1``; each output position of
    each output channel costs ``(in_channels / groups) x kernel^2`` multiply-adds: a
    grouped convolution (``groups`` > 1, e.g. AlexNet's two-GPU layers, or a depthwise
    one with ``groups = in_channels``) connects each output channel to its group's inputs
    only.
    """

    in_channels: int
    out_channels: int
    kernel: int
    size: int
    stride: int = 1
    padding: int = 0
    groups: int = 1

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise InputError(f"conv layer {self}: stride must be a positive whole number")
        if self.padding < 0:
            raise InputError(f"conv layer {self}: padding must be >= 0")
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise InputError(
                f"conv layer {self}: groups must be a whole number >= 1 that divides both "
                "channel counts"
            )

    def out_size(self) -> int:
        side = (self.size + 2 * self.padding - self.kernel) // self.stride + 1
        if side < 1:
            raise InputError(f"conv layer {self}: kernel larger than the padded input")
        return side

    def forward_flop(self) -> float:
        positions = self.out_size() ** 2 * self.out_channels
        return macs_to_flop(positions * (self.in_channels // self.groups) * self.kernel**2)

    def params(self) -> float:
        return float(self.out_channels * (self.in_channels // self.groups * self.kernel**2 + 1))


@dataclasses.dataclass(frozen=True)
class Recurrent:
    """Recurrent layer unrolled over ``steps`` time steps.

    Each step multiplies ``[input, hidden]`` by ``gates`` weight matrices: 1 for a plain
    RNN, 3 for a GRU, 4 for an LSTM.
    """

    n_in: int
    hidden: int
    steps: int
    gates: int = 1

    def forward_flop(self) -> float:
        per_step = self.gates * (self.n_in + self.hidden) * self.hidden
        return macs_to_flop(per_step * self.steps)

    def params(self) -> float:
        return float(self.gates * ((self.n_in + self.hidden) * self.hidden + self.hidden))


@dataclasses.dataclass(frozen=True)
class Attention:
    """Multi-head self-attention over a sequence of ``seq_len`` tokens (one example).

    The Q, K, V and output projections cost ``4 d^2`` multiply-adds per token; the
    scores ``Q K^T`` and the weighted sum ``A V`` cost ``seq_len x context x d`` each.
    ``context`` is the number of keys each query attends to (``seq_len`` by default;
    about half of it for causal attention if the kernel skips masked blocks).
    """

    d_model: int
    seq_len: int
    context: int | None = None

    def forward_flop(self) -> float:
        ctx = self.seq_len if self.context is None else self.context
        projections = 4 * self.d_model**2 * self.seq_len
        mixing = 2 * self.seq_len * ctx * self.d_model
        return macs_to_flop(projections + mixing)

    def params(self) -> float:
        return float(4 * (self.d_model**2 + self.d_model))


@dataclasses.dataclass(frozen=True)
class Embedding:
    """Embedding table: a lookup, zero FLOP, ``vocab x dim`` parameters."""

    vocab: int
    dim: int

    def forward_flop(self) -> float:
        return 0.0

    def params(self) -> float:
        return float(self.vocab * self.dim)


Layer = Dense | Conv2d | Recurrent | Attention | Embedding

_LAYER_SYNTAX = {
    "dense": (Dense, "dense:IN,OUT"),
    "conv": (Conv2d, "conv:IN_CH,OUT_CH,KERNEL,SIZE[,STRIDE[,PADDING[,GROUPS]]]"),
    "rnn": (Recurrent, "rnn:IN,HIDDEN,STEPS[,GATES]"),
    "lstm": (Recurrent, "lstm:IN,HIDDEN,STEPS"),
    "gru": (Recurrent, "gru:IN,HIDDEN,STEPS"),
    "attention": (Attention, "attention:D_MODEL,SEQ_LEN[,CONTEXT]"),
    "embedding": (Embedding, "embedding:VOCAB,DIM"),
}

#: One line per layer kind, for ``--help``.
LAYER_HELP = "; ".join(syntax for _, syntax in _LAYER_SYNTAX.values())


def parse_layer(spec: str, /) -> Layer:
    """Parse ``kind:a,b,...`` (see :data:`LAYER_HELP`) into a layer.

    Raises
    ------
    InputError
        Unknown kind, wrong number of fields, or a field that is not a positive integer.
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in _LAYER_SYNTAX:
        raise InputError(f"layer {spec!r}: unknown kind {kind!r}; expected one of: {LAYER_HELP}")
    cls, syntax = _LAYER_SYNTAX[kind]
    try:
        fields = [int(f) for f in rest.split(",")]
    except ValueError:
        raise InputError(f"layer {spec!r}: expected whole numbers, as in {syntax}") from None
    if any(f < 0 for f in fields) or any(f == 0 for f in fields[:3]):
        raise InputError(f"layer {spec!r}: sizes must be positive, as in {syntax}")
    if kind == "conv" and len(fields) > 4 and fields[4] == 0:
        raise InputError(f"layer {spec!r}: the stride must be at least 1, as in {syntax}")
    n_required = syntax.split(":")[1].split("[")[0].count(",") + 1
    n_max = syntax.count(",") + 1
    if not n_required <= len(fields) <= n_max:
        raise InputError(f"layer {spec!r}: expected {syntax}")
    if kind == "lstm":
        fields.append(4)
    elif kind == "gru":
        fields.append(3)
    return cls(*fields)


def ops_layers(
    layers: Sequence[Layer],
    examples: float,
    /,
    *,
    epochs: float = 1.0,
    backward_ratio: float = DEFAULT_BACKWARD_RATIO,
    first_layer_backward_ratio: float = 1.0,
    batch_size: float | None = None,
    update_flop_per_param: float = 2.0,
) -> tuple[float, float, float]:
    """Training FLOP of a network described layer by layer.

    The first layer's backward pass computes only weight gradients (ratio
    ``first_layer_backward_ratio``, 1 by default); every other layer uses
    ``backward_ratio``. With ``batch_size``, each optimiser step also costs
    ``update_flop_per_param`` FLOP per parameter (2 for plain SGD), spread over the
    batch: this is the term that dominates for tiny batches.

    Returns
    -------
    (total_flop, forward_flop_per_example, params)
    """
    if not layers:
        raise InputError("at least one layer is needed")
    _check("examples", examples)
    _check("epochs", epochs)
    _check("backward_ratio", backward_ratio, positive=False)
    _check("first_layer_backward_ratio", first_layer_backward_ratio, positive=False)
    forward = [layer.forward_flop() for layer in layers]
    params = sum(layer.params() for layer in layers)
    ratios = [first_layer_backward_ratio] + [backward_ratio] * (len(layers) - 1)
    per_example = sum(f * (1.0 + r) for f, r in zip(forward, ratios, strict=True))
    if batch_size is not None:
        _check("batch_size", batch_size)
        _check("update_flop_per_param", update_flop_per_param, positive=False)
        per_example += update_flop_per_param * params / batch_size
    return _finite(per_example * examples * epochs), _finite(sum(forward)), params
