"""The command line: ``projector {project,validate,summary,plot,estimate}``.

Dependency direction: the edge; imports every other module, nothing imports it.
Bad input of any kind ends in one line on stderr, ``projector: <message>``, and
exit status 2, with no traceback and no result file left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from projector import __version__
from projector.errors import InputError

__all__ = ["main"]

RESULTS_DIR = Path("results")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**63, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="projector", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"projector {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("project", help="run a scenario and write its result cube")
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument("--paths", type=_positive_int, help="override the number of paths")
    p.add_argument("--seed", type=_seed, help="override the seed")
    p.add_argument("--dataset", help="an Epoch CSV export to use instead of the scenario's data")
    p.add_argument("--out", type=Path, help="output folder (default results/<scenario name>/)")
    p.add_argument("--threads", type=_positive_int, help="numba threads (default: all cores)")
    p.add_argument(
        "--chunk-paths",
        type=_positive_int,
        default=2000,
        help="paths per kernel call; memory only, results do not change",
    )
    p.add_argument("--plot", action="store_true", help="also write the fan chart")
    p.add_argument("--quiet", action="store_true", help="no progress bar or report")
    p.set_defaults(func=_cmd_project)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    p.add_argument("scenario", nargs="+")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("summary", help="print the summary tables of a result cube")
    p.add_argument("result", type=Path)
    p.add_argument("--csv", action="store_true", help="print the tidy CSV instead of Markdown")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("plot", help="write the fan chart of a result cube as PNG")
    p.add_argument("result", type=Path)
    p.add_argument("--out", type=Path, help="PNG path (default: fan_chart.png beside the cube)")
    p.set_defaults(func=_cmd_plot)

    _optional_subcommands(sub)
    return parser


def _optional_subcommands(sub: argparse._SubParsersAction) -> None:
    try:
        from projector import estimate
    except ImportError:  # TEMP until the estimate module lands
        return
    estimate.add_parser(sub)


def _cmd_project(args: argparse.Namespace) -> list[str]:
    from projector import engine, results
    from projector.data import load_dataset
    from projector.scenario import load_scenario, with_overrides

    if args.dataset is not None and not Path(args.dataset).is_file():
        raise InputError(f"--dataset {args.dataset}: no such file")
    scen = with_overrides(
        load_scenario(args.scenario), paths=args.paths, seed=args.seed, dataset=args.dataset
    )
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    if args.threads:
        import numba

        limit = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
        numba.set_num_threads(min(args.threads, limit))
    out_dir = args.out if args.out is not None else RESULTS_DIR / scen.name
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: exists and is not a folder")

    from tqdm import tqdm

    with tqdm(
        total=scen.paths, unit="path", disable=args.quiet, delay=1.0, file=sys.stderr, leave=False
    ) as bar:
        proj = engine.run(scen, systems, chunk_paths=args.chunk_paths, progress=bar.update)
    ds = results.to_dataset(proj, scen)
    written = results.write_result(ds, out_dir)
    if args.plot:
        written.append(_write_plot(ds, out_dir / "fan_chart.png"))
    if args.quiet:
        return []
    return [results.summary_markdown(ds), *(f"wrote {p}" for p in written)]


def _cmd_validate(args: argparse.Namespace) -> list[str]:
    from projector.scenario import load_scenario

    lines = []
    for name in args.scenario:
        scen = load_scenario(name)
        start = "latest-data" if scen.start_year is None else f"{scen.start_year:g}"
        lines.append(
            f"{scen.source}: ok ({scen.name}: {scen.paths} paths, {start} to {scen.end_year:g}, "
            f"{len(scen.reversion)} reversion components, {len(scen.anchors)} anchors, "
            f"sha256 {scen.sha256[:12]})"
        )
    return lines


def _cmd_summary(args: argparse.Namespace) -> list[str]:
    from projector import results

    ds = results.read_result(args.result)
    return [results.summary_csv(ds) if args.csv else results.summary_markdown(ds)]


def _write_plot(ds: object, target: Path) -> Path:
    from projector import plots, results

    fig = plots.fan_chart(ds)  # type: ignore[arg-type]
    with results.atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    return target


def _cmd_plot(args: argparse.Namespace) -> list[str]:
    from projector import results

    ds = results.read_result(args.result)
    target = args.out if args.out is not None else args.result.parent / "fan_chart.png"
    return [f"wrote {_write_plot(ds, target)}"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        lines = args.func(args)
    except InputError as exc:
        print(f"projector: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("projector: interrupted; no partial result was kept", file=sys.stderr)
        return 130
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
