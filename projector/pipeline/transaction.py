"""Result folders as transactions: old result or new one, never a mix, never a leftover.

Dependency direction: imports ``errors`` (and ``filelock``) only; every writer of a result
folder uses it.

:func:`result_transaction` locks the target, removes the temporaries of killed runs,
yields a fresh empty folder beside the target (same file system) and, when the block
ends normally, swaps it into place as a whole:

- Linux: one ``renameat2(..., RENAME_EXCHANGE)`` call exchanges the two folders
  atomically; the old result then sits under the temporary name and is removed.
- Elsewhere (or a file system without RENAME_EXCHANGE): the old folder is renamed aside
  (``.<name>.old-*``), the new one renamed into place, then the old one removed. A crash
  between the two renames leaves no folder at ``target`` but the old result aside; the
  next run on the target (under the lock) renames it back before anything else.

On any exception (``KeyboardInterrupt`` included: a ``try``/``finally``) the temporary
folder is removed and the old result is untouched. No signal handler is installed here:
the caller's Ctrl-C stays the caller's. The command line turns SIGTERM into an exception
too and registers a :func:`commit_checks` check, so a signal some library swallowed still
refuses the swap. Locks are ``filelock`` (``flock``) locks, so a run killed with -9
releases its lock; its temporaries are removed by the next run on the same target.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import math
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from projector.errors import InputError, ResourceError

__all__ = [
    "LOCK_WAIT_SECONDS",
    "RESULT_SUFFIXES",
    "before_commit",
    "check_replaceable_folder",
    "commit_checks",
    "exchange",
    "lock_wait_seconds",
    "locked",
    "make_parents",
    "name_target",
    "remove_abandoned",
    "remove_empty",
    "result_transaction",
    "signals_blocked",
    "temporaries_of",
]

#: How long a second run on the same target waits for the lock before refusing [s].
LOCK_WAIT_SECONDS = 10.0


def lock_wait_seconds() -> float:
    """How long to wait for a folder's lock [s]: ``PROJECTOR_LOCK_WAIT`` or 10.

    Read at each use (not at import), so a bad value is a one-line input error of the
    command that needs the lock, never a traceback at import.
    """
    text = os.environ.get("PROJECTOR_LOCK_WAIT", "").strip()
    if not text:
        return LOCK_WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(f"PROJECTOR_LOCK_WAIT: expected a number of seconds >= 0, got {text!r}")
    return value


#: An existing folder is replaced only if everything in it has one of these suffixes, so
#: ``--out ~/Documents`` is refused rather than wiped.
RESULT_SUFFIXES = (".nc", ".zarr", ".csv", ".md", ".png", ".svg", ".json", ".html", ".txt")

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_TMP, _OLD, _LOCK = "tmp", "old", "lock"


def _hidden(target: Path, kind: str, tag: str = "") -> Path:
    """``.<name>.<kind>[-tag]`` beside ``target``: temporaries, set-aside results, lock."""
    suffix = f"-{tag}" if tag else ""
    return target.parent / f".{target.name}.{kind}{suffix}"


def temporaries_of(target: Path) -> list[Path]:
    """Temporaries and set-aside results of earlier runs beside ``target`` (not the lock)."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    prefixes = (f".{target.name}.{_TMP}-", f".{target.name}.{_OLD}-")
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefixes))


# --- signals and commit checks ---------------------------------------------------------

#: Checks run just before a result is published; each raises to refuse the commit. Empty
#: in library use; the command line adds one that raises after a SIGINT/SIGTERM, even one
#: a library swallowed (``projector.cli.signals``). Projector's own state, not the process's.
_COMMIT_CHECKS: list[Callable[[], None]] = []


@contextlib.contextmanager
def commit_checks(check: Callable[[], None]) -> Iterator[None]:
    """Run ``check`` before every commit of a result folder or file inside the block."""
    _COMMIT_CHECKS.append(check)
    try:
        yield
    finally:
        _COMMIT_CHECKS.remove(check)


