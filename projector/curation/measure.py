"""Measuring FLOP, the backward-forward ratio and utilization empirically (GitHub issue 13).

Dependency direction: ``estimate`` and ``hardware`` -> ``measure`` -> ``measure_cli``.
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

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from projector.curation import estimate
from projector.curation.hardware import accelerators
from projector.errors import InputError

__all__ = [
    "ARCHITECTURES",
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

#: The architectures ``projector measure`` can build.
ARCHITECTURES: tuple[str, ...] = ("mlp", "cnn", "dwcnn", "rnn", "lstm", "lstm-fused", "transformer")
_ARCH_HELP = (
    "mlp (dense layers + ReLU), cnn (3x3 convolutions + ReLU, max-pool, dense head), "
    "dwcnn (MobileNet-style depthwise-separable blocks), rnn and lstm (unrolled cells "
    "built from dense layers), lstm-fused (torch.nn.LSTM, whose fused CPU kernel the "
    "framework's counter misses), transformer (token embedding + pre-norm blocks)"
)
#: Relative difference between measured and analytic forward/backward FLOP that is flagged.
TOLERANCE = 0.05
EXTRA_MESSAGE = (
    "measure needs PyTorch, the 'measure' extra: pip install 'projector[measure]' "
    "(on a CPU-only machine install torch==2.13.0 first: a bare torch may pull a CUDA build)"
)


def require_torch() -> Any:
    """Import and return :mod:`torch`, or raise :class:`InputError` naming the extra."""
    try:
        import torch
    except ImportError:
        raise InputError(EXTRA_MESSAGE) from None
    return torch


# --- models --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Built:
    """A model, its input and its layers in :func:`projector.curation.estimate.parse_layer` syntax.

    ``layers`` holds ``(module path, spec, uses per example)`` in network order: the
    module path as ``FlopCounterMode`` names it (the root class name, then the attribute
    path), and how many times the layer is applied per example (1, or the number of
    tokens for a dense layer of a transformer, which the estimator counts per token).
    The first entry is the layer without an input gradient.
    """

    arch: str
    depth: int
    model: Any
    make_input: Callable[[int], Any]
    layers: tuple[tuple[str, str, int], ...]
    notes: str = ""


def _check_size(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def build_model(
    arch: str,
    depth: int,
    /,
    *,
    width: int | None = None,
    seq_len: int | None = None,
    image_size: int = 32,
    seed: int = 0,
) -> Built:
    """Build one of :data:`ARCHITECTURES` with ``depth`` layers (or blocks) on the CPU.

    Parameters
    ----------
    arch
        Architecture name (see :data:`ARCHITECTURES`).
    depth
        Weight layers (mlp, cnn), blocks (dwcnn, transformer) or stacked cells (rnn, lstm).
    width
        Hidden width: units (mlp, default 256), channels (cnn 16, dwcnn 32), hidden
        size (rnn, lstm 128), model dimension (transformer 128).
    seq_len
        Time steps (rnn, lstm, default 16) or tokens (transformer, default 64).
    image_size
        Side of the square input image of cnn and dwcnn [pixels].
    seed
        Seed of the weight initialisation (counts do not depend on it).

    Raises
    ------
    InputError
        Unknown architecture, or a size that is not a whole number >= 1.
    """
    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; expected one of: {_ARCH_HELP}")
    _check_size("depth", depth)
    torch = require_torch()
    torch.manual_seed(seed)
    builder = _BUILDERS[arch]
    return builder(torch, arch, depth, width, seq_len, _check_size("image size", image_size))


def _mlp(torch: Any, arch: str, depth: int, width: int | None, _s: Any, _i: int) -> Built:
    nn = torch.nn
    w = _check_size("width", 256 if width is None else width)
    mods: list[Any] = []
    layers = []
    for k in range(depth):
        mods.append(nn.Linear(w, w))
        layers.append((f"Sequential.{len(mods) - 1}", f"dense:{w},{w}", 1))
        if k < depth - 1:
            mods.append(nn.ReLU())
    model = nn.Sequential(*mods)
    return Built(arch, depth, model, lambda b: torch.randn(b, w), tuple(layers))


def _cnn(torch: Any, arch: str, depth: int, width: int | None, _s: Any, size: int) -> Built:
    nn = torch.nn
    c = _check_size("width", 16 if width is None else width)
    mods: list[Any] = []
    layers = []
    for k in range(depth):
        mods.append(nn.Conv2d(3 if k == 0 else c, c, 3, padding=1))
        spec = f"conv:{3 if k == 0 else c},{c},3,{size},1,1"
        layers.append((f"Sequential.{len(mods) - 1}", spec, 1))
        mods.append(nn.ReLU())
    mods += [nn.MaxPool2d(2), nn.Flatten()]
    side = size // 2
    mods.append(nn.Linear(c * side * side, 10))
    layers.append((f"Sequential.{len(mods) - 1}", f"dense:{c * side * side},10", 1))
    model = nn.Sequential(*mods)
    return Built(arch, depth, model, lambda b: torch.randn(b, 3, size, size), tuple(layers))


def _dwcnn(torch: Any, arch: str, depth: int, width: int | None, _s: Any, size: int) -> Built:
    nn = torch.nn
    c = _check_size("width", 32 if width is None else width)
    mods: list[Any] = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
    layers = [("Sequential.0", f"conv:3,{c},3,{size},1,1", 1)]
    for _ in range(depth - 1):
        # A depthwise 3x3 convolution costs what conv:1,C,3,SIZE costs (one input channel
        # per output channel), followed by a pointwise 1x1 convolution.
        mods += [nn.Conv2d(c, c, 3, padding=1, groups=c), nn.ReLU()]
        layers.append((f"Sequential.{len(mods) - 2}", f"conv:1,{c},3,{size},1,1", 1))
        mods += [nn.Conv2d(c, c, 1), nn.ReLU()]
        layers.append((f"Sequential.{len(mods) - 2}", f"conv:{c},{c},1,{size}", 1))
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)]
    layers.append((f"Sequential.{len(mods) - 1}", f"dense:{c},10", 1))
    model = nn.Sequential(*mods)
    notes = "depthwise 3x3 convolutions are counted as conv:1,C,3,SIZE (same multiply-adds)"
    return Built(arch, depth, model, lambda b: torch.randn(b, 3, size, size), tuple(layers), notes)


def _recurrent(torch: Any, arch: str, depth: int, width: int | None, s: Any, _i: int) -> Built:
    nn = torch.nn
    h = _check_size("width", 128 if width is None else width)
    steps = _check_size("sequence length", 16 if s is None else s)
    gates = 4 if arch.startswith("lstm") else 1
    kind = "lstm" if gates == 4 else "rnn"

    class Cell(nn.Module):  # type: ignore[name-defined]
        """One recurrent layer unrolled over time, from two dense layers."""

        def __init__(self) -> None:
            super().__init__()
            self.ih = nn.Linear(h, gates * h)
            self.hh = nn.Linear(h, gates * h, bias=False)

        def forward(self, x: Any) -> Any:
            batch = x.shape[0]
            pre = self.ih(x)  # all time steps in one product: same multiply-adds
            state = x.new_zeros(batch, h)
            cell = x.new_zeros(batch, h)
            outs = []
            for t in range(steps):
                z = pre[:, t] + self.hh(state)
                if gates == 1:
                    state = torch.tanh(z)
                else:
                    i, f, g, o = z.chunk(4, dim=1)
                    cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
                    state = torch.sigmoid(o) * torch.tanh(cell)
                outs.append(state)
            return torch.stack(outs, dim=1)

    class Net(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            if arch == "lstm-fused":
                self.rnn = nn.LSTM(h, h, num_layers=depth, batch_first=True)
            else:
                self.rnn = nn.Sequential(*(Cell() for _ in range(depth)))
            self.head = nn.Linear(h, 10)

        def forward(self, x: Any) -> Any:
            out = self.rnn(x)
            out = out[0] if isinstance(out, tuple) else out
            return self.head(out[:, -1])

    if arch == "lstm-fused":
        # nn.LSTM is one module; count_step shares its count among the stacked layers.
        layers = [(f"Net.rnn#{k}", f"lstm:{h},{h},{steps}", 1) for k in range(depth)]
        notes = "torch.nn.LSTM runs one fused kernel (mkldnn_rnn_layer on CPU)"
    else:
        layers = [(f"Net.rnn.{k}", f"{kind}:{h},{h},{steps}", 1) for k in range(depth)]
        notes = ""
    layers.append(("Net.head", f"dense:{h},10", 1))
    return Built(arch, depth, Net(), lambda b: torch.randn(b, steps, h), tuple(layers), notes)


def _transformer(torch: Any, arch: str, depth: int, width: int | None, s: Any, _i: int) -> Built:
    nn = torch.nn
    d = _check_size("width", 128 if width is None else width)
    seq = _check_size("sequence length", 64 if s is None else s)
    heads = 4 if d % 4 == 0 else 1
    vocab = 256

    class Attention(nn.Module):  # type: ignore[name-defined]
        """Multi-head self-attention written out, so every product is visible."""

        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)

        def forward(self, x: Any) -> Any:
            b, n, _ = x.shape
            q, k, v = self.qkv(x).view(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // heads))
            mixed = scores.softmax(dim=-1) @ v
            return self.out(mixed.transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, 4 * d)
            self.act = nn.GELU()
            self.drop = nn.Dropout(0.1)
            self.fc2 = nn.Linear(4 * d, d)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.fc2(self.drop(self.act(self.fc1(self.ln2(x)))))

    class Net(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.blocks = nn.Sequential(*(Block() for _ in range(depth)))
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.norm(self.blocks(self.embed(tokens))))

    layers = [("Net.embed", f"embedding:{vocab},{d}", 1)]
    for k in range(depth):
        layers += [
            (f"Net.blocks.{k}.attn", f"attention:{d},{seq}", 1),
            (f"Net.blocks.{k}.fc1", f"dense:{d},{4 * d}", seq),
            (f"Net.blocks.{k}.fc2", f"dense:{4 * d},{d}", seq),
        ]
    layers.append(("Net.head", f"dense:{d},{vocab}", seq))
    notes = f"{heads} heads, full (non-causal) attention, vocabulary {vocab}"
    return Built(
        arch, depth, Net(), lambda b: torch.randint(0, vocab, (b, seq)), tuple(layers), notes
    )


_BUILDERS: dict[str, Callable[..., Built]] = {
    "mlp": _mlp,
    "cnn": _cnn,
    "dwcnn": _dwcnn,
    "rnn": _recurrent,
    "lstm": _recurrent,
    "lstm-fused": _recurrent,
    "transformer": _transformer,
}


# --- counting --------------------------------------------------------------------------


def _numel(shape: Any) -> int:
    if isinstance(shape, (tuple, list)) and shape and not isinstance(shape[0], int):
        shape = shape[0]  # ops returning (output, indices) or (output, mask)
    return math.prod(int(n) for n in shape)


def _per_element(*_args: Any, out_shape: Any = None, **_kwargs: Any) -> int:
    return _numel(out_shape)


def _per_input_element(x_shape: Any, *_args: Any, **_kwargs: Any) -> int:
    return _numel(x_shape)


def _scaled_add(*_args: Any, out_shape: Any = None, alpha: Any = 1, **_kwargs: Any) -> int:
    # x + alpha * y: one multiply more per element when alpha is not 1 (SGD's update)
    return _numel(out_shape) * (1 if alpha == 1 else 2)


def _elementwise_mapping(torch: Any) -> dict[Any, Callable[..., int]]:
    aten = torch.ops.aten
    mapping: dict[Any, Callable[..., int]] = {}
    for name in (
        "relu",
        "threshold_backward",
        "gelu",
        "gelu_backward",
        "tanh",
        "tanh_backward",
        "sigmoid",
        "sigmoid_backward",
        "mul",
        "mul_",
        "div",
        "div_",
        "native_dropout_backward",
    ):
        mapping[getattr(aten, name)] = _per_element
    for name in ("add", "add_"):
        mapping[getattr(aten, name)] = _scaled_add
    for name in ("native_dropout", "max_pool2d_with_indices"):
        mapping[getattr(aten, name)] = _per_input_element
    mapping[aten.max_pool2d_with_indices_backward] = _per_element
    return mapping


def flop_per_counted_unit() -> float:
    """FLOP (one multiply-add = 2) per unit that ``FlopCounterMode`` reports.

    Calibrated on a 1 x 1 x 1 matrix product, which is exactly one multiply-add, so
    the result does not rest on the framework's documentation.
    """
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    a = torch.ones(1, 1)
    with FlopCounterMode(display=False) as counter:
        torch.mm(a, a)
    counted = counter.get_total_flops()
    if counted <= 0:
        raise InputError("FlopCounterMode counted nothing for a matrix product")
    return estimate.FLOP_PER_MAC / counted


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Counts of one training step (and optionally its time) [FLOP, s].

    ``modules`` maps a module path to ``(forward, backward)`` FLOP, counting everything
    inside that module (so parents include their children); ``modules_elementwise``
    gives the element-wise part of each, and ``elementwise`` that of the network totals.
    """

    arch: str
    depth: int
    batch: int
    params: int
    forward_flop: float
    backward_flop: float
    optimizer_flop: float
    elementwise: tuple[float, float]
    modules: dict[str, tuple[float, float]]
    modules_elementwise: dict[str, tuple[float, float]]
    module_kinds: dict[str, str]
    conversion: float
    layers: tuple[tuple[str, str, int], ...]
    notes: str = ""

    @property
    def ratio(self) -> float:
        """Backward/forward FLOP ratio of the whole network."""
        return self.backward_flop / self.forward_flop if self.forward_flop else math.nan

    @property
    def ratio_with_update(self) -> float:
        """(Backward + optimiser update)/forward: the weight update is paid once per step."""
        if not self.forward_flop:
            return math.nan
        return (self.backward_flop + self.optimizer_flop) / self.forward_flop


