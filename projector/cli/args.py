"""Argument types, shared options and printing helpers of the command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from projector.errors import InputError

RESULTS_DIR = Path("results")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def path_arg(text: str) -> Path:
    """A path argument: not empty (``--out ""`` would mean the current folder), no NUL."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path; give a file or folder name")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r} contains a NUL character")
    return Path(text)


def file_arg(text: str) -> Path:
    """A path argument naming a file: as :func:`path_arg`, and no trailing slash."""
    path = path_arg(text)
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} ends with a slash (a folder); give a file name")
    return path


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**63, got {value}")
    return value


def add_run_options(p: argparse.ArgumentParser, keep_default: str | None = None) -> None:
    p.add_argument("--threads", type=positive_int, help="numba threads (default: all cores)")
    p.add_argument(
        "--chunk-paths",
        type=positive_int,
        help="paths per chunk (default 25,000); memory only, results do not change",
    )
    p.add_argument(
        "--keep-paths",
        type=keep_paths,
        default=None if keep_default is None else keep_paths(keep_default),
        metavar="N|all",
        help="full monthly paths to store (default: every path up to 10,000 paths, else "
        "the first 1,000; the yearly grid and per-path values are always stored for all)",
    )
    add_dask_options(p, what="the chunks")
    p.add_argument("--force", action="store_true", help="replace a result from other inputs")


def keep_paths(text: str) -> int:
    if text == "all":
        return 10**12
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'all', got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def progress_bar(total: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="path", disable=quiet, delay=1.0, file=sys.stderr, leave=False)


def emit(lines: list[str]) -> list[str]:
    """Print ``lines`` now; a reader that closed the pipe (``| head``) ends it quietly."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's docs: point stdout at devnull so the exit-time flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return []


SET_HELP = (
    "change a scalar scenario key by its dotted name, e.g. growth.moore_doubling_months=18 "
    "or data.cutoff=2020-01-01 (repeatable; validated like the file; recorded in provenance)"
)


def nonnegative_float(text: str) -> float:
    from projector.curation.estimate import parse_count

    try:
        value = parse_count(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def date(text: str) -> object:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def scheduler_arg(text: str) -> str:
    """A ``--scheduler`` address, checked before anything runs (``executors``)."""
    from projector.pipeline.executors import scheduler_address

    try:
        scheduler_address(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).partition(": ")[2]) from None
    return text


def add_dask_options(p: argparse.ArgumentParser, *, what: str) -> None:
    """``--workers N | --scheduler ADDRESS`` and ``--timeout``: where ``what`` runs."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, help=f"run {what} on a local Dask cluster of N"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=scheduler_arg,
        help=f"run {what} on the Dask cluster at ADDRESS (tcp://HOST:PORT)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        help="seconds to wait for --scheduler and its workers (default 10)",
    )
