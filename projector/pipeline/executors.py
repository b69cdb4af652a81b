"""Executors: serial, threaded and Dask-distributed runs of the same chunk function.

Dependency direction: ``engine``, ``cube`` and ``store`` -> ``execute`` -> ``api``,
``cli``. Every executor maps :func:`compute_chunk` (``engine.run_chunk`` followed by
``cube.chunk_arrays``) over the chunks of a run and hands each result, in path order,
to the store writer; so a serial run, a threaded run and a run on any Dask cluster
give the same bits.

Memory: at most ``2 x slots`` chunks are in flight (submitted and not yet written),
so peak memory is set by the chunk size and the number of workers, not by the number
of paths.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.model import engine
from projector.model.cube import chunk_arrays, reduction

__all__ = [
    "DEFAULT_CHUNK",
    "Executor",
    "SerialExecutor",
    "chunk_size",
    "compute_chunk",
    "connect",
    "map_chunks",
]

#: Paths per chunk when not given: large enough that per-chunk overheads vanish, small
#: enough that a chunk of the default grid takes about 0.4 GB while it is computed.
DEFAULT_CHUNK = 25_000


class Executor(Protocol):
    """What :func:`map_chunks` needs: ``submit(fn, *args) -> future with .result()``."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class SerialExecutor:
    """Runs each task when it is submitted, in the calling thread."""

    slots = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> _Done:
        return _Done(fn(*args))


def chunk_size(paths: int, chunk_paths: int | None = None) -> int:
    """Paths per chunk: ``chunk_paths`` or :data:`DEFAULT_CHUNK`, a multiple of the RNG
    block (so no block is drawn twice) and never more than the run."""
    size = DEFAULT_CHUNK if chunk_paths is None else chunk_paths
    if size >= engine.RNG_BLOCK:
        size -= size % engine.RNG_BLOCK
    return max(1, min(size, paths))


def compute_chunk(
    p: engine.Plan, first: int, stop: int, years: npt.NDArray[np.float64], keep: int
) -> tuple[int, int, dict[str, np.ndarray], int]:
    """The task every executor runs: paths ``[first, stop)`` reduced to what is stored."""
    c = engine.run_chunk(p, first, stop, reduction(p, years, keep))
    return first, stop, chunk_arrays(p, c, years, keep), c.clipped


def map_chunks(
    executor: Any,
    tasks: Sequence[tuple[Any, ...]],
    sink: Callable[[int, Any], None],
    *,
    slots: int = 1,
    fn: Callable[..., Any] = compute_chunk,
) -> None:
    """Run ``fn(*task)`` for every task on ``executor``; ``sink(i, result)`` in task order.

    At most ``2 * slots`` tasks are in flight. ``sink`` runs in the calling thread (it
    writes to the store), overlapping with the tasks still running.
    """
    pending: collections.deque[tuple[int, Any]] = collections.deque()
    it = iter(enumerate(tasks))
    limit = max(1, 2 * slots)
    for i, task in it:
        pending.append((i, executor.submit(fn, *task)))
        while len(pending) >= limit:
            j, fut = pending.popleft()
            sink(j, fut.result())
    while pending:
        j, fut = pending.popleft()
        sink(j, fut.result())


@contextlib.contextmanager
def threads(n: int) -> Iterator[cf.ThreadPoolExecutor]:
    """A thread pool of ``n`` workers (numba kernels release the GIL)."""
    with cf.ThreadPoolExecutor(max_workers=n, thread_name_prefix="projector") as ex:
        yield ex


def _set_numba_threads(n: int) -> int:
    import numba

    numba.set_num_threads(max(1, min(n, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    return numba.get_num_threads()


@contextlib.contextmanager
def connect(
    *, workers: int | None = None, scheduler: str | None = None, timeout: float = 10.0
) -> Iterator[Any]:
    """A ``dask.distributed.Client``: a local cluster of ``workers`` processes, or the
    scheduler at ``scheduler`` (started with ``dask scheduler`` / ``dask worker``).

    Raises
    ------
    InputError
        The scheduler did not answer within ``timeout`` seconds, or has no workers.
    """
    import logging

    from distributed import Client, LocalCluster

    # distributed logs connection retries at WARNING; the one-line error says it all
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise InputError(
                f"--scheduler {scheduler}: no Dask scheduler answered within {timeout:g} s "
                f"({reason}); start one with `dask scheduler` and `dask worker ADDRESS`"
            ) from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                raise InputError(
                    f"--scheduler {scheduler}: the scheduler has no workers after "
                    f"{timeout:g} s; start some with `dask worker {scheduler}`"
                ) from None
            yield client
        finally:
            client.close()
        return
    n = workers or 1
    cores = os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit=0,
        silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            client.run(_set_numba_threads, max(1, cores // n))
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def slots_of(client: Any) -> int:
    """Tasks a client runs at once (its workers' threads), at least 1."""
    if client is None or isinstance(client, SerialExecutor):
        return 1
    if isinstance(client, cf.ThreadPoolExecutor):
        return int(client._max_workers)
    info = client.scheduler_info()
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


class _Distributed:
    """Adapts a Dask client to :class:`Executor`: the plan is scattered once."""

    def __init__(self, client: Any, plans: Sequence[engine.Plan]) -> None:
        self.client = client
        self.plans = {id(p): client.scatter(p, broadcast=True, hash=False) for p in plans}

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        p, *rest = args
        return self.client.submit(fn, self.plans[id(p)], *rest, pure=False)


def executor_for(client: Any, plans: Sequence[engine.Plan]) -> Any:
    """The executor to hand :func:`map_chunks`: serial, a thread pool or a Dask client."""
    if client is None:
        return SerialExecutor()
    if isinstance(client, SerialExecutor | cf.ThreadPoolExecutor):
        return client
    return _Distributed(client, plans)
