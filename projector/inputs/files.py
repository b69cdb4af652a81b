"""Reading an input file the user named: a regular file of bounded size, or one line.

Dependency direction: imports ``errors`` only; ``systems`` and ``constraints`` read their
files through it. A FIFO, a device (``/dev/zero``) or a folder is refused before a byte
is read (``O_NONBLOCK``: opening a FIFO with no writer does not wait for one), and a
file larger than the limit is refused from its size, not after filling memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from projector.errors import InputError

__all__ = ["read_input_file"]


def read_input_file(path: str | Path, *, what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises
    ------
    InputError
        Naming ``path`` and ``what`` it should be: missing or unreadable, not a regular
        file, or larger than ``limit`` bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(f"{path}: not a regular file (a folder, FIFO or device); give {what}")
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > limit:
            raise InputError(
                f"{path}: {info.st_size:,} bytes is too large for {what} (at most {limit:,})"
            )
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    if len(data) > limit:
        raise InputError(f"{path}: too large for {what} (at most {limit:,} bytes)")
    return data
