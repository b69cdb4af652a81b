"""Benchmark: a warm 10,000-path run with its summary, against one ``numpy.exp``.

Issue 23's target: a warm run of 10,000 paths with its summary, in memory, within 4x
the time of one ``numpy.exp`` over a 10,000 x 900 float64 array timed in the same
process. Both are timed interleaved (exp, run, exp, run, ...) and the medians compared,
so the machine's load moves both alike; the ratio is what this prints, never a pass or
fail.

"Warm": the scenario was run once in this process (numba compiled or loaded from its
cache, the draws, bootstrap rates and record-process fit kept by ``model.memo``); each
timed run is ``Run.rerun({key: value})`` with a scalar key changed, alternating between
two values so that no result is reused, then ``.summary()``. ``cold`` is the same run
with the memo off (every draw made again), as any other first run pays it.

    python benchmarks/bench_warm.py [--paths 10000] [--rounds 9] [--scenario default ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import projector as pj
from projector.model import memo

#: The scenarios timed and the key each rerun moves (the explorer's first slider).
CASES = {
    "default": ("growth.moore_doubling_months", (18.0, 22.0)),
    "epoch-2022": ("growth.moore_doubling_months", (18.0, 22.0)),
    "constrained": ("ceilings.budget_run", (0.8, 1.25)),
}


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(scenario: str, paths: int, rounds: int) -> dict[str, float]:
    key, values = CASES.get(scenario, ("growth.moore_doubling_months", (18.0, 22.0)))
    a = np.random.default_rng(0).random((10_000, 900))
    first = pj.Run(scenario, paths=paths, keep_paths=20)
    first.summary()  # compile / load the kernels, keep the draws
    memo.enable(True)
    for v in values:
        first.rerun({key: v}).summary()
    exp, warm, cold = [], [], []
    for i in range(rounds):
        v = values[i % 2]
        exp.append(_time(lambda: np.exp(a)))
        warm.append(_time(lambda v=v: first.rerun({key: v}).summary()))
        exp.append(_time(lambda: np.exp(a)))
        memo.enable(False)
        cold.append(_time(lambda v=v: first.rerun({key: v}).summary()))
        memo.enable(True)
    e, w, c = (statistics.median(x) for x in (exp, warm, cold))
    return {"exp": e, "warm": w, "cold": c}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--scenario", action="append", help="default: " + ", ".join(CASES))
    args = ap.parse_args()
    names = args.scenario or list(CASES)
    print(f"warm run of {args.paths:,} paths with its summary, median of {args.rounds} "
          "(interleaved with numpy.exp over 10,000 x 900 float64)")  # fmt: skip
    print("| scenario | numpy.exp [ms] | warm run [ms] | warm / exp | cold run [ms] | cold / exp |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        r = bench(name, args.paths, args.rounds)
        print(
            f"| {name} | {r['exp'] * 1e3:.1f} | {r['warm'] * 1e3:.1f} | {r['warm'] / r['exp']:.1f}x"
            f" | {r['cold'] * 1e3:.1f} | {r['cold'] / r['exp']:.1f}x |"
        )


if __name__ == "__main__":
    main()
