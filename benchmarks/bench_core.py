"""The main kernel against its floor, and the command line's fixed cost (issue 23).

Run by ``make bench`` after the kernel table (``bench_kernels.py``). Every figure is a
ratio against a reference timed in the same run, rounds interleaved (each round times
every contender once, in turn, so a slow spell of a shared machine falls on all of
them) and the median of the rounds reported.

- ``project_paths`` (the main kernel, 100,000 paths of ``calibrated-deviations``'s
  configuration: deviations on, no ceilings, no records) against ``floor.floor_min``
  (one ``exp`` and about ten flops per path-step) and ``floor.floor_one_pass`` (the same
  outputs in one pass, checked bit for bit against ``project_paths``'s).
- Cold commands, each a fresh process: ``projector --version``, ``projector validate
  default`` and ``projector project default --paths 1000``, this checkout against a
  baseline commit (``--baseline REV``, extracted with ``git archive`` and put first on
  ``PYTHONPATH``, so it runs with the same interpreter and packages).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

#: The commit before issue 23's lazy imports (main when the work began).
BASELINE = "9370106"

PROJECT_1000 = ("project", "default", "--paths", "1000", "--quiet", "--force", "--out")

_LAUNCH = """
import os, subprocess, sys, time

t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - t0, usage.ru_maxrss)
"""


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Each contender once per round, in turn; every one called once first (warm)."""
    for fn in contenders.values():
        fn()
    walls: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for label, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            walls[label].append(time.perf_counter() - t0)
    return walls


def _median(w: list[float]) -> float:
    return float(np.median(w))


def kernel_floor(paths: int, rounds: int) -> None:
    from bench_kernels import _inputs
    from floor import floor_min, floor_one_pass

    rng = np.random.default_rng(0)
    args, outs = _inputs("project_paths", paths, rng, 200, 26)
    (t, s, c0, g_dl, g_m, rev, shape, _width, shift, offset, table, row, thresholds,
     i_year, frac, *_) = args  # fmt: skip
    order = np.argsort(thresholds, kind="stable")
    one = (np.empty_like(outs[0]), np.empty_like(outs[1]), np.empty_like(outs[2]))
    last = np.empty(paths)
    one_args = (t, s, c0, g_dl, g_m, rev, shape, shift, offset, table, row, order,
                thresholds[order], i_year, frac)  # fmt: skip
    from projector.model import kernels

    walls = interleaved(
        {
            "project_paths (main kernel)": lambda: kernels.project_paths(*args, *outs),
            "one-pass floor (same outputs)": lambda: floor_one_pass(*one_args, *one),
            "minimal floor (1 exp, ~10 flops)": lambda: floor_min(t, s, c0, g_dl, g_m, rev, last),
        },
        rounds,
    )
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(outs[:3], one, strict=True))
    steps = paths * (t.size - 1)
    ref = _median(walls["minimal floor (1 exp, ~10 flops)"])
    print(
        f"\nmain kernel against the floor: {paths:,} paths x {t.size - 1} steps, median of "
        f"{rounds} interleaved rounds (one-pass outputs identical to project_paths': {same})"
    )
    for label, w in walls.items():
        med = _median(w)
        print(
            f"  {label:<34} {med:8.4f} s  {med / steps * 1e9:6.2f} ns/path-step  "
            f"{med / ref:5.2f}x the minimal floor  (rounds {min(w):.4f} to {max(w):.4f} s)"
        )
    main = _median(walls["project_paths (main kernel)"])
    one_pass = _median(walls["one-pass floor (same outputs)"])
    print(f"  project_paths / one-pass floor: {main / one_pass:.2f}x")


def _timed(argv: list[str], env: dict[str, str] | None, cwd: Path) -> tuple[int, float]:
    import os

    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *argv], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    code, wall, _ = proc.stdout.split()
    return int(code), float(wall)


def cold_commands(baseline: str, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        base = tmp / "baseline"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", baseline], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        work = tmp / "cwd"
        work.mkdir()
        py = [sys.executable, "-m", "projector"]
        commands = {
            "projector --version": ["--version"],
            "projector validate default": ["validate", "default"],
            "projector project default --paths 1000": [*PROJECT_1000],
        }
        print(
            f"\ncold commands, each a fresh process (this checkout against {baseline}; median "
            f"of {rounds} interleaved rounds, after one warm-up each):"
        )
        for label, argv in commands.items():
            runs: dict[str, Callable[[], object]] = {}
            for who, root in (("before", base), ("now", REPO)):
                full = [*py, *argv, str(work / who)] if argv[-1] == "--out" else [*py, *argv]
                env = {"PYTHONPATH": str(root)}

                def run(full: list[str] = full, env: dict[str, str] = env) -> None:
                    code, _ = _timed(full, env, work)
                    if code != 0:
                        raise SystemExit(f"{' '.join(full)} exited {code}")

                runs[who] = run
            walls = interleaved(runs, rounds)
            before, now = _median(walls["before"]), _median(walls["now"])
            print(
                f"  {label:<42} before {before:6.2f} s  now {now:6.2f} s  "
                f"{before / now:5.2f}x faster  (now: {min(walls['now']):.2f} to "
                f"{max(walls['now']):.2f} s)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000, help="paths of the floor bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="commit the cold commands compare to")
    args = parser.parse_args()
    kernel_floor(args.paths, args.rounds)
    cold_commands(args.baseline, args.rounds)


if __name__ == "__main__":
    main()