def count_step(built: Built, batch: int, /) -> Measurement:
    """Count the FLOP of one SGD training step of ``built`` with ``batch`` examples.

    The forward pass, the backward pass (``loss.backward()``) and the optimiser update
    (``torch.optim.SGD.step``, learning rate only) are counted separately. The loss is a
    plain sum of the outputs (its own cost is not counted).
    """
    _check_size("batch", batch)
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    model = built.model
    model.train()
    elementwise = _elementwise_mapping(torch)
    is_elementwise = elementwise.__contains__
    conversion = flop_per_counted_unit()
    x = built.make_input(batch)
    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False, custom_mapping=elementwise) as counter:
        loss = model(x).sum()
        after_forward = counter.get_flop_counts()
        loss.backward()
        after_backward = counter.get_flop_counts()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, foreach=False)
    with FlopCounterMode(display=False, custom_mapping=elementwise) as counter:
        optimizer.step()
        opt_counts = counter.get_flop_counts().get("Global", {})
    model.zero_grad(set_to_none=True)

    def unit(op: Any) -> float:
        # the framework's own formulas need the conversion; projector's are in FLOP
        return 1.0 if op in elementwise else conversion

    def flop(counts: dict[Any, int], keep: Callable[[Any], bool]) -> float:
        return sum(v * unit(op) for op, v in counts.items() if keep(op))

    def split(name: str, keep: Callable[[Any], bool]) -> tuple[float, float]:
        fwd = flop(after_forward.get(name, {}), keep)
        return fwd, flop(after_backward.get(name, {}), keep) - fwd

    def every(_op: Any) -> bool:
        return True

    fwd, bwd = split("Global", every)
    root = type(model).__name__
    modules = {}
    modules_ew = {}
    kinds = {}
    for path, module in model.named_modules():
        name = root if not path else f"{root}.{path}"
        modules[name] = split(name, every)
        modules_ew[name] = split(name, is_elementwise)
        kinds[name] = type(module).__name__
    if built.arch == "lstm-fused":
        # nn.LSTM is one module: share its count equally among the stacked layers.
        for table in (modules, modules_ew):
            f, b = table[f"{root}.rnn"]
            for k in range(built.depth):
                table[f"{root}.rnn#{k}"] = (f / built.depth, b / built.depth)
        for k in range(built.depth):
            kinds[f"{root}.rnn#{k}"] = "LSTM layer"
    params = sum(p.numel() for p in model.parameters())
    return Measurement(
        arch=built.arch,
        depth=built.depth,
        batch=batch,
        params=int(params),
        forward_flop=fwd,
        backward_flop=bwd,
        optimizer_flop=flop(opt_counts, every),
        elementwise=split("Global", is_elementwise),
        modules=modules,
        modules_elementwise=modules_ew,
        module_kinds=kinds,
        conversion=conversion,
        layers=built.layers,
        notes=built.notes,
    )


