"""Peaks and step times: the utilization half of the measurement.

Dependency direction: ``hardware`` and ``models`` -> ``utilization`` -> ``experiments``.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

from projector.curation.hardware import accelerators
from projector.curation.measure.models import Built, _check_size, require_torch
from projector.errors import InputError


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
