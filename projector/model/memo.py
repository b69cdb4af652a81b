"""Recent draws and fits kept for the next run of the same inputs: the warm path.

Dependency direction: imports nothing of projector; ``draws``, ``engine`` and
``record_process`` ask it, :mod:`projector.pipeline.warm` switches it on.

A run's random draws depend only on the seed, the range of paths and the sizes of the
data (``draws``), its bootstrap rates only on those draws and the systems they resample,
and the record process's uniforms only on the seed, the paths and the grid. When a
researcher moves a slider the next run changes none of these, so they are kept here
under a key that holds every input they are a function of, and handed back as they were
(nothing downstream writes into them: the engine copies what it changes, and the arrays
stay writeable so that the jitted kernels see the types they were compiled for). The
bits cannot change: a cached value is the value the function returned for that key.

Off by default (a command-line run computes each draw once); :func:`enable` turns it on
for the process (``pipeline.warm`` does, for runs in memory of at most
:data:`MAX_PATHS` paths), holding at most :data:`LIMIT_BYTES`, the least recently used
entry dropped first.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

__all__ = ["LIMIT_BYTES", "MAX_PATHS", "cached", "clear", "digest", "enable", "enabled"]

#: The most memory the kept values may take [bytes] (a 10,000-path run of ``default``
#: keeps about 90 MB: the record process's uniforms are one float64 per path and step).
LIMIT_BYTES = 400 * 2**20
#: Chunks of more paths than this are never kept (they would evict everything else).
MAX_PATHS = 50_000

T = TypeVar("T")

_lock = threading.Lock()
_entries: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
_state = {"on": False, "bytes": 0}


def enable(on: bool = True) -> None:
    """Keep recent draws from now on (or stop, and forget them)."""
    with _lock:
        _state["on"] = bool(on)
    if not on:
        clear()


def enabled() -> bool:
    return bool(_state["on"])


def clear() -> None:
    """Forget every kept value."""
    with _lock:
        _entries.clear()
        _state["bytes"] = 0


def digest(*arrays: np.ndarray) -> str:
    """A short key for the contents of arrays (the systems a bootstrap resamples)."""
    h = hashlib.sha256()
    for a in arrays:
        arr = np.ascontiguousarray(a)
        h.update(str((arr.dtype, arr.shape)).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:32]


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple | list):
        return sum(_size(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(_size(getattr(value, f)) for f in value.__dataclass_fields__)
    return 64


def cached(key: Hashable, paths: int, make: Callable[[], T]) -> T:
    """``make()``, or the value it gave for ``key`` when kept (``paths``: the chunk's
    size, for :data:`MAX_PATHS`). ``key`` must hold every input ``make`` reads."""
    if not _state["on"] or paths > MAX_PATHS:
        return make()
    with _lock:
        hit = _entries.get(key)
        if hit is not None:
            _entries.move_to_end(key)
            return hit[0]
    value = make()
    size = _size(value)
    with _lock:
        if key not in _entries and size <= LIMIT_BYTES:
            _entries[key] = (value, size)
            _state["bytes"] += size
            while _state["bytes"] > LIMIT_BYTES and _entries:
                _, (_, dropped) = _entries.popitem(last=False)
                _state["bytes"] -= dropped
    return value
