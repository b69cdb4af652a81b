"""Checks made before any compute: output paths writable, names usable, memory enough.

Dependency direction: imports ``errors`` and ``fileio`` only; ``cli`` calls these before
loading data or running a projection, so a run that cannot finish fails in a second
with one line, not after an hour of compute.
"""

from __future__ import annotations

import errno
import math
import os
import resource
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projector.errors import InputError, ResourceError
from projector.pipeline.fileio import check_replaceable_file
from projector.pipeline.transaction import check_replaceable_folder

if TYPE_CHECKING:
    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import Systems

__all__ = [
    "available_memory",
    "check_cube",
    "check_memory",
    "check_memory_bytes",
    "check_output_file",
    "check_output_folder",
    "check_path_text",
    "check_plan_memory",
    "check_projection_memory",
    "format_bytes",
    "projection_bytes",
]

# Virtual file systems: nothing we write there is a file.
_VIRTUAL = (Path("/proc"), Path("/sys"), Path("/dev"))


#: Bytes our hidden companions add to an output name (``.<name>.tmp-<pid>-<hex>``,
#: ``.<name>.<random>.part``): the name itself must leave room for them.
_COMPANION_BYTES = 32


def check_path_text(text: str | os.PathLike[str], what: str) -> Path:
    """An output path as typed: not empty, no NUL or newline, components not too long."""
    raw = os.fspath(text)
    if not raw.strip():
        raise InputError(f"{what}: empty path; give a file or folder name")
    if "\0" in raw:
        raise InputError(f"{what} {raw!r}: contains a NUL character")
    if any(c in raw for c in "\n\r"):
        raise InputError(f"{what} {raw!r}: contains a line break")
    path = Path(raw)
    limit = _name_max(path)
    for k, part in enumerate(path.parts):
        room = limit - (_COMPANION_BYTES if k == len(path.parts) - 1 else 0)
        if len(os.fsencode(part)) > room:
            raise InputError(
                f"{what} {_short(raw)}: the name {_short(part)} is longer than the file "
                f"system allows ({room} bytes here); use a shorter name"
            )
    if len(os.fsencode(os.path.abspath(raw))) >= 4096:
        raise InputError(f"{what} {_short(raw)}: path longer than 4096 bytes")
    return path


def _short(text: str, keep: int = 60) -> str:
    return repr(text) if len(text) <= keep else repr(text[:keep] + "...")


