"""Counting the FLOP of one training step: the framework's counter and the compiled graphs.

Dependency direction: ``models`` -> ``counting`` -> ``ratio``. How the counting works is in
:mod:`projector.curation.measure`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from projector.curation import estimate
from projector.curation.measure.models import Built, _check_size, require_torch
from projector.errors import InputError


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


def _relative(measured: float, analytic: float) -> float:
    """measured / analytic (NaN when the analytic count is 0)."""
    return measured / analytic if analytic else math.nan
