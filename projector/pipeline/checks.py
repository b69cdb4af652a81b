"""Checks made before any compute: output paths writable, names usable; cubes well formed.

Dependency direction: imports ``errors`` and ``fileio`` only; the pipeline calls these
before loading data or running a projection (memory and disk: ``budget``), so a run that
cannot finish fails in a second with one line, not after an hour of compute.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projector.errors import InputError, ResourceError
from projector.pipeline.fileio import check_replaceable_file
from projector.pipeline.transaction import check_replaceable_folder

if TYPE_CHECKING:
    pass

__all__ = [
    "check_cube",
    "check_output_file",
    "check_output_folder",
    "check_path_text",
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


# --- result cubes ---------------------------------------------------------------------------

#: What the summaries and the fan chart read from a result: variables and their dims.
CUBE_VARIABLES = {
    "log10_compute_yearly": ("path", "year"),
    "crossing_year": ("path", "anchor"),
    "anchor_log10_flop": ("anchor",),
}


def _summarized_keys() -> tuple[str, ...]:
    """Result attributes of the scenario keys the summaries read (``inputs.params``)."""
    from projector.inputs.declare import declared
    from projector.inputs.params import Scenario as Declared

    return tuple(p.result for p in declared(Declared) if p.summarized)


#: Attributes the summaries read: the scenario keys declared ``summarized``, then what
#: the run itself records.
CUBE_ATTRS = (
    *_summarized_keys(),
    "start_date",
    "log10_start_compute",
    "start_compute_source",
    "dataset",
    "dataset_sha256",
    "n_systems_pre_dl",
    "n_systems_dl",
    "data_cutoff",
    "projector_version",
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
