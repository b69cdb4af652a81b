"""The models ``projector measure`` builds (PyTorch, imported inside the functions).

Dependency direction: ``models`` -> ``counting``, ``utilization``, ``experiments``. Each model
comes with its layers in :func:`projector.curation.estimate.parse_layer` syntax, for the
analytic cross-check.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from projector.errors import InputError

#: The architectures ``projector measure`` can build.
ARCHITECTURES: tuple[str, ...] = ("mlp", "cnn", "dwcnn", "rnn", "lstm", "lstm-fused", "transformer")
ARCHITECTURE_HELP = (
    "mlp (dense layers + ReLU), cnn (3x3 convolutions + ReLU, max-pool, dense head), "
    "dwcnn (MobileNet-style depthwise-separable blocks), rnn and lstm (unrolled cells "
    "built from dense layers), lstm-fused (torch.nn.LSTM, whose fused CPU kernel the "
    "framework's counter misses), transformer (token embedding + pre-norm blocks)"
)
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
        raise InputError(f"unknown architecture {arch!r}; expected one of: {ARCHITECTURE_HELP}")
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
