"""The command line: ``projector project``, ``sweep``, ``export``, ``summary``, ``plot`` and more.

Dependency direction: the edge; imports every other module, nothing imports it.
Bad input of any kind ends in one line on stderr, ``projector: <message>``, and
exit status 2, with no traceback and no result file left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from projector import __version__
from projector.cli import (
    backtest,
    compare,
    counts,
    data,
    estimate,
    explore,
    ledger,
    project,
    sensitivity,
    trends,
)
from projector.cli.args import Parser
from projector.errors import ResourceError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="projector", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"projector {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a failure (anywhere on the line)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    project.add_parsers(sub)
    estimate.add_parsers(sub)
    data.add_parsers(sub)
    trends.add_parsers(sub)
    backtest.add_parsers(sub)
    counts.add_parsers(sub)
    sensitivity.add_parsers(sub)
    compare.add_parsers(sub)
    ledger.add_parsers(sub)
    explore.add_parsers(sub)
    from projector.cli.measure import add_measure_parser

    add_measure_parser(sub, Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status.

    The one error boundary: every failure of every command ends here as one line on
    stderr, ``projector: <message>``, and a status from :func:`projector.errors.classify`
    (2 bad input, 3 environment, 70 internal error, 130/143 interrupted). ``--debug``
    (anywhere on the line, or ``PROJECTOR_DEBUG=1``) adds the traceback.
    """
    args_in = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_in or os.environ.get("PROJECTOR_DEBUG", "") not in ("", "0")
    args_in = [a for a in args_in if a != "--debug"]
    stdout_closed = _usable_streams()
    from projector.cli.signals import interrupts_raise

    # SIGINT and SIGTERM raise Interrupted for the whole run, so every ``finally`` and
    # transaction cleans up; the old handlers come back after.
    figures = _open_figures()
    hooks = (sys.unraisablehook, sys.excepthook)
    if not debug:  # h5py's __dealloc__ prints tracebacks through both after a full disk
        sys.unraisablehook = lambda _: None
        sys.excepthook = lambda *_: None
    with interrupts_raise() as guard, _restore_hooks(hooks):
        try:
            # Usage errors (2), --help and --version (0) leave through SystemExit, as
            # argparse does; Parser makes the usage error one line.
            args = build_parser().parse_args(args_in)
            lines = args.func(args)
            guard.check()  # a signal some library swallowed is still an interruption
        except BaseException as exc:
            if isinstance(exc, SystemExit | GeneratorExit):
                raise
            return _report(exc, debug)
        finally:
            _close_figures(figures)
        if stdout_closed and lines:
            return _report(
                ResourceError(
                    errno.EBADF,
                    f"standard output is closed: {len(lines)} line(s) of output not written "
                    "(files the command writes are complete)",
                ),
                debug,
            )
        return _print_lines(lines, debug)


def _usable_streams() -> bool:
    """Make stdout and stderr safe to write; True when stdout was closed.

    A closed stream (``>&-``) is ``None`` in Python: it becomes /dev/null so nothing on
    the way fails on it, and a closed stdout is reported once the output is ready.
    Text the stream's encoding cannot hold (``PYTHONIOENCODING=ascii`` and the dagger
    marks) is escaped, not an error.
    """
    closed = sys.stdout is None
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="backslashreplace")
    return closed


@contextlib.contextmanager
def _restore_hooks(hooks: tuple[Any, Any]) -> Iterator[None]:
    try:
        yield
    finally:
        sys.unraisablehook, sys.excepthook = hooks


#: Set by :func:`run`: after reporting a failure, leave at once (see there).
_EXIT_AT_ONCE = False


def run() -> None:
    """The console entry point: :func:`main`, then exit with its status.

    After a failure the run is over and reported; a library left in a broken state
    (HDF5 after a full disk) can crash the interpreter's teardown with a segmentation
    fault, so a failed run leaves without one (``os._exit``, streams flushed first).
    """
    global _EXIT_AT_ONCE
    _EXIT_AT_ONCE = True
    status = main()
    if status != 0:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)
    sys.exit(0)


def _open_figures() -> set[int]:
    """pyplot's open figures, if matplotlib is loaded at all (never imported here)."""
    plt = sys.modules.get("matplotlib.pyplot")
    return set(plt.get_fignums()) if plt is not None else set()


def _close_figures(before: set[int]) -> None:
    """Close the figures this run opened (written already), keeping a caller's own."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)


def _report(exc: BaseException, debug: bool) -> int:
    from projector.errors import classify

    status, message = classify(exc)
    try:
        if debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        print(f"projector: {message}", file=sys.stderr)
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass
    if _EXIT_AT_ONCE:
        # Releasing the failure can free objects of a library left broken by it (h5py
        # after a full disk) and crash the interpreter; the run is reported: leave now.
        # Transactions and temporary files have been cleaned up while the error rose.
        from projector.pipeline.transaction import remove_abandoned

        with contextlib.suppress(Exception):
            remove_abandoned()
            sys.stdout.flush()
        os._exit(status)
    return status


def _print_lines(lines: Sequence[str], debug: bool = False) -> int:
    """Print the command's output; a reader that went away (``| head``) is a quiet exit.

    Any other failure to write it (``>/dev/full``, an I/O error) is the environment's
    fault: one line on stderr and status 3, since the output the user asked for is lost.
    """
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()  # the reader has what it wanted: a quiet exit, as emit does
    except OSError as exc:
        _silence_stdout()
        if exc.filename is None:
            exc.filename = "standard output"
        return _report(exc, debug)
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