def count_graph(built: Built, batch: int, /) -> tuple[float, float, int]:
    """Count forward and backward FLOP from the compiled graphs of one training step.

    ``torch.compile`` with an AOTAutograd backend that runs nothing but hands over the
    forward and the backward graph of ATen operations; each call node is counted with
    ``FlopCounterMode``'s own formulas on the shapes recorded in the graph. This reads
    the same formulas as :func:`count_step` but a different path (the traced graph,
    with the backward pass split off by the partitioner, instead of module hooks and a
    subtraction), so the two must agree on the matrix-multiply class.

    Returns
    -------
    (forward [FLOP], backward [FLOP], number of graphs compiled); NaN counts when no
    graph was compiled (seen with ``torch.nn.LSTM`` on the CPU, torch 2.13).
    """
    _check_size("batch", batch)
    torch = require_torch()
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd
    from torch.utils.flop_counter import flop_registry

    conversion = flop_per_counted_unit()
    totals = {"forward": 0.0, "backward": 0.0}
    graphs = [0]

    def value(a: Any) -> Any:
        return a.meta["val"] if isinstance(a, torch.fx.Node) else a

    def counter(which: str) -> Callable[[Any, Any], Any]:
        def compile_graph(gm: Any, _inputs: Any) -> Any:
            graphs[0] += 1
            for node in gm.graph.nodes:
                packet = getattr(node.target, "overloadpacket", None)
                formula = flop_registry.get(packet) if node.op == "call_function" else None
                if formula is not None:
                    args = torch.utils._pytree.tree_map(value, node.args)
                    kwargs = torch.utils._pytree.tree_map(value, node.kwargs)
                    flop = formula(*args, **kwargs, out_val=node.meta.get("val"))
                    totals[which] += flop * conversion
            return make_boxed_func(gm.forward)

        return compile_graph

    backend = aot_autograd(fw_compiler=counter("forward"), bw_compiler=counter("backward"))
    model = built.model
    model.train()
    torch._dynamo.reset()
    try:
        compiled = torch.compile(model, backend=backend)
        compiled(built.make_input(batch)).sum().backward()
    finally:
        torch._dynamo.reset()
        model.zero_grad(set_to_none=True)
    if not graphs[0]:
        return math.nan, math.nan, 0
    return totals["forward"], totals["backward"], graphs[0]


