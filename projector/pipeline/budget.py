"""The one memory and disk budget: what a run will need, what this process may use.

Dependency direction: ``errors`` -> ``budget`` -> ``store`` (``Layout`` states its own
needs), ``run`` and the command line. Every check before compute is made here, so a
run that cannot finish is refused in a second with one line (exit status 3), not
killed after an hour.

What "available" means: the least of the system's ``MemAvailable``, the room left under
this process's cgroup memory limit (v2 ``memory.max`` or v1 ``limit_in_bytes``, read
from the cgroup the process is in, so a container or a ``systemd-run -p MemoryMax=``
scope counts), and the room left under ``RLIMIT_AS``. A machine-wide figure alone would
let a run under a container limit pass the check and then be killed.
"""

from __future__ import annotations

import errno
import math
import os
import resource
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from projector.errors import ResourceError

if TYPE_CHECKING:
    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import Systems
    from projector.pipeline.store import Layout

__all__ = [
    "BASE_MEMORY",
    "available_memory",
    "cgroup_room",
    "check_disk",
    "check_fits",
    "check_in_memory",
    "check_memory",
    "check_plan",
    "disk_free",
    "format_bytes",
    "round_down",
]

#: Resident memory of an interpreter with projector, numba, xarray and zarr loaded [bytes].
BASE_MEMORY = 450e6

_CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_dirs(root: Path, lines: list[str] | None = None) -> list[tuple[Path, str, str]]:
    """The memory-controller folders of this process's cgroup (``lines``: the text of
    ``/proc/self/cgroup``) and its ancestors, as (folder, limit file, usage file),
    innermost first."""
    if lines is None:
        try:
            lines = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()
        except OSError:
            lines = []
    found: list[tuple[Path, str, str]] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        if controllers == "":  # cgroup v2: one unified hierarchy
            base, limit, usage = root, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            base, limit, usage = root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        folder = base / rel.lstrip("/")
        while True:
            found.append((folder, limit, usage))
            if folder == base or folder.parent == folder:
                break
            folder = folder.parent
    return found


def cgroup_room(root: Path = _CGROUP_ROOT, lines: list[str] | None = None) -> float | None:
    """Bytes left under the tightest memory limit of this process's cgroup and its
    ancestors, or None when no limit is set or none can be read."""
    rooms = []
    for folder, limit_file, usage_file in _cgroup_dirs(root, lines):
        try:
            limit = (folder / limit_file).read_text(encoding="ascii").strip()
            used = int((folder / usage_file).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # "max" or v1's huge number: no limit
            rooms.append(max(float(limit) - used, 0.0))
    return min(rooms) if rooms else None


def available_memory() -> float:
    """Bytes this process may still allocate (module docstring), +inf when unknown."""
    limits: list[float] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limits.append(float(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    room = cgroup_room()
    if room is not None:
        limits.append(room)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            vm = 0
        limits.append(float(max(soft - vm, 0)))
    return min(limits) if limits else math.inf


def disk_free(folder: Path) -> float:
    """Free bytes on the file system that holds ``folder`` (or its nearest ancestor)."""
    p = Path(os.path.abspath(folder))
    while not p.exists() and p.parent != p:
        p = p.parent
    return float(shutil.disk_usage(p).free)


def format_bytes(n: float) -> str:
    """``1.5 GB`` (decimal units, as the README's figures)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def round_down(n: float) -> int:
    """Two significant figures, rounded down (a suggestion that surely fits)."""
    n = int(max(n, 0))
    if n < 100:
        return n
    scale = 10 ** (len(str(n)) - 2)
    return n // scale * scale


def check_memory(need: float, what: str, advice: str) -> None:
    """Refuse ``what`` when its estimated peak ``need`` [bytes] exceeds what is available.

    Raises
    ------
    ResourceError
        errno ENOMEM (exit status 3): the estimate, what is available, and ``advice``.
    """
    avail = available_memory()
    if need > avail:
        raise ResourceError(
            errno.ENOMEM,
            f"{what} would need about {format_bytes(need)} of memory but "
            f"{format_bytes(avail)} is available; {advice}",
        )


def check_disk(need: float, folder: Path, what: str, advice: str) -> None:
    """Refuse ``what`` when ``need`` [bytes] exceeds the free space at ``folder``.

    Raises
    ------
    ResourceError
        errno ENOSPC (exit status 3).
    """
    free = disk_free(folder)
    if need > free:
        raise ResourceError(
            errno.ENOSPC,
            f"{what} would need up to {format_bytes(need)} on disk at {folder} but "
            f"{format_bytes(free)} is free; {advice}",
        )


def check_fits(layout: Layout, folder: Path, *, in_flight: int, n_systems: int) -> None:
    """Refuse a run whose store would not fit on disk at ``folder`` or whose peak would
    not fit in memory (``Layout.bytes_on_disk``, ``Layout.bytes_in_memory``).

    Raises
    ------
    ResourceError
        One line (exit status 3): what the run needs, what is there, and what to change.
    """
    need_disk = layout.bytes_on_disk()
    fit = int(disk_free(folder) // (need_disk / max(layout.paths, 1)))
    check_disk(
        need_disk,
        folder,
        f"{layout.paths:,} paths",
        f"at most {fit:,} paths fit (or keep fewer full paths with --keep-paths, now "
        f"{layout.keep:,})",
    )
    check_memory(
        layout.bytes_in_memory(in_flight, n_systems),
        f"{layout.paths:,} paths in chunks of {layout.chunk:,}",
        "use a smaller --chunk-paths or fewer --workers",
    )


def check_in_memory(paths: int, n_times: int, n_years: int, n_anchors: int) -> None:
    """Refuse a run in memory (every full path kept, float64) that would not fit: the
    paths, the yearly values and their float64 temporaries, the per-path variables."""
    need = BASE_MEMORY + paths * (8 * n_times + 28 * n_years + 8 * n_anchors + 120)
    check_memory(
        need,
        f"{paths:,} paths x {n_times:,} grid times in memory",
        "write them to a store instead (store=PATH in Python, the command line always does)",
    )


def check_plan(scen: Scenario, systems: Systems) -> None:
    """Refuse a grid whose plan cannot fit: with ``frontier_noise = 'resampled'`` the plan
    holds deviations for every past origin x lag up to the oldest origin (before any path
    is drawn), so a very fine grid over a long Deep-Learning era needs much memory."""
    if scen.frontier_noise != "resampled":
        return
    from projector.inputs.systems import decimal_year

    kept = systems.until(scen.data.cutoff)
    start = scen.start_year
    if start is None:
        start = float(kept.year.max()) if len(kept) else scen.end_year - 1
    first = decimal_year(scen.data.dl_start)
    dl0 = float(min((y for y in kept.year if y >= first), default=start))
    window = scen.frontier_noise_years or 0
    if window > 0:
        dl0 = max(dl0, start - window)
    n_origin = max(int((start - dl0) * scen.steps_per_year), 0)
    n_times = math.ceil((scen.end_year - start) * scen.steps_per_year - 1e-9) + 1
    n_cols = min(n_times, n_origin + 1)  # columns after every origin's history are equal
    need = BASE_MEMORY + 4 * 8 * n_origin * n_cols  # deviations, lags and two temporaries
    check_memory(
        need,
        f"{scen.source}: growth.frontier_noise = 'resampled' on a grid of {n_times:,} times "
        f"(steps_per_year = {scen.steps_per_year}, to {scen.end_year:g})",
        "use a coarser steps_per_year or an earlier end_year",
    )
