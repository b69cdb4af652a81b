"""Atomic single-file output shared by every writer of one file.

Dependency direction: imports ``errors`` and ``transaction``; ``results``, ``cli`` and the
plot and export writers import it. Folders of results use
:func:`projector.pipeline.transaction.result_transaction` instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from projector.errors import InputError
from projector.pipeline.transaction import (
    before_commit,
    make_parents,
    name_target,
    remove_empty,
    signals_blocked,
)

__all__ = ["atomic_path", "atomic_paths", "check_replaceable_file", "write_bytes"]


def check_replaceable_file(target: Path, what: str = "") -> None:
    """Refuse a target that is not a regular file or missing: a folder, symlink, FIFO, device.

    Replacing a symlink would cut it rather than write through it, and a FIFO or device
    would be replaced by a regular file; the user almost certainly did not mean that.
    """
    label = f"{what} {target}" if what else str(target)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise InputError(f"{label}: a part of the path is not a folder") from None
    mode = st.st_mode
    kind = (
        "a folder; give a file name"
        if stat.S_ISDIR(mode)
        else "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else ""
    )
    if kind:
        raise InputError(f"{label}: is {kind}; refusing to replace it (choose a regular file)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _clean_stale(target: Path) -> None:
    """Remove ``.<name>.<pid>.*.part`` files whose writer is gone (killed with -9).

    The writer's process id is in the name: HDF5 locks the files it writes itself, so a
    lock of ours on the temporary would make it fail. A name without one (an older
    version's) counts as stale after an hour.
    """
    prefix = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for p in entries:
        if not (p.name.startswith(prefix) and p.name.endswith(".part")):
            continue
        pid_text = p.name[len(prefix) :].split(".", 1)[0]
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if pid_text.isdigit():
            if _alive(int(pid_text)):
                continue
        elif time.time() - st.st_mtime < 3600:
            continue
        with contextlib.suppress(OSError):
            p.unlink()


def _umask() -> int:
    """The process's umask, read without setting it where the system allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    An interrupted or failed write (any exception, ``KeyboardInterrupt`` included: a
    ``try``/``finally``, no signal handler) leaves ``target`` as it was and removes the
    temporary file; temporaries of runs killed with -9 are removed by
    the next write to the same target. A target that is a folder, symlink, FIFO or device
    is refused (:class:`InputError`) rather than replaced.
    """
    target = Path(target)
    if not target.name or target.name in (".", ".."):
        raise InputError(f"{target}: not a file name")
    check_replaceable_file(target)
    created = make_parents(target.parent)
    done = False
    try:
        _clean_stale(target)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent
        )
        tmp = Path(tmp_name)
        try:
            try:
                yield tmp
                before_commit()
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the usual permissions
                wfd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(wfd)
                finally:
                    os.close(wfd)
                check_replaceable_file(target)
                os.replace(tmp, target)
                done = True
            except OSError as exc:
                raise name_target(exc, tmp, target) from exc
        finally:
            os.close(fd)
            if not done:
                tmp.unlink(missing_ok=True)
    finally:
        if not done:
            remove_empty(created)


@contextlib.contextmanager
def atomic_paths(targets: Sequence[Path]) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for files that belong together (``report.html`` and its
    Markdown twin): all are replaced, or none.

    Each target is written to a temporary; then, with SIGINT/SIGTERM deferred, each
    existing target is kept aside (a hard link, or a copy) and the temporaries renamed
    into place; if any rename fails, the targets already replaced get their old files
    back (or are removed when they had none) and the error is raised.
    """
    targets = [Path(t) for t in targets]
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(_staged(t)) for t in targets]
        try:
            yield tmps
            before_commit()
            for tmp, t in zip(tmps, targets, strict=True):
                os.chmod(tmp, 0o666 & ~_umask())
                wfd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(wfd)
                finally:
                    os.close(wfd)
                check_replaceable_file(t)
            _replace_together(tmps, targets)
        except OSError as exc:  # name the target, not our temporary
            for tmp, t in zip(tmps, targets, strict=True):
                if exc.filename is not None and str(tmp) in str(exc.filename):
                    raise name_target(exc, tmp, t) from exc
            raise


@contextlib.contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """An empty temporary beside ``target`` (as :func:`atomic_path`'s); removed, with the
    folders made for it, unless it was renamed into place."""
    if not target.name or target.name in (".", ".."):
        raise InputError(f"{target}: not a file name")
    check_replaceable_file(target)
    created = make_parents(target.parent)
    _clean_stale(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
    finally:
        if os.path.lexists(tmp):  # not renamed into place
            tmp.unlink(missing_ok=True)
            remove_empty(created)


def _replace_together(tmps: list[Path], targets: list[Path]) -> None:
    backups: dict[Path, Path] = {}
    done: list[Path] = []
    with signals_blocked():
        try:
            for t in targets:
                if os.path.lexists(t):
                    fd, name = tempfile.mkstemp(
                        prefix=f".{t.name}.{os.getpid()}.", suffix=".part", dir=t.parent
                    )
                    os.close(fd)
                    os.unlink(name)
                    try:
                        os.link(t, name)
                    except OSError:  # a file system without hard links
                        shutil.copy2(t, name)
                    backups[t] = Path(name)
            for tmp, t in zip(tmps, targets, strict=True):
                os.replace(tmp, t)
                done.append(t)
        except BaseException:
            for t in reversed(done):
                with contextlib.suppress(OSError):
                    if t in backups:
                        os.replace(backups.pop(t), t)
                    else:
                        t.unlink()
            raise
        finally:
            for b in backups.values():
                with contextlib.suppress(OSError):
                    b.unlink()


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` with plain file I/O (a full disk is a clean OSError)."""
    with open(path, "wb") as fh:
        view = memoryview(data)
        while view:
            n = fh.write(view)
            if not n:
                raise OSError(errno.EIO, "short write", str(path))
            view = view[n:]