def add_graph_counts(row: dict[str, Any], built: Built, /) -> dict[str, Any]:
    """``row`` with the compiled-graph counts and their ratio to the counter's (see
    :func:`count_graph`); the counter's side is its matrix-multiply class."""
    fwd, bwd, graphs = count_graph(built, int(row["batch"]))
    counter_fwd = row["forward_flop"] - row["elementwise_forward_flop"]
    counter_bwd = row["backward_flop"] - row["elementwise_backward_flop"]
    return row | {
        "graph_forward_flop": fwd,
        "graph_backward_flop": bwd,
        "graphs": graphs,
        "graph_forward_vs_counter": _relative(fwd, counter_fwd),
        "graph_backward_vs_counter": _relative(bwd, counter_bwd),
    }


# --- the analytic cross-check ------------------------------------------------------------


def _relative(measured: float, analytic: float) -> float:
    """measured / analytic (NaN when the analytic count is 0)."""
    return measured / analytic if analytic else math.nan


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


# --- timing and peaks -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Peak:
    """A peak throughput [FLOP/s] and how it was obtained.

    ``matmul_size`` is the side of the benchmark's matrices for a measured peak (which
    :func:`time_step` re-reads between training steps), 0 for a datasheet figure.
    """

    flop_per_s: float
    source: str
    device: str
    matmul_size: int = 0


