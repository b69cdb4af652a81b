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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from projector.curation.hardware import find_chip, peak_flop_per_s
from projector.errors import InputError

__all__ = [
    "DEFAULT_BACKWARD_RATIO",
    "FLOP_PER_MAC",
    "FLOP_PER_PFLOPS_DAY",
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

FLOP_PER_MAC = 2.0
FLOP_PER_PFLOPS_DAY = 1e15 * 86_400.0  # 8.64e19
DEFAULT_BACKWARD_RATIO = 2.0
UTILIZATION_LLM = 0.30
UTILIZATION_OTHER = 0.40


# --- units -------------------------------------------------------------------------


def macs_to_flop(macs: float, /) -> float:
    """Multiply-adds to FLOP (one multiply-add = 2 FLOP)."""
    return macs * FLOP_PER_MAC


def flop_to_macs(flop: float, /) -> float:
    """FLOP to multiply-adds."""
    return flop / FLOP_PER_MAC


def pflops_days_to_flop(pflops_days: float, /) -> float:
    """petaFLOP/s-days to FLOP (x 8.64e19)."""
    return pflops_days * FLOP_PER_PFLOPS_DAY


def flop_to_pflops_days(flop: float, /) -> float:
    """FLOP to petaFLOP/s-days."""
    return flop / FLOP_PER_PFLOPS_DAY


_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_count(text: str, /) -> float:
    """A count as people write it: ``3k``, ``1.5M``, ``70B``, ``2T``, ``1.4e12``, ``1,720,320``.

    Suffixes (case-insensitive): k = 1e3, M = 1e6, B or G = 1e9, T = 1e12.

    Raises
    ------
    InputError
        Not a number, or not finite (``inf``, ``nan``, or too large for a float).
    """
    clean = text.strip().replace(",", "").replace("_", "")
    scale = 1.0
    if clean and clean[-1].lower() in _SUFFIXES:
        scale = _SUFFIXES[clean[-1].lower()]
        clean = clean[:-1]
    try:
        value = float(clean) * scale
    except ValueError:
        raise InputError(
            f"expected a number such as 70B, 1.5M, 3k or 1.4e12, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"expected a finite number, got {text!r}")
    return value


def _finite(flop: float, /) -> float:
    """A training compute that overflowed is an input error, not ``inf`` FLOP."""
    if not math.isfinite(flop):
        raise InputError(
            "the estimate overflows (is not a finite number of FLOP): check the inputs' sizes"
        )
    return flop


def _check(name: str, value: float, *, positive: bool = True) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "> 0" if positive else ">= 0"
        raise InputError(f"{name} must be a finite number {need}, got {value:g}")
    return value


# --- method 1: counting operations ---------------------------------------------------


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
    each output channel costs ``in_channels x kernel^2`` multiply-adds.
    """

    in_channels: int
    out_channels: int
    kernel: int
    size: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise InputError(f"conv layer {self}: stride must be a positive whole number")
        if self.padding < 0:
            raise InputError(f"conv layer {self}: padding must be >= 0")

    def out_size(self) -> int:
        side = (self.size + 2 * self.padding - self.kernel) // self.stride + 1
        if side < 1:
            raise InputError(f"conv layer {self}: kernel larger than the padded input")
        return side

    def forward_flop(self) -> float:
        positions = self.out_size() ** 2 * self.out_channels
        return macs_to_flop(positions * self.in_channels * self.kernel**2)

    def params(self) -> float:
        return float(self.out_channels * (self.in_channels * self.kernel**2 + 1))


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
    "conv": (Conv2d, "conv:IN_CH,OUT_CH,KERNEL,SIZE[,STRIDE[,PADDING]]"),
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


# --- method 2: hardware time ----------------------------------------------------------


def gpu_time(
    chip: str,
    count: float,
    hours: float,
    /,
    *,
    precision: str | None = None,
    utilization: float | None = None,
    llm: bool = False,
) -> tuple[float, str, float]:
    """Training FLOP from hardware time: ``count x hours x 3600 x peak x utilization``.

    Parameters
    ----------
    chip
        An accelerator in ``accelerators.csv`` (see :mod:`projector.curation.hardware`).
    count
        Chips (not TPU cores) used for the whole run.
    hours
        Wall-clock training time [h]; or chip-hours with ``count=1``.
    precision
        Numeric format; by default the chip's bf16, else fp16, else fp32 peak.
    utilization
        Fraction of peak achieved (model FLOP utilization); by default 0.30 for large
        language models (``llm=True``) and 0.40 otherwise.

    Returns
    -------
    (flop, precision used, utilization used)
    """
    acc = find_chip(chip)
    _check("count", count)
    _check("hours", hours)
    prec = acc.default_precision() if precision is None else precision.lower()
    peak = peak_flop_per_s(acc.chip, prec)
    if utilization is None:
        utilization = UTILIZATION_LLM if llm else UTILIZATION_OTHER
    if not 0 < utilization <= 1:
        raise InputError(f"utilization must be in (0, 1], got {utilization:g}")
    return _finite(count * hours * 3600.0 * peak * utilization), prec, utilization


# --- the bundled dataset's estimation inputs ------------------------------------------


def parse_inputs(text: str, /) -> dict[str, str]:
    """Parse a dataset ``inputs`` cell: ``key=value`` pairs separated by ``; ``."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"inputs: expected key=value, got {part!r}")
        out[key.strip()] = value.strip()
    return out


def _number(inputs: Mapping[str, str], key: str, default: float | None = None) -> float:
    if key not in inputs:
        if default is None:
            raise InputError(f"inputs: missing {key!r}")
        return default
    try:
        value = float(inputs[key])
    except ValueError:
        raise InputError(f"inputs: {key} must be a number, got {inputs[key]!r}") from None
    if not math.isfinite(value):
        raise InputError(f"inputs: {key} must be a finite number, got {inputs[key]!r}")
    return value


def compute_from_inputs(
    method: str, inputs: Mapping[str, str], /, *, base_flop: float | None = None
) -> float | None:
    """Recompute an estimated row of the bundled dataset [FLOP].

    ``ops`` rows hold ``params, tokens`` (form A) or ``forward_flop, examples, epochs``
    (form B), each with an optional ``backward_ratio``; ``gpu_time`` rows hold ``chip,
    count, hours, precision, utilization``. ``reported`` and ``third_party`` rows are
    not estimates of ours and give None.

    A derivative (a system trained further from another row's model, e.g. Minerva from
    PaLM) names it with ``base=SYSTEM`` and gives the *additional* training in the usual
    keys, or none when the source does not state it (the figure is then a lower bound);
    its compute is ``base_flop`` (the base row's compute, which the caller looks up)
    plus that additional training.
    """
    if method in ("reported", "third_party"):
        return None
    if "base" in inputs:
        if base_flop is None:
            raise InputError(f"inputs: base={inputs['base']!r} needs the base system's compute")
        own = {k: v for k, v in inputs.items() if k != "base"}
        return base_flop + (_additional(method, own) if own else 0.0)
    return _additional(method, inputs)


def _additional(method: str, inputs: Mapping[str, str], /) -> float:
    ratio = _number(inputs, "backward_ratio", DEFAULT_BACKWARD_RATIO)
    if method == "ops":
        if "params" in inputs and "tokens" in inputs:
            return ops_dense(
                _number(inputs, "params"), _number(inputs, "tokens"), backward_ratio=ratio
            )
        if "forward_flop" in inputs:
            return ops_per_example(
                _number(inputs, "forward_flop"),
                _number(inputs, "examples"),
                epochs=_number(inputs, "epochs", 1.0),
                backward_ratio=ratio,
            )
        raise InputError("inputs: ops needs params and tokens, or forward_flop and examples")
    if method == "gpu_time":
        if "chip" not in inputs:
            raise InputError("inputs: gpu_time needs chip")
        flop, _, _ = gpu_time(
            inputs["chip"],
            _number(inputs, "count"),
            _number(inputs, "hours"),
            precision=inputs.get("precision"),
            utilization=_number(inputs, "utilization"),
        )
        return flop
    raise InputError(
        f"compute_method must be reported, ops, gpu_time or third_party, got {method!r}"
    )