def before_commit() -> None:
    """Raise if any registered check refuses the commit (see :func:`commit_checks`)."""
    for check in list(_COMMIT_CHECKS):
        check()


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Defer SIGINT/SIGTERM over a few system calls that must not be split.

    Only this thread's signal mask, restored at once: no handler is changed, a signal
    that arrives meanwhile is delivered (to whatever handler the caller has) right after.
    """
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- lock --------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(target: Path, wait: float) -> Iterator[None]:
    """An exclusive lock (``filelock``, an ``flock`` on Unix) on ``.<name>.lock`` beside
    ``target``; the file is removed on release.

    It is unlinked while still held, so a waiter that opened it meets an unlinked file
    and ``filelock`` retries on the path's new file; a run killed with -9 releases it.
    """
    import filelock

    lock_path = _hidden(target, _LOCK)
    lock = filelock.FileLock(lock_path, timeout=wait, mode=0o644, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ResourceError(
            errno.EBUSY,
            f"{target}: another projector run is writing this result "
            f"(lock {lock_path.name} held for {wait:g} s); wait for it to "
            "finish or choose another --out",
        ) from None
    try:
        yield
    finally:
        try:
            with contextlib.suppress(OSError):
                lock_path.unlink()
        finally:
            lock.release()


@contextlib.contextmanager
def locked(target: Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold the lock a :func:`result_transaction` on ``target`` takes: no run replaces the
    folder inside the block (for writers of files into an existing result folder)."""
    target = Path(os.path.abspath(target))
    with _locked(target, lock_wait_seconds() if wait is None else wait):
        yield


# --- the swap ----------------------------------------------------------------------------


def _renameat2() -> Any:
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths; False where the system cannot."""
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` so the swap publishes complete data."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync folders
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


#: Temporaries of aborted transactions in this process: removed once more at exit, as
#: worker threads of an interrupted run may recreate entries after the first removal.
_ABANDONED: list[Path] = []


def remove_abandoned() -> None:
    """Remove the temporaries of this process's aborted transactions (call at exit)."""
    while _ABANDONED:
        _remove(_ABANDONED.pop())


def _remove_fully(path: Path, attempts: int = 250) -> None:
    """Remove ``path``, again while writers still finishing (worker threads of an
    interrupted run) recreate entries in it; the next run removes anything left."""
    for _ in range(attempts):
        _remove(path)
        if not os.path.lexists(path):
            return
        time.sleep(0.02)


