"""The bundled dataset's estimation inputs (``key=value; ...``) and the compute they give.

Dependency direction: ``ops`` and ``gpu`` -> ``inputs`` -> :mod:`projector.inputs.systems`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from projector.curation.estimate.gpu import gpu_time
from projector.curation.estimate.ops import ops_dense, ops_per_example
from projector.curation.estimate.units import (
    DEFAULT_BACKWARD_RATIO,
)
from projector.errors import InputError


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