@dataclasses.dataclass(frozen=True)
class Timing:
    """Best wall-clock time of one training step [s] and the peak it is judged against.

    ``seconds_median`` is the median over the same ``repeats`` steps.
    """

    seconds: float
    seconds_median: float
    repeats: int
    peak: Peak


def chip_for_device_name(name: str, /) -> str | None:
    """The accelerator table's chip named inside a device name, or None.

    ``"NVIDIA A100-SXM4-40GB"`` gives ``"A100"``; the longest chip name found wins.
    """
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    found = [a.chip for k, a in accelerators().items() if k and k in key]
    return max(found, key=len) if found else None


def measure_peak(
    *, device: str = "cpu", size: int = 2048, repeats: int = 10, chip: str | None = None
) -> Peak:
    """The peak to judge utilization against [FLOP/s].

    On a GPU whose name matches the accelerator table (or with ``chip``), the table's
    fp32 figure (the models run in fp32). Otherwise (a CPU, an unknown GPU) the best of
    ``repeats`` timed fp32 ``size x size`` matrix products, ``2 size^3`` FLOP each, after
    two warm-ups: a measured, attainable peak rather than a datasheet one.
    """
    _check_size("size", size)
    _check_size("repeats", repeats)
    from projector.curation.hardware import find_chip

    torch = require_torch()
    if chip is not None:
        acc = find_chip(chip)
        if "fp32" not in acc.peaks:
            raise InputError(f"chip {acc.chip} has no fp32 peak in the accelerator table")
        return Peak(acc.peaks["fp32"], f"{acc.chip} fp32, {acc.sources['fp32']}", device)
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        found = chip_for_device_name(name)
        if found is not None:
            acc = find_chip(found)
            if "fp32" in acc.peaks:
                return Peak(
                    acc.peaks["fp32"],
                    f"{acc.chip} fp32 (device {name}), {acc.sources['fp32']}",
                    device,
                )
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    for _ in range(2):  # warm-ups: thread pool, caches, clocks
        _timed_mm(torch, device, a, b)
    best = min(_timed_mm(torch, device, a, b) for _ in range(repeats))
    return Peak(2.0 * size**3 / best, _peak_source(torch, device, size, repeats), device, size)


