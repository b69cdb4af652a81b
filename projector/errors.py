"""The error types, and the one place that turns a failure into one line and an exit status.

Dependency direction: a leaf; every module may import it, it imports nothing from projector.

Every module raises :class:`InputError` for bad input (a malformed scenario, data file,
argument) and :class:`ResourceError` when the environment fails (disk full, no
permission, not enough memory, the output locked by another run). The command line
(``cli.main``) catches everything through :func:`classify` and prints
``projector: <message>``; the message names the file, the key, row or argument and
what to do.

Exit statuses (:data:`EXIT`): 0 ok; 2 bad input; 3 environment failure; 70 internal
error (a bug: "please report"); 128 + signal number when interrupted (130 for SIGINT,
143 for SIGTERM).
"""

from __future__ import annotations

import errno
import signal

__all__ = [
    "EXIT",
    "InputError",
    "Interrupted",
    "MissingExtra",
    "ResourceError",
    "classify",
]

EXIT = {"ok": 0, "input": 2, "environment": 3, "internal": 70}


class InputError(ValueError):
    """Bad user input: a scenario, data file or argument that cannot be used."""


class MissingExtra(InputError):
    """An optional dependency is not installed: the message names the extra to install."""


class ResourceError(OSError):
    """The environment failed: disk full, permission denied, memory, a busy lock."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (exit status 128 + signum).

    A subclass of :class:`KeyboardInterrupt`, so ``except Exception`` cannot swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


# errno -> (status kind, advice). Path problems are bad input (the user named the path);
# a full disk, a read-only file system or missing permission is the environment.
_ERRNO: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("environment", "no space left on the device; free space or write elsewhere"),
    errno.EDQUOT: ("environment", "disk quota exceeded; free some space or write elsewhere"),
    errno.EACCES: ("environment", "permission denied; choose a folder you can write to"),
    errno.EPERM: ("environment", "operation not permitted; choose a folder you can write to"),
    errno.EROFS: ("environment", "read-only file system; choose a folder you can write to"),
    errno.ENOMEM: ("environment", "not enough memory; ask for fewer paths or a coarser grid"),
    errno.EMFILE: ("environment", "too many open files; raise the limit (ulimit -n)"),
    errno.EIO: ("environment", "input/output error from the device"),
    errno.EBUSY: ("environment", "device or resource busy; try again later"),
    errno.EXDEV: ("environment", "cannot rename across file systems"),
    errno.ENOENT: ("input", "no such file or folder"),
    errno.ENOTDIR: ("input", "a part of the path is not a folder"),
    errno.EISDIR: ("input", "is a folder; give a file name"),
    errno.ENAMETOOLONG: ("input", "file name too long"),
    errno.EEXIST: ("input", "already exists"),
    errno.ELOOP: ("input", "too many levels of symbolic links"),
    errno.EINVAL: ("input", "invalid argument (a name the file system does not accept?)"),
    errno.ENXIO: ("input", "no such device or address (a FIFO without a reader?)"),
    errno.ETXTBSY: ("environment", "file busy"),
    errno.EFBIG: (
        "environment",
        "file too large (the file-size limit, ulimit -f, or the file system's); raise the "
        "limit or write less (--keep-paths, --paths)",
    ),
    errno.EAGAIN: ("environment", "resource temporarily unavailable (a process or thread limit?)"),
    errno.ETIMEDOUT: ("environment", "timed out"),
    errno.ECONNRESET: ("environment", "connection reset by the other side"),
}

#: Failures the environment causes that arrive without an errno: a library that cannot
#: be mapped (address-space limit, ``ulimit -v``) or a thread that cannot be started.
#: (type name, words in the message) -> advice.
_LIMITS: tuple[tuple[str, str, str], ...] = (
    (
        "OSError",
        "shared object",
        "cannot load a compiled library (address-space limit, ulimit -v, too low?); "
        "raise the limit or free memory",
    ),
    (
        "ImportError",
        "shared object",
        "cannot load a compiled library (address-space limit, ulimit -v, too low?); "
        "raise the limit or free memory",
    ),
    (
        "RuntimeError",
        "can't start new thread",
        "cannot start a thread (memory or process limit: ulimit -v / ulimit -u); raise the "
        "limit, or use --threads 1",
    ),
    (
        "RuntimeError",
        "can't create new thread",
        "cannot start a thread (memory or process limit: ulimit -v / ulimit -u); raise the "
        "limit, or use --threads 1",
    ),
)


def _one_line(text: str) -> str:
    """Whitespace runs to one space; other control characters (a NUL in a name) escaped."""
    flat = " ".join(str(text).split())
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in flat
    )


def _shorten(text: str, keep: int = 160) -> str:
    """A path too long to read in one line: its head and tail."""
    return text if len(text) <= keep else f"{text[: keep // 2]}...{text[-keep // 2 :]}"


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for ``exc`` (without ``projector: ``).

    Unexpected exceptions are internal errors (status 70): the message says so and asks
    for a report, so a real bug is never dressed up as bad input.
    """
    if isinstance(exc, Interrupted):
        return 128 + exc.signum, f"interrupted ({exc.name}); the previous result is unchanged"
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "interrupted (SIGINT); the previous result is unchanged"
    if isinstance(exc, InputError):
        return EXIT["input"], _one_line(str(exc))
    if isinstance(exc, ResourceError):  # its strerror is the whole message
        return EXIT["environment"], _one_line(exc.strerror or str(exc))
    if isinstance(exc, MemoryError):
        detail = f" ({_one_line(str(exc))})" if str(exc) else ""
        return (
            EXIT["environment"],
            f"out of memory{detail}; ask for fewer paths (--paths) or a coarser grid "
            "(steps_per_year), or free memory",
        )
    if isinstance(exc, RecursionError):
        return EXIT["input"], "input nested too deeply to process; flatten it"
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        kind, advice = _ERRNO[exc.errno]
        where = _shorten(str(exc.filename)) if exc.filename is not None else ""
        if exc.filename2 is not None:
            where = f"{where} -> {_shorten(str(exc.filename2))}"
        prefix = f"{where}: " if where else ""
        return EXIT[kind], _one_line(f"{prefix}{advice}")
    name = type(exc).__name__
    for kind, words, advice in _LIMITS:
        if type(exc).__name__ == kind and words in str(exc):
            return EXIT["environment"], advice
    return (
        EXIT["internal"],
        _one_line(f"internal error, please report: {name}: {exc}"),
    )
