"""Benchmarks: each numba kernel against its NumPy twin, and whole runs.

Run with ``make bench``. Every figure is measured in this run on this machine and
reported as a ratio against a reference measured in the same run (the twin, or the
kernel time), never as an absolute pass/fail. Warm timings: each kernel is called
once before timing so numba compilation (or loading its cache) is excluded.

Grid: monthly from 2022 to 2100 (937 steps), as in issue #2.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.model import engine, twins
from projector.pipeline.run import Run

#: The scenario timed: the method default had until issue 19 (smooth paths and resampled
#: deviations), which the NumPy reference (the twins) implements; the record process that
#: default uses now has kernels of its own (``record_process``), timed by the kernel table.
BENCH_SCENARIO = "calibrated-deviations"

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 3  # timed runs of each end-to-end command


def _inputs(
    name: str, n: int, rng: np.random.Generator, n_dl: int, n_pre: int
) -> tuple[tuple[Any, ...], tuple[np.ndarray, ...]]:
    if name in twins.RECORD_KERNELS:
        return twins.record_inputs(name, n, rng)
    times = engine.time_grid(2022.0, 2100.0, 12)
    if name == "bootstrap_slopes":
        t = np.sort(rng.uniform(2010, 2022, n_dl))
        y = 0.6 * t + rng.normal(0, 0.7, n_dl)
        idx = rng.integers(0, n_dl, size=(n, n_dl))
        return (t, y, idx, np.empty((0, n_dl))), (np.empty(n),)
    if name == "mixture_draws":
        cum = np.array([0.75, 0.95, 1.0])
        family = np.zeros(3, dtype=np.int64)
        params = np.array([[2030.0, 5, 0], [2034.0, 5, 0], [2040.0, 5, 0]])
        args = (rng.random(n), rng.standard_normal(n), rng.random(n), cum, family, params, 2022.0)
        return args, (np.empty(n), np.empty(n, dtype=np.int64))
    rev = rng.normal(2032, 6, n)
    if name == "weights":
        return (times, 2022.0, rev, 0, 2.0), (np.empty((n, times.size)),)
    if name == "integrate_paths":
        args = (
            times,
            2022.0,
            24.1,
            rng.uniform(0.4, 0.9, n),
            rng.uniform(0.1, 0.3, n),
            rev,
            0,
            2.0,
        )
        return args, (np.empty((n, times.size)),)
    if name == "shift_paths":
        c = 24.1 + np.cumsum(np.full((n, times.size), 0.3 / 12), axis=1)
        table = rng.normal(0, 0.5, (180, times.size))
        return (c, rng.normal(0, 0.3, n), table, rng.integers(0, 180, n)), (c,)
    if name == "first_crossing":
        c = 24.1 + np.cumsum(np.full((n, times.size), 0.3 / 12), axis=1)
        c += rng.uniform(0, 1, (n, 1))
        thresholds = np.array([28, 32, 33, 34.36, 34.5, 37, 41.0])
        return (times, c, thresholds), (np.empty((n, 7)),)
    if name == "running_max":
        c = 24.1 + np.cumsum(rng.normal(0, 0.05, (n, times.size)), axis=1)
        return (c, 24.1), (c,)
    if name == "project_paths":
        (t, s, c0, g_dl, g_m, _, shape, width), _ = _inputs("integrate_paths", n, rng, n_dl, n_pre)
        years = np.arange(2022.0, 2101.0)
        i = np.clip(np.searchsorted(t, years), 1, len(t) - 1)
        frac = (years - t[i - 1]) / (t[i] - t[i - 1])
        table = rng.normal(0, 0.5, (180, times.size))
        thresholds = np.array([28, 32, 33, 34.36, 34.5, 37, 41.0])
        # ceilings off (mode 0): the figure the README's speed section has always timed
        args = (t, s, c0, g_dl, g_m, rev, shape, width, True, rng.normal(0, 0.3, n), table,
                rng.integers(0, 180, n), thresholds, i, frac, False, c0, 0, 0.0,
                np.empty((0, 0, 2)), 1.0)  # fmt: skip
        outs = (np.empty((n, years.size), np.float32), np.empty((n, 7)),
                np.empty((min(n, 10_000), t.size), np.float32), np.empty((n, 0)))  # fmt: skip
        return args, outs
    if name == "apply_ceilings":
        c = 24.1 + np.cumsum(np.full((n, times.size), 0.3 / 12), axis=1)
        knots = 25 + np.cumsum(rng.uniform(0, 0.6, (n, 4, 80)), axis=2)
        return (times, c, 2, 2022.0, knots, 0.3), (np.empty_like(c), np.empty((n, 4)))
    raise KeyError(name)


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def bench_kernels(n: int, n_dl: int, n_pre: int, twin_limit: int) -> list[tuple[str, float, float]]:
    rows = []
    for name, (kernel, twin) in twins.COMPARISONS.items():
        args, outs = _inputs(name, n, np.random.default_rng(0), n_dl, n_pre)
        kernel(*args, *outs)  # warm (compile or load cache)
        k = _best(lambda: kernel(*args, *outs), 5)  # noqa: B023 - timed immediately
        if n <= twin_limit:
            tw = _best(lambda: twin(*args, *outs), 1)  # noqa: B023
        else:
            tw = float("nan")
        rows.append((name, k, tw))
    return rows


def bench_run(paths: int) -> float:
    """Seconds for a run in memory of the default scenario (``Run(...).result()``, every
    full path kept; chunks of 2,000 paths as ``engine.run`` had; warm, best of 3)."""
    scen = dataclasses.replace(load_scenario(BENCH_SCENARIO), paths=paths)
    systems = load_dataset(scen.data.dataset)

    def once(s: Any) -> None:
        Run(s, systems=systems, chunk_paths=2 * engine.RNG_BLOCK).result()

    once(dataclasses.replace(scen, paths=100))  # warm
    return _best(lambda: once(scen), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--twin-limit", type=int, default=100_000, help="skip twins above this many paths"
    )
    parser.add_argument(
        "--end-to-end", type=int, default=100_000, help="paths of the end-to-end run (0: skip)"
    )
    parser.add_argument("--huge", type=int, default=0, help="also time one run of N paths")
    args = parser.parse_args()
    eras = engine.prepare_eras(load_scenario(BENCH_SCENARIO), load_dataset("bundled"))
    n_dl, n_pre = len(eras.dl), len(eras.pre_dl)
    print(
        f"machine: {numba.get_num_threads()} numba threads; grid 2022-2100 monthly (937 steps); "
        f"bootstrap sizes from the bundled data: {n_dl} DL, {n_pre} pre-DL systems"
    )
    import platform

    import scipy

    print(
        f"versions: Python {platform.python_version()}, NumPy {np.__version__}, numba "
        f"{numba.__version__}, SciPy {scipy.__version__}; CPU {_cpu()}"
    )
    for n in args.paths:
        rows = bench_kernels(n, n_dl, n_pre, args.twin_limit)
        # The bootstrap runs twice per path (DL and pre-DL); time the pre-DL one too.
        boot_pre = bench_kernels_single("bootstrap_slopes", n, n_pre)
        print(f"\n{n:,} paths")
        print(
            f"  {'kernel':<18} {'numba [s]':>10} {'twin [s]':>10} {'speed-up':>9} "
            f"{'paths/s (numba)':>16}"
        )
        for name, k, tw in rows:
            print(f"  {name:<18} {k:10.4f} {tw:10.4f} {tw / k:8.1f}x {n / k:16,.0f}")
        print(f"  {'(pre-DL bootstrap)':<18} {boot_pre:10.4f}")
        # A streamed run calls these (project_paths fuses integrate_paths, shift_paths
        # and first_crossing path by path; `weights` is inside integrate_paths).
        used = ("bootstrap_slopes", "mixture_draws", "project_paths")
        engine_k = boot_pre + sum(r[1] for r in rows if r[0] in used)
        engine_t = sum(r[2] for r in rows if r[0] in used)
        print(
            f"  kernel time of one projection: {engine_k:.4f} s "
            f"({n / engine_k:,.0f} paths/s); twins: {engine_t:.3f} s; "
            f"ratio {engine_t / engine_k:.1f}x"
        )
    run10k = bench_run(10_000)
    print(
        f"\nRun({BENCH_SCENARIO}, 10,000 paths).result() in memory, warm, including random draws: "
        f"{run10k:.3f} s"
    )
    if args.end_to_end:
        end_to_end(args.end_to_end)
    if args.huge:
        huge(args.huge)


#: Runs a command and prints its wall time and peak RSS. A launcher, because Linux
#: records the RSS of the process that forked a child as that child's starting peak:
#: timed straight from this (large) process, every command would seem to need as much
#: memory as the benchmark itself.
_LAUNCH = """
import os, subprocess, sys, time