def _peak_source(torch: Any, device: str, size: int, repeats: int) -> str:
    what = device if device != "cpu" else f"cpu, {torch.get_num_threads()} threads"
    return (
        f"measured: best of {repeats} fp32 torch.mm {size}x{size} @ {size}x{size} "
        f"({2 * size**3:.3g} FLOP each) on {what}, torch {torch.__version__}"
    )


def _timed_mm(torch: Any, device: str, a: Any, b: Any) -> float:
    _sync(torch, device)
    t0 = time.perf_counter()
    torch.mm(a, b)
    _sync(torch, device)
    return time.perf_counter() - t0


def _sync(torch: Any, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_step(built: Built, batch: int, peak: Peak, /, *, repeats: int = 10) -> Timing:
    """Best wall-clock time of a full SGD training step, after two warm-up steps [s].

    With a measured ``peak`` (``matmul_size`` > 0), each timed step is followed by one
    timed benchmark product and the step is judged against the best of those readings:
    on a machine whose speed drifts (shared or throttled cores; seen here) a peak read
    minutes earlier would misstate utilization, even above 1.
    """
    _check_size("batch", batch)
    _check_size("repeats", repeats)
    torch = require_torch()
    device = peak.device
    model = built.model.to(device)
    model.train()
    x = built.make_input(batch).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    size = peak.matmul_size
    if size:
        a = torch.randn(size, size, device=device)
        b = torch.randn(size, size, device=device)
    seconds = []
    mm_seconds = []
    for k in range(repeats + 2):
        _sync(torch, device)
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        model(x).sum().backward()
        optimizer.step()
        _sync(torch, device)
        elapsed = time.perf_counter() - t0
        if size:
            mm = _timed_mm(torch, device, a, b)
        if k >= 2:
            seconds.append(elapsed)
            if size:
                mm_seconds.append(mm)
    model.to("cpu")
    if size:
        local = 2.0 * size**3 / min(mm_seconds)
        source = _peak_source(torch, device, size, repeats) + ", interleaved with the steps"
        peak = Peak(local, source, device, size)
    return Timing(min(seconds), statistics.median(seconds), repeats, peak)


def measure_model(
    arch: str,
    depth: int,
    batch: int,
    /,
    *,
    width: int | None = None,
    seq_len: int | None = None,
    peak: Peak | None = None,
    repeats: int = 10,
    tolerance: float = TOLERANCE,
    graph: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], Measurement]:
    """Build, count and (with ``peak``) time one model; with ``graph``, count it again
    from its compiled graphs (:func:`add_graph_counts`).

    Returns
    -------
    (network row, layer rows, measurement); see :func:`summary_row` and :func:`layer_rows`.
    """
    built = build_model(arch, depth, width=width, seq_len=seq_len)
    m = count_step(built, batch)
    timing = time_step(built, batch, peak, repeats=repeats) if peak is not None else None
    row = summary_row(m, tolerance=tolerance, timing=timing)
    if graph:
        row = add_graph_counts(row, built)
    return row, layer_rows(m, tolerance=tolerance), m


def sweep(
    archs: Sequence[str],
    depths: Sequence[int],
    batches: Sequence[int],
    /,
    *,
    width: int | None = None,
    seq_len: int | None = None,
    peak: Peak | None = None,
    repeats: int = 10,
    tolerance: float = TOLERANCE,
    graph: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for every (architecture, depth, batch), in that order.

    Returns
    -------
    (network rows, layer rows); each layer row starts with ``arch``, ``depth``, ``batch``.
    """
    for name, values in (("depth", depths), ("batch", batches)):
        for v in values:
            _check_size(name, v)
    for arch in archs:
        if arch not in ARCHITECTURES:
            raise InputError(f"unknown architecture {arch!r}; expected one of: {_ARCH_HELP}")
    rows = []
    all_layers = []
    for arch in archs:
        for depth in depths:
            for batch in batches:
                row, layers, _ = measure_model(
                    arch,
                    depth,
                    batch,
                    width=width,
                    seq_len=seq_len,
                    peak=peak,
                    repeats=repeats,
                    tolerance=tolerance,
                    graph=graph,
                )
                rows.append(row)
                key = {"arch": arch, "depth": depth, "batch": batch}
                all_layers += [key | layer for layer in layers]
    return rows, all_layers
