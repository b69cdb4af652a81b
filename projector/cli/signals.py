"""The command line's signal handling: SIGINT and SIGTERM raise :class:`Interrupted`.

Dependency direction: imports ``errors`` and ``pipeline.transaction``; only ``cli.app``
imports it. The library installs no handler (a notebook keeps its own Ctrl-C); the
command line holds :func:`interrupts_raise` around a whole run, so every ``finally``
and every transaction cleans up and the run exits 130 or 143 with one line.

A signal that some library swallowed (``except BaseException`` while a cube is
encoded) is remembered: the guard refuses every commit of a result folder or file
after it (``transaction.commit_checks``), and the run still ends as interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from projector.errors import Interrupted
from projector.pipeline.transaction import commit_checks

__all__ = ["Guard", "interrupts_raise"]


class Guard:
    """Remembers the first SIGINT/SIGTERM of the run; :meth:`check` raises after one."""

    def __init__(self) -> None:
        self.received: int | None = None

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        raise Interrupted(signum)

    def check(self) -> None:
        """Raise if a signal arrived, even one whose exception a library swallowed."""
        if self.received is not None:
            raise Interrupted(self.received)


@contextlib.contextmanager
def interrupts_raise() -> Iterator[Guard]:
    """SIGINT/SIGTERM raise :class:`Interrupted` inside the block; the old handlers after.

    Handlers can only be set in the main thread: elsewhere the block changes nothing but
    still refuses commits after a signal seen by an enclosing guard.
    """
    guard = Guard()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, guard.handler)
    try:
        with commit_checks(guard.check):
            yield guard
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