t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
print(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss)
"""


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall time [s] of a command run as a fresh process, and its peak RSS [GB]."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *argv], cwd=REPO, capture_output=True, text=True
    )
    code, wall, peak_kb = proc.stdout.split()
    if proc.returncode != 0 or int(code) != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(1)
    return float(wall), int(peak_kb) * 1024 / 1e9


def _size(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def end_to_end(paths: int) -> None:
    """``projector project default --paths N`` against two references, all as processes.

    Each command runs once to warm the numba cache and the file cache, then is timed
    in ``ROUNDS`` rounds (the commands in turn, so a slow spell of a shared machine
    falls on all of them); the median of each is reported.
    """
    out = REPO / "results" / ".bench"
    shutil.rmtree(out, ignore_errors=True)
    project = [sys.executable, "-m", "projector", "project", BENCH_SCENARIO, "--paths", str(paths),
               "--quiet", "--force", "--out"]  # fmt: skip
    ref = [sys.executable, str(REPO / "benchmarks" / "reference_runs.py")]
    runs = {
        "projector project (Zarr store, default --keep-paths)": [*project, str(out / "new")],
        "projector project --keep-paths all": [*project, str(out / "all"), "--keep-paths", "all"],
        "plain NumPy implementation (twins)": [*ref, "numpy", str(paths), str(out / "numpy")],
        "before: in memory + NetCDF/zlib cube": [*ref, "netcdf", str(paths), str(out / "nc")],
    }
    for argv in runs.values():
        _timed(argv)  # warm
    walls: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(ROUNDS):
        for label, argv in runs.items():
            walls[label].append(_timed(argv)[0])
    times = {label: float(np.median(w)) for label, w in walls.items()}
    spread = {label: (min(w), max(w)) for label, w in walls.items()}
    new = times["projector project (Zarr store, default --keep-paths)"]
    print(
        f"\nend to end, {paths:,} paths of {BENCH_SCENARIO} (warm, each a fresh process; "
        f"median of {ROUNDS} rounds):"
    )
    for label, wall in times.items():
        lo, hi = spread[label]
        print(
            f"  {label:<54} {wall:7.2f} s  {wall / new:5.2f}x the new run  "
            f"(runs {lo:.2f} to {hi:.2f} s)"
        )
    for name in ("new", "all", "nc"):
        print(f"  size of {name}: {_size(out / name):8.1f} MB")
    shutil.rmtree(out, ignore_errors=True)


def huge(paths: int) -> None:
    """One run of ``paths`` paths of default: wall time, peak RSS, store size (once)."""
    out = REPO / "results" / ".bench-huge"
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "projector", "project", BENCH_SCENARIO, "--paths", str(paths),
            "--quiet", "--force", "--out", str(out)]  # fmt: skip
    wall, peak = _timed(argv)
    print(
        f"\n{paths:,} paths of {BENCH_SCENARIO}: {wall:.0f} s wall, peak RSS {peak:.2f} GB, "
        f"store {_size(out / 'projection.zarr') / 1e3:.2f} GB"
    )
    print((out / "summary.md").read_text().split("## Anchors")[0])
    shutil.rmtree(out, ignore_errors=True)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def bench_kernels_single(name: str, n: int, n_rows: int) -> float:
    kernel, _ = twins.COMPARISONS[name]
    args, outs = _inputs(name, n, np.random.default_rng(1), n_rows, n_rows)
    kernel(*args, *outs)
    return _best(lambda: kernel(*args, *outs), 5)


if __name__ == "__main__":
    main()