def _recover(target: Path) -> None:
    """Undo what killed runs left: put a set-aside old result back, remove temporaries."""
    leftovers = temporaries_of(target)
    if not os.path.lexists(target):
        olds = [p for p in leftovers if p.name.startswith(f".{target.name}.{_OLD}-")]
        if olds:  # a crash between the two renames of the fallback: the old result is whole
            os.rename(olds[-1], target)
            leftovers.remove(olds[-1])
    for path in leftovers:
        _remove(path)


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing ancestors; return the ones created, outermost first."""
    missing = []
    p = folder
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    if os.path.lexists(p) and not p.is_dir():
        raise InputError(f"{folder}: cannot create the folder: {p} is not a folder")
    for m in reversed(missing):
        os.mkdir(m)
    return list(reversed(missing))


def remove_empty(created: list[Path]) -> None:
    for p in reversed(created):
        with contextlib.suppress(OSError):
            p.rmdir()


@contextlib.contextmanager
def result_transaction(target: Path, *, wait: float | None = None) -> Iterator[Path]:
    """Lock ``target``, yield an empty folder beside it, swap it into place on success.

    Parameters
    ----------
    target
        The result folder. It may be missing (it is created) or hold an older result,
        which stays intact until the one atomic swap and is removed after it.
    wait
        Seconds to wait for another run's lock on the same target before refusing
        (default :data:`LOCK_WAIT_SECONDS`).

    Raises
    ------
    InputError
        ``target`` exists and is not a folder (a file, a symlink, a FIFO, a device).
    ResourceError
        Another run holds the lock longer than ``wait``.
    KeyboardInterrupt
        Ctrl-C in the block (or :class:`~projector.errors.Interrupted` from the command
        line's handlers, also after a signal a library swallowed): nothing is published.
    """
    target = Path(os.path.abspath(target))
    if not target.name or target.name in (".", ".."):
        raise InputError(f"{target}: not usable as a result folder name")
    if os.path.islink(target) or (os.path.lexists(target) and not target.is_dir()):
        raise InputError(
            f"{target}: exists and is not a plain folder (a file, symlink or device); "
            "remove it or choose another output folder"
        )
    check_replaceable_folder(target)
    created = make_parents(target.parent)
    committed = False
    try:
        with _locked(target, lock_wait_seconds() if wait is None else wait):
            _recover(target)
            check_replaceable_folder(target)
            tmp = _hidden(target, _TMP, f"{os.getpid()}-{secrets.token_hex(4)}")
            os.mkdir(tmp, 0o777)
            try:
                try:
                    yield tmp
                    before_commit()
                    _fsync_tree(tmp)
                    _commit(tmp, target)
                    committed = True
                except OSError as exc:
                    raise name_target(exc, tmp, target) from exc
            finally:
                with signals_blocked():
                    _remove_fully(tmp)  # after a commit: the old result, under the tmp name
                    if not committed:
                        _ABANDONED.append(tmp)
    finally:
        if not committed:
            remove_empty(created)


def name_target(exc: OSError, tmp: Path, target: Path) -> OSError:
    """``exc`` naming ``target`` (what the user asked for) rather than our temporary."""
    if isinstance(exc, ResourceError) or (exc.filename and str(tmp) not in str(exc.filename)):
        return exc
    new = OSError(exc.errno, exc.strerror or str(exc), str(target))
    return new if type(exc) is OSError or exc.errno is not None else exc


def check_replaceable_folder(target: Path) -> None:
    """Refuse to replace the current folder, its ancestors, home, or a folder of other files."""
    if not os.path.lexists(target):
        return
    if os.path.ismount(target):
        raise InputError(
            f"{target}: is a mount point and cannot be replaced; use a folder inside it"
        )
    here = Path.cwd().resolve()
    real = target.resolve()
    if real == here or real in here.parents or real == Path.home().resolve():
        raise InputError(
            f"{target}: is the current folder, one of its parents or your home folder; "
            "give a result folder of its own (e.g. results/NAME)"
        )
    try:
        foreign = sorted(
            e.name for e in os.scandir(target) if not _is_result_file(e.name) or e.is_symlink()
        )
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    if foreign:
        raise InputError(
            f"{target}: holds {foreign[0]!r}, which is not a projector result file, and the "
            "whole folder would be replaced; choose a new or empty folder"
        )


def _is_result_file(name: str) -> bool:
    """A result file, or the temporary of one a killed writer left
    (``.<name>.<pid>.<random>.part``, :func:`projector.pipeline.fileio.atomic_path`)."""
    if name.endswith(RESULT_SUFFIXES):
        return True
    left = re.fullmatch(r"\.(.+)\.\d+\.[A-Za-z0-9_]+\.part", name)
    return left is not None and left.group(1).endswith(RESULT_SUFFIXES)


def _commit(tmp: Path, target: Path) -> None:
    """Publish ``tmp`` at ``target`` in one atomic step (see the module docstring)."""
    with signals_blocked():
        before_commit()
        if os.path.lexists(target) and not os.path.islink(target) and target.is_dir():
            if not exchange(tmp, target):
                old = _hidden(target, _OLD, f"{os.getpid()}-{secrets.token_hex(4)}")
                os.rename(target, old)
                os.rename(tmp, target)
                os.rename(old, tmp)  # so the caller's cleanup removes it
        elif os.path.lexists(target):
            raise InputError(f"{target}: exists and is not a plain folder; remove it")
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