def _name_max(path: Path) -> int:
    probe = _nearest_existing(Path(os.path.abspath(path)))
    try:
        return int(os.pathconf(probe, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p.parent != p:
        p = p.parent
    return p


def _probe_writable(folder: Path, what: str, shown: Path) -> None:
    """Create and remove a file in ``folder`` (the only reliable test, e.g. for root)."""
    probe = folder / f".projector-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        _raise_unwritable(exc, what, shown, folder)
    try:
        os.write(fd, b"\0" * 4096)  # a block, so a full disk shows now, not after computing
        os.fsync(fd)
    except OSError as exc:
        _raise_unwritable(exc, what, shown, folder)
    finally:
        os.close(fd)
        os.unlink(probe)


def _raise_unwritable(exc: OSError, what: str, shown: Path, folder: Path) -> None:
    reason = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    status = errno.ENOSPC if exc.errno in (errno.ENOSPC, errno.EDQUOT) else errno.EACCES
    raise ResourceError(
        status,
        f"{what} {shown}: cannot write in {folder} ({reason}); choose a folder you can write to",
    ) from None


def _check_not_virtual(path: Path, what: str, shown: Path) -> None:
    real = Path(os.path.realpath(path))
    for v in _VIRTUAL:
        if real == v or v in real.parents:
            raise InputError(
                f"{what} {shown}: is inside {v}, a virtual file system; write elsewhere"
            )


def _check_ancestors(path: Path, what: str, shown: Path) -> Path:
    """The nearest existing ancestor of ``path``; it must be a folder."""
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise InputError(f"{what} {shown}: {existing} is not a folder")
    return existing


def check_output_folder(text: str | os.PathLike[str], what: str = "--out") -> Path:
    """A result folder we can create or replace: the checks run before any compute.

    The folder may be missing (it and its parents are created) or an existing folder;
    the transaction writes its temporary beside it, so that is where we probe.
    """
    shown = check_path_text(text, what)
    path = Path(os.path.abspath(shown))
    if path == Path(path.anchor):
        raise InputError(f"{what} {shown}: the root folder cannot be a result folder")
    _check_not_virtual(path, what, shown)
    if os.path.islink(path):
        raise InputError(f"{what} {shown}: is a symbolic link; give the folder it points to")
    if os.path.lexists(path) and not path.is_dir():
        raise InputError(f"{what} {shown}: exists and is not a folder")
    if os.path.ismount(path):
        raise InputError(
            f"{what} {shown}: is a mount point and cannot be replaced; "
            "write into a folder inside it"
        )
    existing = _check_ancestors(path, what, shown)
    _probe_writable(existing, what, shown)
    check_replaceable_folder(path)
    return shown


def check_output_file(text: str | os.PathLike[str], what: str = "--out") -> Path:
    """An output file we can create or replace: a regular file or missing, folder writable."""
    shown = check_path_text(text, what)
    path = Path(os.path.abspath(shown))
    _check_not_virtual(path, what, shown)
    check_replaceable_file(path, what)  # a symlink, FIFO, device or folder
    existing = _check_ancestors(path, what, shown)
    _probe_writable(existing, what, shown)
    return shown


# --- memory --------------------------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes this process may still allocate: the least of the system's available memory,
    the cgroup's limit and the address-space limit; None when none can be read."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for max_file, cur_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(max_file).read_text().strip()
            used = int(Path(cur_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            limits.append(max(int(limit) - used, 0))
        break
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            vm = 0
        limits.append(max(soft - vm, 0))
    return min(limits) if limits else None


#: Bytes held per path and grid time by an in-memory run and its write: the float64
#: cube, its float32 encoding and the compressed file held in memory before writing.
BYTES_PER_CELL = 8 + 4 + 4
#: Bytes per path besides the grid: per-path variables and crossing years.
BYTES_PER_PATH = 128
#: Fixed overhead: interpreter, numba, xarray, matplotlib [bytes].
BASE_BYTES = 400 * 2**20


def projection_bytes(paths: int, n_times: int, n_anchors: int, chunk_paths: int) -> int:
    """Estimated peak memory of an in-memory projection and its write [bytes]."""
    per_path = BYTES_PER_CELL * n_times + BYTES_PER_PATH + 16 * n_anchors
    chunk = 4 * 8 * min(chunk_paths, paths) * n_times  # a chunk's kernel temporaries
    return paths * per_path + chunk + BASE_BYTES


def check_memory(
    paths: int,
    start_year: float,
    end_year: float,
    steps_per_year: int,
    *,
    n_anchors: int = 0,
    chunk_paths: int = 2000,
    available: int | None = None,
) -> None:
    """Refuse a run whose cube cannot fit in memory, naming the largest run that fits.

    Raises
    ------
    ResourceError
        With errno ENOMEM; the message gives the estimate, what is available and the
        largest number of paths that fits at this grid.
    """
    avail = available_memory() if available is None else available
    if avail is None:
        return
    n_times = math.ceil((end_year - start_year) * steps_per_year - 1e-9) + 1
    need = projection_bytes(paths, n_times, n_anchors, chunk_paths)
    if need <= avail:
        return
    per_path = BYTES_PER_CELL * n_times + BYTES_PER_PATH + 16 * n_anchors
    room = avail - BASE_BYTES - 4 * 8 * min(chunk_paths, paths) * n_times
    fits = max(room // per_path, 0)
    largest = (
        f"the largest run that fits is about {_round_down(fits):,} paths at "
        f"steps_per_year = {steps_per_year}"
        if fits >= 1
        else "not even one path fits at this grid"
    )
    raise ResourceError(
        errno.ENOMEM,
        f"{paths:,} paths x {n_times:,} grid times ({start_year:.4g} to {end_year:g} at "
        f"steps_per_year = {steps_per_year}) need about {format_bytes(need)} of memory, "
        f"{format_bytes(avail)} available; {largest}: use --paths or a coarser grid",
    )


def check_memory_bytes(need: int, what: str, advice: str) -> None:
    """Refuse ``what`` when its estimated ``need`` [bytes] exceeds the available memory."""
    avail = available_memory()
    if avail is not None and need + BASE_BYTES > avail:
        raise ResourceError(
            errno.ENOMEM,
            f"{what} needs about {format_bytes(need + BASE_BYTES)} of memory, "
            f"{format_bytes(avail)} available; {advice}",
        )


def check_projection_memory(scen: Scenario, systems: Systems, *, chunk_paths: int) -> None:
    """:func:`check_memory` for a scenario (start at the newest data when not given)."""
    start = scen.start_year
    if start is None:
        kept = systems.until(scen.data.cutoff)
        start = float(kept.year.max()) if len(kept) else scen.end_year - 1
    check_memory(
        scen.paths,
        start,
        scen.end_year,
        scen.steps_per_year,
        n_anchors=len(scen.anchors),
        chunk_paths=chunk_paths,
    )


def check_plan_memory(scen: Scenario, systems: Systems) -> None:
    """Refuse a grid whose plan cannot fit: with ``frontier_noise = 'resampled'`` the plan
    holds deviations for every past origin x lag up to the oldest origin (before any path
    is drawn), so a very fine grid over a long Deep-Learning era needs much memory."""
    if getattr(scen, "frontier_noise", "none") != "resampled":
        return
    start = scen.start_year
    kept = systems.until(scen.data.cutoff)
    if start is None:
        start = float(kept.year.max()) if len(kept) else scen.end_year - 1
    from projector.inputs.systems import decimal_year

    first = decimal_year(scen.data.dl_start)
    dl0 = float(min((y for y in kept.year if y >= first), default=start))
    window = getattr(scen, "frontier_noise_years", 0) or 0
    if window > 0:
        dl0 = max(dl0, start - window)
    n_origin = max(int((start - dl0) * scen.steps_per_year), 0)
    n_times = math.ceil((scen.end_year - start) * scen.steps_per_year - 1e-9) + 1
    n_cols = min(n_times, n_origin + 1)  # columns after every origin's history are equal
    need = 4 * 8 * n_origin * n_cols  # deviations, lags and two temporaries
    check_memory_bytes(
        need,
        f"{scen.source}: growth.frontier_noise = 'resampled' on a grid of {n_times:,} times "
        f"(steps_per_year = {scen.steps_per_year}, to {scen.end_year:g})",
        "use a coarser steps_per_year or an earlier end_year",
    )


def _round_down(n: int) -> int:
    """Two significant figures, rounded down (a suggestion that surely fits)."""
    if n < 100:
        return int(n)
    scale = 10 ** (len(str(n)) - 2)
    return int(n // scale * scale)


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


# --- result cubes ---------------------------------------------------------------------------

#: What the summaries and the fan chart read from a result: variables and their dims.
CUBE_VARIABLES = {
    "log10_compute_yearly": ("path", "year"),
    "crossing_year": ("path", "anchor"),
    "anchor_log10_flop": ("anchor",),
}
#: Attributes the summaries read.
CUBE_ATTRS = (
    "scenario_name",
    "paths",
    "seed",
    "start_date",
    "log10_start_compute",
    "start_compute_source",
    "end_year",
    "moore_units",
    "weight_shape",
    "dataset",
    "dataset_sha256",
    "n_systems_pre_dl",
    "n_systems_dl",
    "data_cutoff",
    "projector_version",
    "report_years",
    "report_quantiles",
)


def check_cube(ds: Any, path: Path) -> None:
    """Refuse a result the summaries cannot read: missing variables, attributes or paths.

    ``ds`` is an ``xarray.Dataset`` (lazy for a Zarr store: only coordinates and
    attributes are read); typed loosely so this module needs no xarray.
    """
    import numpy as np

    bad = f"{path}: not a complete projector result"
    for name, dims in CUBE_VARIABLES.items():
        if name not in ds.variables:
            raise InputError(f"{bad} (variable '{name}' missing); run project again")
        if tuple(ds[name].dims) not in (dims, ("variant", *dims)):  # a sweep adds variant
            raise InputError(
                f"{bad} (variable '{name}' has dims {tuple(ds[name].dims)}, expected {dims})"
            )
    missing = [a for a in CUBE_ATTRS if a not in ds.attrs]
    if missing:
        raise InputError(f"{bad} (attribute '{missing[0]}' missing); run project again")
    if ds.sizes["path"] < 1:
        raise InputError(f"{bad} (it has no paths)")
    if ds.sizes["year"] < 1:
        raise InputError(f"{bad} (it has no years)")
    for coord in ("anchor", "year"):
        if coord not in ds.coords:
            raise InputError(f"{bad} (coordinate '{coord}' missing)")
    grid = np.asarray(ds["year"].values, dtype=np.float64)
    if not np.all(np.isfinite(grid)) or not np.all(np.diff(grid) > 0):
        raise InputError(f"{bad} (its year coordinate is not increasing)")
    try:
        years = np.atleast_1d(np.asarray(ds.attrs["report_years"], dtype=np.float64))
        qs = np.atleast_1d(np.asarray(ds.attrs["report_quantiles"], dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"{bad} (report_years or report_quantiles are not numbers)") from None
    off = [y for y in years if not np.any(np.abs(grid - y) < 1e-6)]
    if years.size == 0 or off:
        raise InputError(f"{bad} (report year {off[0] if off else '?'} not in its year grid)")
    if qs.size == 0 or np.any(~((qs > 0) & (qs < 1))):
        raise InputError(f"{bad} (report_quantiles not in (0, 1))")
