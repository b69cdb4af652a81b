"""The warm path (issue 23): ``Run.rerun`` and the kept draws give the bits of a fresh
``projector project`` of the same scenario, seed and paths, however many runs came
before, and the warm record-process kernel is the main kernel's twin to the bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import projector as pj
from projector.cli import main
from projector.errors import InputError
from projector.model import engine, memo, record_process, warm_kernels
from projector.pipeline.store import open_result

PATHS = 2000


def _same(a: object, b: object) -> bool:
    x, y = np.asarray(a), np.asarray(b)
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True)


def _project(tmp: Path, scenario: str, sets: list[str]) -> Path:
    out = tmp / "out"
    args = ["project", scenario, "--paths", str(PATHS), "--seed", "3", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main([*args, "--quiet"]) == 0
    return out


@pytest.mark.parametrize(
    ("scenario", "key", "value"),
    [
        ("default", "growth.moore_doubling_months", 16.0),
        ("constrained", "ceilings.budget_run", 3.0),
        ("epoch-2022", "reversion.bearish.mean", 2028.0),
    ],
)
def test_reruns_give_the_bits_of_projector_project(
    tmp_path: Path, scenario: str, key: str, value: float
) -> None:
    """Three runs in a row in one process (the draws kept after the first), the last
    with a changed key: every stored array and every summary figure is the store's."""
    first = pj.Run(scenario, paths=PATHS, seed=3, keep_paths=PATHS)
    first.summary()
    second = first.rerun({key: value * 1.5})
    second.summary()
    third = second.rerun({key: value})
    got, s_got = third.result(), third.summary()
    out = _project(tmp_path, scenario, [f"{key}={value}"])
    want = open_result(out)
    names = [str(v) for v in want.data_vars]
    assert "log10_compute" in names and "crossing_year" in names
    for name in names:
        assert _same(got[name].values, want[name].values), name
    s_want = pj.summarize(want)
    for name in s_want.data_vars:
        assert _same(s_got[name].values, s_want[name].values), name


def test_a_rerun_without_changes_reuses_the_plan_and_systems() -> None:
    r = pj.Run("default", paths=1000, keep_paths=10)
    r.result()
    again = r.rerun()
    assert again.plan() is r.plan() and again.load() is r.load()
    moved = r.rerun(["growth.moore_doubling_months=18"])
    assert moved.load() is r.load() and moved.plan() is not r.plan()
    assert moved.plan().record == r.plan().record  # the fit did not depend on the key
    assert moved.resolve().overrides[-1] == ("growth.moore_doubling_months", "18")


def test_a_rerun_checks_its_changes_like_the_command_line() -> None:
    r = pj.Run("default", paths=1000, keep_paths=10)
    with pytest.raises(InputError) as err:
        r.rerun({"growth.moore_doubling_months": 0.5})
    assert "growth.moore_doubling_months" in str(err.value)


def test_kept_draws_equal_fresh_ones() -> None:
    """The same chunk with the memo off, on (filling it) and on again (reading it)."""
    p = pj.Run("default", paths=1500, seed=11).plan()
    memo.enable(False)
    try:
        cold = engine.run_chunk(p, 0, 1500)
        memo.enable(True)
        fill, read = engine.run_chunk(p, 0, 1500), engine.run_chunk(p, 500, 1500)
    finally:
        memo.enable(True)
    for name in engine.PATH_ARRAYS:
        assert _same(getattr(fill, name), getattr(cold, name)), name
        assert _same(getattr(read, name), getattr(cold, name)[500:]), name


def test_the_memo_stays_within_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    memo.clear()
    monkeypatch.setattr(memo, "LIMIT_BYTES", 3 * 8000)
    calls = []

    def make(k: int) -> np.ndarray:
        calls.append(k)
        return np.zeros(1000)

    for k in range(5):
        memo.cached(("t", k), 10, lambda k=k: make(k))
    assert memo.cached(("t", 4), 10, lambda: make(99)) is not None and 99 not in calls
    memo.cached(("t", 0), 10, lambda: make(100))
    assert 100 in calls  # the oldest was dropped
    assert memo._state["bytes"] <= 3 * 8000
    memo.clear()


@settings(max_examples=25, deadline=None)
@given(
    n_path=st.integers(1, 12),
    n_time=st.integers(2, 40),
    seed=st.integers(0, 2**32 - 1),
    zeros=st.booleans(),
    mode=st.sampled_from([0, 1]),
)
def test_warm_kernel_is_the_main_kernel_to_the_bit(
    n_path: int, n_time: int, seed: int, zeros: bool, mode: int
) -> None:
    rng = np.random.default_rng(seed)
    times = 2025.3 + np.arange(n_time) / 12.0
    level = rng.uniform(25.0, 28.0, n_path)
    g_dl, g_m = rng.uniform(0.2, 0.9, n_path), rng.uniform(0.05, 0.3, n_path)
    reversion = times[0] + rng.uniform(-2.0, 30.0, n_path)
    floor, scale = rng.uniform(24.0, 27.0, n_path), rng.uniform(0.05, 2.0, n_path)
    u = rng.random((n_path, n_time - 1))
    if zeros:
        u[rng.random(u.shape) < 0.2] = 0.0
    th = rng.uniform(24.0, 40.0, 5)
    th[1] = th[3]  # a tie
    k_ceiling, n_knot = (3, 4) if mode else (0, 2)
    knots = np.empty((n_path, k_ceiling, n_knot))
    knots[:] = rng.uniform(26.0, 34.0, knots.shape)
    reached = np.empty((n_path, k_ceiling))
    yi = np.array([1, n_time - 1], dtype=np.int64)
    yf = np.array([0.5, 1.0])
    outs = []
    for warm in (False, True):
        yearly = np.empty((n_path, 2), np.float32)
        cross, full = np.empty((n_path, 5)), np.empty((n_path, n_time))
        rch = reached.copy()
        if warm:
            gum, log_dt = np.empty_like(u), np.empty(n_time - 1)
            warm_kernels.gumbel_terms(u, gum)
            warm_kernels.log_steps(times, log_dt)
            order = np.argsort(th, kind="stable")
            warm_kernels.project_record_paths_warm(
                times, log_dt, times[0], level, g_dl, g_m, reversion, 0, 2.0, floor, scale,
                gum, order, th[order], yi, yf, mode, 2026.0, knots, 0.3, yearly, cross, full,
                rch,
            )  # fmt: skip
        else:
            record_process.project_record_paths(
                times, times[0], level, g_dl, g_m, reversion, 0, 2.0, floor, scale, u, th,
                yi, yf, mode, 2026.0, knots, 0.3, yearly, cross, full, rch,
            )  # fmt: skip
        outs.append((yearly, cross, full, rch))
    for a, b in zip(*outs, strict=True):
        assert _same(a, b)
