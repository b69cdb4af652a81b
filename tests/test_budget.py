"""The memory and disk budget: cgroup limits count, and a run that would not fit under
one is refused before it starts (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from projector.pipeline import budget


def _write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1)).write_text(text)


def test_cgroup_v2_room_is_the_tightest_limit_on_the_way_up(tmp_path: Path) -> None:
    _write(tmp_path, memory_max="max", memory_current="100")
    _write(tmp_path / "a", memory_max="3000", memory_current="1000")
    _write(tmp_path / "a" / "b", memory_max="max", memory_current="500")
    assert budget.cgroup_room(tmp_path, ["0::/a/b"]) == 2000.0


def test_cgroup_v1_memory_controller(tmp_path: Path) -> None:
    mem = tmp_path / "memory"
    _write(mem, memory_limit_in_bytes=str(2**63 - 4096), memory_usage_in_bytes="5")
    _write(mem / "job", memory_limit_in_bytes="1000", memory_usage_in_bytes="400")
    lines = ["9:name=systemd:/", "4:memory:/job", "1:cpu:/"]
    assert budget.cgroup_room(tmp_path, lines) == 600.0


def test_no_limit_means_no_cgroup_room(tmp_path: Path) -> None:
    _write(tmp_path, memory_max="max", memory_current="100")
    assert budget.cgroup_room(tmp_path, ["0::/"]) is None
    assert budget.cgroup_room(tmp_path / "missing", ["0::/x"]) is None


def test_available_memory_takes_the_cgroup_into_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "cgroup_room", lambda *a, **k: 123e6)
    assert budget.available_memory() == 123e6


def _v1_cgroup(name: str) -> Path | None:
    root = Path("/sys/fs/cgroup/memory")
    if os.geteuid() != 0 or not (root / "memory.limit_in_bytes").exists():
        return None
    folder = root / name
    try:
        folder.mkdir(exist_ok=True)
        (folder / "memory.limit_in_bytes").write_text(str(700 * 2**20))
    except OSError:
        return None
    return folder


def test_a_run_that_does_not_fit_under_a_real_cgroup_limit_is_refused(tmp_path: Path) -> None:
    """In a memory cgroup of 700 MiB on a machine with far more, 2,000,000 paths (about
    1.2 GB by the estimate) are refused at once with exit status 3 and nothing written;
    outside it the same estimate passes."""
    folder = _v1_cgroup(f"projector-test-{os.getpid()}")
    if folder is None:
        pytest.skip("needs root and a writable cgroup v1 memory controller")
    out = tmp_path / "res"
    script = (
        f"echo $$ > {folder}/cgroup.procs && exec {sys.executable} -m projector project "
        f"default --paths 2000000 --out {out}"
    )
    try:
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["bash", "-c", "echo $$ > /sys/fs/cgroup/memory/cgroup.procs"])
    assert proc.returncode == 3, proc.stderr
    assert "of memory" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()
    assert budget.available_memory() > 2e9  # outside the cgroup it would have fitted
    try:
        folder.rmdir()
    except OSError:
        pass
