"""Executors: serial, threaded and Dask-distributed runs of the same chunk function.

Dependency direction: ``engine`` and ``cube`` -> ``executors`` -> ``run``. Every
executor maps a chunk function (:func:`compute_chunk`, what a store keeps, or
:func:`compute_full_chunk`, every full path for a run in memory) over the chunks of a
run and hands each result, in path order, to a sink; so a serial run, a threaded run
and a run on any Dask cluster give the same bits. :func:`connect` is the one way to a
Dask cluster (``--workers``, ``--scheduler``, ``--timeout``), for runs, sweeps,
backtests and sensitivity analyses alike.

Memory: at most ``2 x slots`` chunks are in flight (submitted and not yet written),
so peak memory is set by the chunk size and the number of workers, not by the number
of paths.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import errno
import os
import sys
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
    "compute_full_chunk",
    "connect",
    "map_chunks",
    "mapper",
    "set_threads",
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


def compute_full_chunk(p: engine.Plan, first: int, stop: int) -> engine.Chunk:
    """The task of a run in memory: paths ``[first, stop)`` with every full path."""
    return engine.run_chunk(p, first, stop)


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


def set_threads(n: int | None) -> int:
    """Threads numba's parallel kernels may use (``--threads``): at most its own limit."""
    import numba

    if n:
        numba.set_num_threads(max(1, min(n, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    return int(numba.get_num_threads())


def _distributed() -> Any:
    from projector.extras import require

    return require("distributed", "dask", "--workers/--scheduler")


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in them.

    Dask starts workers with multiprocessing's 'spawn', which imports the parent's
    ``__main__`` file again in each child: a script that calls ``projector.run(...,
    workers=2)`` at top level would start clusters recursively. Our tasks are projector
    functions and plans, never objects of ``__main__``, so the children need not import
    it: while the workers start, ``__main__`` shows no file and no spec.
    """
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__
    }
    try:
        if main is not None and "__file__" in saved:
            del main.__file__
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def _refuse_in_worker() -> None:
    """A cluster asked for from inside a worker process: the caller's script was imported
    there (it was not started through :func:`connect`); say how to guard it."""
    import multiprocessing

    if (
        multiprocessing.parent_process() is not None
        and getattr(sys.modules.get("__main__"), "__spec__", None) is None
        and multiprocessing.current_process().name != "MainProcess"
    ):
        raise InputError(
            "projector.run(..., workers=N) was called while Python imported your script in "
            'a worker process: put the call under `if __name__ == "__main__":`'
        )


#: Schemes ``--scheduler`` accepts: plain TCP (``dask scheduler``'s default). TLS needs a
#: security configuration and UCX a plugin that the command line does not set up.
SCHEMES = ("tcp",)


def scheduler_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``tcp://HOST:PORT`` as (host, port); anything else is bad input.

    Raises
    ------
    InputError
        Not an address, an unsupported scheme (``ucx://``, ``tls://``, ``http://``) or a
        port outside 1..65535.
    """
    shown = " ".join(str(text).split())[:120]
    where = f"--scheduler {shown!r}"
    scheme, sep, rest = str(text).strip().partition("://")
    if not sep:
        scheme, rest = "tcp", scheme
    if scheme.lower() not in SCHEMES:
        raise InputError(
            f"{where}: scheme {scheme!r} is not supported; give tcp://HOST:PORT "
            "(the address `dask scheduler` prints)"
        )
    host, colon, port_text = rest.rpartition(":")
    host = host.strip("[]")
    if (
        not colon
        or not host
        or any(c.isspace() or c in "/?#@" for c in host + port_text)
        or not port_text.isdigit()
        or not 0 < int(port_text) < 65536
    ):
        raise InputError(
            f"{where}: not a scheduler address; expected tcp://HOST:PORT with a port in "
            "1..65535 (the address `dask scheduler` prints)"
        )
    return host, int(port_text)


#: Bytes every Dask handshake carries (a msgpack map with these keys), read from the
#: first message a scheduler sends on a new connection.
_HANDSHAKE_KEYS = (b"compression", b"pickle-protocol")


def probe_scheduler(host: str, port: int, *, timeout: float, where: str) -> None:
    """Connect to ``host:port`` and read the scheduler's handshake, within ``timeout`` s.

    A Dask scheduler speaks first on a new connection; something that accepts and never
    answers (a stopped process, an HTTP server waiting for a request) would otherwise
    hold the Dask client's handshake forever.

    Raises
    ------
    InputError
        Nothing listens there, the host is unknown, or what answers is not a scheduler.
    """
    import socket
    import time

    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise InputError(
            f"{where}: connection refused (no Dask scheduler listens there); start one with "
            "`dask scheduler` and `dask worker ADDRESS`"
        ) from None
    except TimeoutError:
        raise InputError(f"{where}: no answer to the connection within {timeout:g} s") from None
    except OSError as exc:
        reason = " ".join(str(exc.strerror or exc).split())[:120]
        raise InputError(f"{where}: cannot connect ({reason})") from None
    received = b""
    try:
        with sock:
            while not all(k in received for k in _HANDSHAKE_KEYS) and len(received) < 4096:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                data = sock.recv(4096)
                if not data:
                    break
                received += data
    except TimeoutError:
        raise InputError(
            f"{where}: accepted the connection but sent no Dask handshake within {timeout:g} s "
            "(not a Dask scheduler, or a stuck one)"
        ) from None
    except OSError as exc:
        reason = " ".join(str(exc.strerror or exc).split())[:120]
        raise InputError(f"{where}: the connection failed ({reason})") from None
    if not all(k in received for k in _HANDSHAKE_KEYS):
        raise InputError(
            f"{where}: answered, but not as a Dask scheduler does (no handshake); give the "
            "address `dask scheduler` prints"
        )


def within(seconds: float, fn: Callable[[], Any], *, what: str) -> Any:
    """``fn()`` in a daemon thread, refused with ``InputError(what)`` after ``seconds``.

    For the waits of a Dask client that take no deadline of their own (its handshake):
    a stuck thread cannot keep the process alive, the command ends with one line.
    """
    import threading

    done = threading.Event()
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=call, name="projector-connect", daemon=True).start()
    if not done.wait(seconds):
        raise InputError(what)
    if "error" in box:
        raise box["error"]
    return box["value"]


#: The --timeout each client was connected with: how long it may run with no worker or
#: no scheduler before a wait for results is given up (see :class:`_Watched`).
_PATIENCE: dict[int, float] = {}


def _patience(client: Any) -> float:
    return _PATIENCE.get(id(client), 10.0)


@contextlib.contextmanager
def connect(
    *, workers: int | None = None, scheduler: str | None = None, timeout: float = 10.0
) -> Iterator[Any]:
    """A ``dask.distributed.Client``: a local cluster of ``workers`` processes, or the
    scheduler at ``scheduler`` (started with ``dask scheduler`` / ``dask worker``).

    Every wait has a deadline: the connection and the scheduler's handshake
    (:func:`probe_scheduler`), the client's own handshake, the first worker, and each
    result (no worker or no scheduler for ``timeout`` seconds ends the run).

    Raises
    ------
    InputError
        Not an address, an unsupported scheme, nothing (or not a scheduler) answering
        within ``timeout`` seconds, or no workers.
    """
    import logging

    distributed = _distributed()
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    # distributed logs connection retries at WARNING; the one-line error says it all
    for name in ("distributed", "distributed.client", "distributed.worker", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler is not None:
        host, port = scheduler_address(scheduler)
        address = f"tcp://{host if ':' not in host else f'[{host}]'}:{port}"
        where = f"--scheduler {address}"
        late = (
            f"{where}: no Dask scheduler answered within {timeout:g} s; start one with "
            "`dask scheduler` and `dask worker ADDRESS`"
        )
        within(
            timeout + 1.0,
            lambda: probe_scheduler(host, port, timeout=timeout, where=where),
            what=late,
        )

        def open_client() -> Any:
            try:
                return Client(address, timeout=f"{timeout}s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                reason = " ".join(str(exc).split())[:160] or type(exc).__name__
                raise InputError(
                    f"{where}: no Dask scheduler answered within {timeout:g} s ({reason}); "
                    "start one with `dask scheduler` and `dask worker ADDRESS`"
                ) from None

        client = within(2 * timeout + 5.0, open_client, what=late)
        _PATIENCE[id(client)] = timeout
        try:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                raise InputError(
                    f"{where}: the scheduler has no workers after "
                    f"{timeout:g} s; start some with `dask worker {address}`"
                ) from None
            yield client
        finally:
            _PATIENCE.pop(id(client), None)
            with contextlib.suppress(Exception):
                within(timeout + 1.0, client.close, what="close")
        return
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: expected a number of worker processes >= 1")
    _refuse_in_worker()
    n = workers or 1
    cores = os.cpu_count() or 1
    with _main_not_reimported():
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
            memory_limit=0,
            silence_logs=logging.ERROR,
        )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            client.run(set_threads, max(1, cores // n))
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


def await_result(client: Any, future: Any) -> Any:
    """``future.result()``, given up when the cluster cannot finish it.

    A task may legitimately run long, so there is no deadline on the task itself; there
    is one on a cluster that cannot run it: no scheduler connection, or no worker, for
    the client's ``--timeout`` seconds in a row.

    Raises
    ------
    ResourceError
        The scheduler went away or kept no worker for that long.
    """
    import time

    from projector.errors import ResourceError

    patience = _patience(client)
    idle_since: float | None = None
    while True:
        try:
            return future.result(timeout=min(patience, 1.0))
        except TimeoutError:
            pass
        if client.status not in ("running", "connecting", "newly-created"):
            raise ResourceError(
                errno.ECONNRESET,
                f"the Dask scheduler closed the connection (client {client.status}); "
                "the result was not written",
            )
        try:
            alive = client.status == "running" and bool(client.scheduler_info()["workers"])
        except (KeyError, OSError, AttributeError):
            alive = False
        now = time.monotonic()
        if alive:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since > patience:
            raise ResourceError(
                errno.ETIMEDOUT,
                f"the Dask cluster had no scheduler connection or no worker for "
                f"{patience:g} s (--timeout); the result was not written",
            )


class _Watched:
    """A Dask future whose ``result()`` is :func:`await_result`."""

    def __init__(self, client: Any, future: Any) -> None:
        self.client, self.future = client, future

    def result(self) -> Any:
        return await_result(self.client, self.future)


class _Distributed:
    """Adapts a Dask client to :class:`Executor`: the plan is scattered once."""

    def __init__(self, client: Any, plans: Sequence[engine.Plan]) -> None:
        self.client = client
        from projector.errors import ResourceError

        try:
            self.plans = {
                id(p): client.scatter(p, broadcast=True, hash=False, timeout=_patience(client))
                for p in plans
            }
        except TimeoutError:
            raise ResourceError(
                errno.ETIMEDOUT,
                f"the Dask cluster did not take the run's plan within {_patience(client):g} s "
                "(--timeout); are its workers alive?",
            ) from None

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> _Watched:
        p, *rest = args
        return _Watched(self.client, self.client.submit(fn, self.plans[id(p)], *rest, pure=False))


def executor_for(client: Any, plans: Sequence[engine.Plan]) -> Any:
    """The executor to hand :func:`map_chunks`: serial, a thread pool or a Dask client."""
    if client is None:
        return SerialExecutor()
    if isinstance(client, SerialExecutor | cf.ThreadPoolExecutor):
        return client
    return _Distributed(client, plans)


def mapper(client: Any) -> Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None:
    """``map(f, items)`` over a Dask client, in order (whole runs as tasks: a
    sensitivity analysis's samples); None for a serial run."""
    if client is None or isinstance(client, SerialExecutor):
        return None
    if isinstance(client, cf.ThreadPoolExecutor):
        return lambda f, xs: list(client.map(f, xs))

    def run_all(f: Callable[[Any], Any], xs: Sequence[Any]) -> list[Any]:
        return [await_result(client, fut) for fut in client.map(f, list(xs), pure=False)]

    return run_all
