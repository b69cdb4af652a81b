"""The command line: ``projector project``, ``sweep``, ``export``, ``summary``, ``plot`` and more.

Dependency direction: the edge; imports every other module, nothing imports it.
Bad input of any kind ends in one line on stderr, ``projector: <message>``, and
exit status 2, with no traceback and no result file left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from projector import __version__
from projector.errors import InputError

__all__ = ["main"]

RESULTS_DIR = Path("results")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _path_arg(text: str) -> Path:
    """A path argument: not empty (``--out ""`` would mean the current folder), no NUL."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path; give a file or folder name")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r} contains a NUL character")
    return Path(text)


def _file_arg(text: str) -> Path:
    """A path argument naming a file: as :func:`_path_arg`, and no trailing slash."""
    path = _path_arg(text)
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} ends with a slash (a folder); give a file name")
    return path


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
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a failure (anywhere on the line)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "project",
        help="run a scenario and write its result folder (Zarr store and summaries)",
        description="Run a scenario chunk by chunk into results/<name>/ (the scenario as "
        "written) or results/<name>-<hash>/ (with --paths/--seed/--dataset/--set): a Zarr "
        "store, summary.csv and summary.md. A folder holding a result from other inputs is "
        "never replaced without --force.",
    )
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument("--paths", type=_positive_int, help="override the number of paths")
    p.add_argument("--seed", type=_seed, help="override the seed")
    p.add_argument("--dataset", help="an Epoch CSV export to use instead of the scenario's data")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    p.add_argument("--out", type=_path_arg, help="output folder (default: see above)")
    _add_run_options(p)
    p.add_argument("--plot", action="store_true", help="also write the fan chart")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="if the folder already holds a result of the same inputs, keep it (only "
        "draw the chart with --plot)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or report")
    p.set_defaults(func=_cmd_project)

    p = sub.add_parser(
        "sweep",
        help="run a grid of scenario variants into one store with a variant dimension",
        description="Every combination of the --set values (KEY=V1,V2,...), for each "
        "scenario given, run as tasks on the same machinery as project; one store with a "
        "'variant' dimension, each variant's resolved scenario, and per-variant summaries.",
    )
    p.add_argument("scenario", nargs="+", help="scenario names or .toml paths")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a scenario key and its values (repeatable: the grid is their product)",
    )
    p.add_argument("--paths", type=_positive_int, help="override the number of paths")
    p.add_argument("--seed", type=_seed, help="override the seed")
    p.add_argument(
        "--out", type=_path_arg, help="output folder (default results/sweep-<name>-<hash>/)"
    )
    _add_run_options(p, keep_default="0")
    p.add_argument("--quiet", action="store_true", help="no progress bar or report")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("export", help="write a result as one NetCDF file")
    p.add_argument("result", type=_path_arg, help="a result folder or store")
    p.add_argument("out", type=_file_arg, help="the NetCDF file to write (.nc)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "validate",
        help="check a scenario file without running it",
        description="Check scenario files. Warns (still exit 0) when a reversion component "
        "puts probability before the start and says what the scenario's "
        "growth.reversion_before_start policy does with it.",
    )
    p.add_argument("scenario", nargs="+")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("summary", help="print the summary tables of a result")
    p.add_argument(
        "result", type=_path_arg, help="a result folder, a .zarr store or an older .nc cube"
    )
    p.add_argument("--csv", action="store_true", help="print the tidy CSV instead of Markdown")
    p.add_argument(
        "--attribution",
        action="store_true",
        help="also split each output's variance between the run's per-path draws (first-order "
        "Sobol indices from the paths, SALib RBD-FAST; a few seconds)",
    )
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("plot", help="write a figure of a result as PNG (the fan chart by default)")
    p.add_argument(
        "result", type=_path_arg, help="a result folder, a .zarr store or an older .nc cube"
    )
    p.add_argument(
        "--kind",
        choices=tuple(PLOT_KINDS),
        default="fan",
        help="fan: bands, history and anchors; crossing: P(crossed by year) per anchor (and "
        "weighted); histograms: first-crossing years; prior: reversion prior and w(t); "
        "rates: bootstrap distributions of the growth rates",
    )
    p.add_argument("--out", type=_file_arg, help="PNG path (default: <kind file> in the result)")
    p.set_defaults(func=_cmd_plot)

    _add_estimate(sub)
    _add_data(sub)
    _add_trends(sub)
    _add_backtest(sub)
    _add_sensitivity(sub)
    _add_compare(sub)
    _add_report(sub)
    from projector.cli.measure import add_measure_parser

    add_measure_parser(sub, _Parser)
    return parser


def _add_run_options(p: argparse.ArgumentParser, keep_default: str | None = None) -> None:
    p.add_argument("--threads", type=_positive_int, help="numba threads (default: all cores)")
    p.add_argument(
        "--chunk-paths",
        type=_positive_int,
        help="paths per chunk (default 25,000); memory only, results do not change",
    )
    p.add_argument(
        "--keep-paths",
        type=_keep_paths,
        default=None if keep_default is None else _keep_paths(keep_default),
        metavar="N|all",
        help="full monthly paths to store (default: every path up to 10,000 paths, else "
        "the first 1,000; the yearly grid and per-path values are always stored for all)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_positive_int, help="run the chunks on a local Dask cluster of N"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="run the chunks on the Dask cluster at ADDRESS"
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        help="seconds to wait for --scheduler and its workers (default 10)",
    )
    p.add_argument("--force", action="store_true", help="replace a result from other inputs")


def _keep_paths(text: str) -> int:
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


def _bar(total: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="path", disable=quiet, delay=1.0, file=sys.stderr, leave=False)


def _cmd_project(args: argparse.Namespace) -> list[str]:
    from projector.pipeline.run import Run

    run = Run(
        args.scenario, paths=args.paths, seed=args.seed, dataset=args.dataset,
        changes=args.set, store=True if args.out is None else args.out,
        keep_paths=args.keep_paths, chunk_paths=args.chunk_paths, workers=args.workers,
        scheduler=args.scheduler, timeout=args.timeout, threads=args.threads,
        force=args.force, reuse=args.reuse, plot=args.plot,
    )  # fmt: skip
    with _bar(run.resolve().paths, args.quiet) as bar:
        run.progress = bar.update
        run.execute()
    if args.quiet:
        return []
    if run.up_to_date:
        lines = [f"{run.target}: up to date (same scenario, dataset, seed and paths)"]
        return lines + [f"wrote {w}" for w in run.written]
    from projector.render.report import summary_markdown

    return [summary_markdown(run.summary()), *(f"wrote {w}" for w in run.written)]


def _cmd_sweep(args: argparse.Namespace) -> list[str]:
    import hashlib

    from projector.pipeline import checks
    from projector.pipeline.sweep import sweep, sweep_variants

    variants = sweep_variants(args.scenario, args.set, paths=args.paths, seed=args.seed)
    digest = hashlib.sha256("".join(s.sha256 for _, s in variants).encode()).hexdigest()
    first = variants[0][1]
    target = checks.check_output_folder(
        args.out or RESULTS_DIR / f"sweep-{first.name}-{digest[:8]}"
    )
    if target.exists() and not args.force:
        raise InputError(f"{target}: exists; pass --force to replace it or --out elsewhere")
    if args.threads:
        from projector.pipeline.executors import set_threads

        set_threads(args.threads)
    with _bar(first.paths * len(variants), args.quiet) as bar:
        summary, written = sweep(
            variants, target, workers=args.workers, scheduler=args.scheduler,
            timeout=args.timeout, keep_paths=args.keep_paths, chunk_paths=args.chunk_paths,
            progress=bar.update,
        )  # fmt: skip
    if args.quiet:
        return []
    from projector.render.report import summary_markdown

    return _emit([summary_markdown(summary), *(f"wrote {w}" for w in written)])


def _cmd_export(args: argparse.Namespace) -> list[str]:
    from projector.pipeline import checks
    from projector.pipeline.store import export_netcdf

    out = checks.check_output_file(args.out, "export")
    return [f"wrote {export_netcdf(args.result, out)}"]


def _emit(lines: list[str]) -> list[str]:
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


_SET_HELP = (
    "change a scalar scenario key by its dotted name, e.g. growth.moore_doubling_months=18 "
    "or data.cutoff=2020-01-01 (repeatable; validated like the file; recorded in provenance)"
)


def _overridden(name: str, sets: list[str]) -> object:
    from projector.inputs.scenario import load_scenario, override, parse_set

    changes = dict(parse_set(text) for text in sets)
    return override(load_scenario(name), changes)


def _cmd_validate(args: argparse.Namespace) -> list[str]:
    from projector.inputs.scenario import Scenario
    from projector.model.engine import reversion_mass_before_start

    lines = []
    for name in args.scenario:
        scen = _overridden(name, args.set)
        assert isinstance(scen, Scenario)
        start = "latest-data" if scen.start_year is None else f"{scen.start_year:g}"
        lines.append(
            f"{scen.source}: ok ({scen.name}: {scen.paths} paths, {start} to {scen.end_year:g}, "
            f"{len(scen.reversion)} reversion components, {len(scen.anchors)} anchors, "
            f"sha256 {scen.sha256[:12]})"
        )
        s = scen.start_year
        if s is None:
            from projector.inputs.systems import load_dataset

            systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
            s = float(systems.until(scen.data.cutoff).year.max())
        what = {
            "mirror": "acts like a date as far after it (the 2022 formula)",
            "truncate": "is conditioned away (the mixture is renormalised on R > s)",
            "immediate": "reverts at the start (w = 0 from s)",
        }[scen.reversion_before_start]
        for comp, mass in reversion_mass_before_start(scen, s):
            if mass > 0.01:
                print(
                    f"projector: warning: {scen.source}: reversion component '{comp}' puts "
                    f"{mass:.1%} of its probability before the start {s:.2f}; under "
                    f"growth.reversion_before_start = '{scen.reversion_before_start}' such a "
                    f"date {what}",
                    file=sys.stderr,
                )
    return lines


def _cmd_summary(args: argparse.Namespace) -> list[str]:
    from projector.model.summary import summarize
    from projector.pipeline.store import open_result
    from projector.render.report import summary_csv, summary_markdown

    ds = open_result(args.result)
    s = summarize(ds)
    if args.csv:
        return _emit([summary_csv(s)])
    lines = [summary_markdown(s)]
    if args.attribution:
        from projector.render.document import attribution_markdown

        lines.append(attribution_markdown(ds))
    return _emit(lines)


def _write_plot(result: Path, target: Path) -> Path:
    from projector.pipeline.folders import write_fan_chart
    from projector.pipeline.store import open_result

    return write_fan_chart(open_result(result), target)


#: plot --kind -> (function in projector.render.plots, default file name)
PLOT_KINDS = {
    "fan": ("fan_chart", "fan_chart.png"),
    "crossing": ("crossing_probability", "crossing_probability.png"),
    "histograms": ("crossing_histograms", "crossing_histograms.png"),
    "prior": ("reversion_prior", "reversion_prior.png"),
    "rates": ("rate_distributions", "rate_distributions.png"),
}


def _cmd_plot(args: argparse.Namespace) -> list[str]:
    from projector.pipeline import checks
    from projector.pipeline.fileio import atomic_path
    from projector.pipeline.store import find_store, open_result
    from projector.render import plots

    folder = find_store(args.result).parent  # the result folder, or beside a lone store
    function, file_name = PLOT_KINDS[args.kind]
    target = args.out if args.out is not None else folder / file_name
    target = checks.check_output_file(target, "--out" if args.out is not None else "plot")
    if args.kind == "fan":
        return [f"wrote {_write_plot(args.result, target)}"]
    fig = getattr(plots, function)(open_result(args.result))
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plots.close(fig)
    return [f"wrote {target}"]


def _nonnegative_float(text: str) -> float:
    from projector.curation.estimate import parse_count

    try:
        value = parse_count(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _date(text: str) -> object:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _add_estimate(sub: argparse._SubParsersAction) -> None:
    from projector.curation.estimate import LAYER_HELP
    from projector.curation.hardware import PRECISIONS, accelerators

    est = sub.add_parser(
        "estimate",
        help="estimate a system's training compute (method.md section 9)",
        description="Estimate training compute by counting operations (ops) or from "
        "hardware time (gpu). The last line printed starts with the estimate in FLOP.",
    )
    kinds = est.add_subparsers(dest="method", required=True, parser_class=_Parser)

    p = kinds.add_parser(
        "ops",
        help="counting operations: 2 x params x (1 + backward ratio) x tokens, or per layer",
        description="Counting operations. Give --params with --tokens (transformers: "
        "6 x params x tokens) or with --examples/--epochs (dense nets); or --forward-flop "
        "with --examples; or one --layer per layer with --examples. One multiply-add = 2 FLOP.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="layer syntax: " + LAYER_HELP + "\n"
        "backward ratio: 2 (default) for deep nets with large batches; the first layer of a "
        "layer-by-layer count uses --first-layer-ratio (1); give --batch-size when batches "
        "are tiny, so the per-step weight update (--update-flop-per-param per parameter) counts.",
    )
    p.add_argument("--params", type=_positive_float, help="parameters (MoE: active per token)")
    p.add_argument("--tokens", type=_positive_float, help="tokens processed, all epochs")
    p.add_argument("--forward-flop", type=_positive_float, help="forward FLOP per example")
    p.add_argument("--layer", action="append", default=[], help="a layer, e.g. conv:3,96,11,227,4")
    p.add_argument("--examples", type=_positive_float, help="training examples per epoch")
    p.add_argument("--epochs", type=_positive_float, default=1.0, help="passes over the data")
    p.add_argument(
        "--backward-ratio", type=_nonnegative_float, default=2.0, help="backward/forward FLOP"
    )
    p.add_argument("--first-layer-ratio", type=_nonnegative_float, default=1.0)
    p.add_argument("--batch-size", type=_positive_float, help="adds the weight-update cost")
    p.add_argument("--update-flop-per-param", type=_nonnegative_float, default=2.0)
    p.set_defaults(func=_cmd_estimate_ops)

    chips = ", ".join(a.chip for a in accelerators().values())
    p = kinds.add_parser(
        "gpu",
        help="hardware time: chips x hours x peak FLOP/s x utilization",
        description="Hardware time: count x hours x 3600 x peak FLOP/s x utilization, or "
        "accelerator-hours x 3600 x peak x utilization with --gpu-hours. Counts take "
        "suffixes: 3k, 1.5M, 70B, 2T or 1.4e12.",
        epilog=f"chips: {chips}. precisions: {', '.join(PRECISIONS)} (as the chip's datasheet "
        "lists them; see projector/inputs/data/accelerators.csv).",
    )
    p.add_argument("--chip", required=True, help="accelerator name (see below)")
    p.add_argument("--count", type=_positive_float, help="number of chips (with --hours/--days)")
    time = p.add_mutually_exclusive_group(required=True)
    time.add_argument("--hours", type=_positive_float, help="wall-clock training time [h]")
    time.add_argument("--days", type=_positive_float, help="wall-clock training time [days]")
    time.add_argument(
        "--gpu-hours",
        type=_positive_float,
        help="accelerator-hours as papers report them (chips x hours), e.g. 1.72M; no --count",
    )
    p.add_argument("--precision", choices=PRECISIONS, help="default: bf16, else fp16, else fp32")
    p.add_argument("--utilization", type=_positive_float, help="fraction of peak achieved")
    p.add_argument(
        "--llm", action="store_true", help="a large language model: default utilization 0.30"
    )
    p.set_defaults(func=_cmd_estimate_gpu)


def _flop_line(flop: float) -> str:
    from projector.curation.estimate import flop_to_macs, flop_to_pflops_days

    return (
        f"{flop:.4g} FLOP ({flop_to_pflops_days(flop):.4g} petaFLOP/s-days; "
        f"{flop_to_macs(flop):.3g} multiply-adds)"
    )


def _cmd_estimate_ops(args: argparse.Namespace) -> list[str]:
    from projector.curation import estimate

    r = args.backward_ratio
    ratio = f"backward_ratio = {r:g} (1 forward + {r:g} backward)"
    if args.layer:
        if args.params or args.tokens or args.forward_flop:
            raise InputError("--layer: give layers or --params/--tokens/--forward-flop, not both")
        if args.examples is None:
            raise InputError("--layer needs --examples")
        layers = [estimate.parse_layer(spec) for spec in args.layer]
        total, forward, params = estimate.ops_layers(
            layers,
            args.examples,
            epochs=args.epochs,
            backward_ratio=r,
            first_layer_backward_ratio=args.first_layer_ratio,
            batch_size=args.batch_size,
            update_flop_per_param=args.update_flop_per_param,
        )
        lines = ["method: counting operations, layer by layer"]
        for spec, layer in zip(args.layer, layers, strict=True):
            lines.append(f"  {spec:<32} forward {layer.forward_flop():.3g} FLOP/example")
        lines += [
            f"forward = {forward:.4g} FLOP/example; parameters = {params:.4g}",
            f"formula: sum over layers of forward x (1 + ratio) x examples x epochs; "
            f"first layer ratio {args.first_layer_ratio:g}, others {r:g}",
        ]
        if args.batch_size:
            lines.append(
                f"  + weight update {args.update_flop_per_param:g} FLOP/param/step, "
                f"batch {args.batch_size:g}"
            )
        lines.append(f"examples = {args.examples:.4g}; epochs = {args.epochs:g}")
        return [*lines, _flop_line(total)]
    if args.forward_flop is not None:
        if args.params or args.tokens:
            raise InputError("--forward-flop: give it or --params/--tokens, not both")
        if args.examples is None:
            raise InputError("--forward-flop needs --examples")
        total = estimate.ops_per_example(
            args.forward_flop, args.examples, epochs=args.epochs, backward_ratio=r
        )
        return [
            "method: counting operations, per example",
            "formula: forward_flop x (1 + backward_ratio) x examples x epochs",
            f"forward_flop = {args.forward_flop:.4g}; examples = {args.examples:.4g}; "
            f"epochs = {args.epochs:g}; {ratio}",
            _flop_line(total),
        ]
    if args.params is None:
        raise InputError("estimate ops needs --params, --forward-flop or --layer (see --help)")
    if args.tokens is not None and args.examples is not None:
        raise InputError("--tokens and --examples: give one (tokens include all epochs)")
    if args.tokens is not None:
        if args.epochs != 1.0:
            raise InputError("--tokens counts all epochs already; use --examples with --epochs")
        data, what = args.tokens, f"tokens = {args.tokens:.4g}"
    elif args.examples is not None:
        data = args.examples * args.epochs
        what = f"examples x epochs = {args.examples:.4g} x {args.epochs:g} = {data:.4g}"
    else:
        raise InputError("--params needs --tokens or --examples")
    total = estimate.ops_dense(args.params, data, backward_ratio=r)
    return [
        "method: counting operations, dense network / transformer",
        "formula: 2 x params x (1 + backward_ratio) x tokens" + (" (= 6 N D)" if r == 2.0 else ""),
        f"params = {args.params:.4g}; {what}; {ratio}",
        _flop_line(total),
    ]


def _cmd_estimate_gpu(args: argparse.Namespace) -> list[str]:
    from projector.curation import estimate
    from projector.curation.hardware import find_chip

    if args.gpu_hours is not None:
        if args.count is not None:
            raise InputError("--gpu-hours already counts every chip: give it or --count, not both")
        count, hours = 1.0, args.gpu_hours
        formula, what = "accelerator-hours", f"accelerator-hours = {args.gpu_hours:.7g}"
    else:
        if args.count is None:
            raise InputError("--hours/--days need --count (or give --gpu-hours)")
        count = args.count
        hours = args.hours if args.hours is not None else args.days * 24.0
        formula, what = "count x hours", f"count = {count:g}; hours = {hours:g}"
    flop, precision, utilization = estimate.gpu_time(
        args.chip,
        count,
        hours,
        precision=args.precision,
        utilization=args.utilization,
        llm=args.llm,
    )
    acc = find_chip(args.chip)
    if args.utilization is not None:
        why = "given"
    elif args.llm:
        why = "default for large language models"
    else:
        why = "default for systems other than large language models; --llm gives 0.30"
    why_p = "given" if args.precision else "chip default"
    return [
        "method: hardware time",
        f"formula: {formula} x 3600 x peak x utilization",
        f"chip = {acc.chip} ({acc.vendor}); {what}",
        f"peak = {acc.peaks[precision]:.4g} FLOP/s at {precision} ({why_p}; "
        f"{acc.sources[precision]})",
        f"utilization = {utilization:g} ({why})",
        _flop_line(flop),
    ]


def _add_data(sub: argparse._SubParsersAction) -> None:
    from projector.inputs.systems import DOMAINS

    data = sub.add_parser("data", help="the bundled dataset: export it or list its systems")
    kinds = data.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = kinds.add_parser("export", help="write the bundled dataset as CSV")
    p.add_argument("path", type=_file_arg)
    p.set_defaults(func=_cmd_data_export)
    p = kinds.add_parser("list", help="print the bundled systems as a table")
    p.add_argument("--domain", choices=DOMAINS)
    p.add_argument("--since", type=_date, help="published on or after YYYY-MM-DD")
    p.add_argument("--min-compute", type=_positive_float, help="at least this many FLOP")
    p.set_defaults(func=_cmd_data_list)
    p = kinds.add_parser(
        "frontier",
        help="the realised frontier: each system that set a new compute record",
        description="The running maximum of training compute over publication date, as "
        "the records that set it (the series `projector backtest` scores against).",
    )
    p.add_argument("--dataset", help="a dataset CSV (default: the bundled dataset)")
    p.add_argument(
        "--all-systems",
        action="store_true",
        help="Epoch Airtable exports: use every row, not only notable systems",
    )
    p.add_argument("--csv", action="store_true", help="print CSV (date,log10_flop,system)")
    p.set_defaults(func=_cmd_data_frontier)
    p = kinds.add_parser(
        "compare",
        help="match the bundled systems to another dataset and report log10 differences",
    )
    p.add_argument("other", type=_path_arg, help="a dataset CSV (bundled or Epoch format)")
    p.add_argument("--all", action="store_true", help="list every match, not only > factor 3")
    p.set_defaults(func=_cmd_data_compare)


def _cmd_data_export(args: argparse.Namespace) -> list[str]:
    import csv

    from projector.inputs.systems import BUNDLED_COLUMNS, bundled_records
    from projector.pipeline import checks
    from projector.pipeline.fileio import atomic_path

    path = checks.check_output_file(args.path, "data export")
    rows = bundled_records()
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=BUNDLED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return [f"wrote {len(rows)} systems to {path}"]


def _cmd_data_list(args: argparse.Namespace) -> list[str]:
    from projector.inputs.systems import bundled_records

    rows = bundled_records()
    if args.domain:
        rows = [r for r in rows if r["domain"] == args.domain]
    if args.since:
        rows = [r for r in rows if r["publication_date"] >= args.since.isoformat()]
    if args.min_compute:
        rows = [r for r in rows if float(r["training_compute_flop"]) >= args.min_compute]
    rows.sort(key=lambda r: (r["publication_date"], r["system"]))
    head = (
        f"{'date':<10}  {'system':<40}  {'organization':<28}  {'domain':<16}  "
        f"{'FLOP':>10}  {'x/':>4}  method"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        bound = ">=" if r["compute_bound"] == "lower" else ""
        factor = f"{float(r['uncertainty_factor']):g}" if r["uncertainty_factor"] else "-"
        lines.append(
            f"{r['publication_date']:<10}  {r['system'][:40]:<40}  "
            f"{r['organization'][:28]:<28}  {r['domain']:<16}  "
            f"{bound:>2}{float(r['training_compute_flop']):>8.2e}  {factor:>4}  "
            f"{r['compute_method']}"
        )
    n_lower = sum(r["compute_bound"] == "lower" for r in rows)
    lines.append(
        f"{len(rows)} systems ({n_lower} lower bounds, marked >=; x/ is the 90% uncertainty factor)"
    )
    return lines


def _cmd_data_frontier(args: argparse.Namespace) -> list[str]:
    from projector.inputs.frontier import records
    from projector.inputs.systems import BUNDLED, load_dataset

    dataset = args.dataset or BUNDLED
    if args.dataset and not Path(args.dataset).is_file():
        raise InputError(f"--dataset {args.dataset}: no such file")
    recs = records(load_dataset(dataset, notable_only=not args.all_systems))
    if args.csv:
        return ["date,log10_flop,system,lower_bound"] + [
            f'{r.date},{r.log10_compute:.4f},"{r.system.replace(chr(34), chr(34) * 2)}",'
            f"{int(r.lower_bound)}"
            for r in recs
        ]
    lines = [f"{'date':<10}  {'log10 FLOP':>10}  system", "-" * 60]
    for r in recs:
        mark = ">=" if r.lower_bound else "  "
        lines.append(f"{r.date:<10}  {mark}{r.log10_compute:>8.2f}  {r.system}")
    lines.append(f"{len(recs)} records in {dataset}")
    if any(r.lower_bound for r in recs):
        lines.append(">= marks a lower bound: the frontier from there on is at least this")
    return lines


def _cmd_data_compare(args: argparse.Namespace) -> list[str]:
    import math

    from projector.curation.crosscheck import match_systems, spread
    from projector.inputs.systems import bundled_records, load_dataset

    other = load_dataset(args.other, notable_only=False)
    matches = match_systems(bundled_records(), other)
    s = spread(matches)
    lines = [f"{len(matches)} bundled systems matched in {args.other}"]
    if not matches:
        return lines
    lines.append(
        f"log10(ours/other): median {s['median']:+.3f}, mean |diff| {s['mean_abs']:.3f}, "
        f"5-95% [{s['q05']:+.3f}, {s['q95']:+.3f}]; "
        f"{s['over_factor_3']:.0f} differ by more than a factor of 3"
    )
    shown = [m for m in matches if args.all or abs(m.log10_diff) > math.log10(3)]
    for m in sorted(shown, key=lambda m: -abs(m.log10_diff)):
        lines.append(
            f"{m.log10_diff:+6.2f}  {m.date}  {m.system[:40]:<40}  "
            f"ours {10**m.log10_ours:.2e}  other {10**m.log10_other:.2e}"
        )
    return lines


def _add_trends(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trends",
        help="fit historical growth by window (the Three Eras analysis) and draw it",
        description="OLS of log10 training compute (and parameters) on publication date per "
        "window, with bootstrap intervals, Z-score scale classes and break tests "
        "(method.md section 8). Writes trends.csv, trends.md, trends.nc and figures.",
    )
    p.add_argument("--dataset", help="a dataset CSV (default: the bundled dataset)")
    p.add_argument("--scenario", help="take dataset, cut-off and extra [[windows]] from it")
    p.add_argument("--cutoff", type=_date, help="drop systems published after YYYY-MM-DD")
    p.add_argument(
        "--quantity",
        choices=("compute", "parameters", "both"),
        default="both",
        help="fit training compute, parameter counts (same windows, and by domain) or both",
    )
    p.add_argument("--out", type=_path_arg, help="output folder (default results/trends[-NAME]/)")
    p.add_argument(
        "--window",
        action="append",
        default=[],
        help="extra window NAME:START:END[:SCALE] (ISO dates; empty END = cut-off; "
        "SCALE all, regular or large)",
    )
    p.add_argument("--resamples", type=_positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--noise", action="store_true", help="x log-uniform [1/2, 2] per estimate")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--half-width", type=_positive_float, default=1.5, help="Z-score +/- years")
    p.add_argument("--z-low", type=float, default=-2.0, help="Z below this: low outlier")
    p.add_argument("--z-high", type=float, default=0.76, help="Z at or above this: large scale")
    p.add_argument(
        "--large-from", type=_date, default="2016-01-01", help="first date of large scale"
    )
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_trends)


def _cmd_trends(args: argparse.Namespace) -> list[str]:
    from projector.inputs.systems import BUNDLED, load_dataset
    from projector.model.cube import trends_to_dataset
    from projector.pipeline import checks
    from projector.pipeline.store import write_trends
    from projector.render import plots
    from projector.render.report import trends_markdown
    from projector.studies import trends

    dataset, cutoff, windows = BUNDLED, None, trends.standard_windows(args.quantity)
    label = "trends"
    if args.scenario:
        from projector.inputs.scenario import load_scenario

        scen = load_scenario(args.scenario)
        dataset, cutoff = scen.data.dataset, scen.data.cutoff
        windows += [trends.Window(w.name, w.start, w.end, w.scale) for w in scen.windows]
        label = f"trends-{scen.name}"
    if args.dataset:
        if not Path(args.dataset).is_file():
            raise InputError(f"--dataset {args.dataset}: no such file")
        dataset, label = args.dataset, f"trends-{Path(args.dataset).stem}"
    if args.cutoff:
        cutoff = args.cutoff
    if not args.z_low < args.z_high:
        raise InputError(f"--z-low {args.z_low:g} must be below --z-high {args.z_high:g}")
    windows += [trends.parse_window(spec) for spec in args.window]
    names = [w.name for w in windows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"window name(s) used twice: {', '.join(dupes)}")
    out_dir = checks.check_output_folder(args.out if args.out is not None else RESULTS_DIR / label)
    systems = load_dataset(dataset)
    # Bootstrap draws: an index and (with --noise) a shift per resample and system.
    from projector.pipeline import budget

    room = budget.available_memory() - budget.BASE_MEMORY
    budget.check_memory(
        budget.BASE_MEMORY + 3 * 8 * args.resamples * len(systems),
        f"--resamples {args.resamples} over {len(systems)} systems",
        f"use at most about {budget.round_down(room / (24 * len(systems) or 1)):,}",
    )
    analysis = trends.analyse(
        systems,
        cutoff=cutoff,
        windows=windows,
        rule=trends.ScaleRule(
            half_width_years=args.half_width,
            low=args.z_low,
            high=args.z_high,
            large_from=args.large_from,
        ),
        resamples=args.resamples,
        noise=args.noise,
        seed=args.seed,
    )
    ds = trends_to_dataset(analysis)
    figures = {}
    if args.quantity in ("compute", "both"):
        figures["trends_compute.png"] = plots.trends_figure(ds, quantity="compute")
    if args.quantity in ("parameters", "both"):
        figures["trends_parameters.png"] = plots.trends_figure(
            ds, quantity="parameters", windows=("params-pre-dl", "params-dl-all",
                                                "params-2018-present-language")
        )  # fmt: skip
    written = write_trends(analysis, out_dir, figures)
    n_lower = int(systems.until(cutoff).censored.sum())
    lines = [] if args.quiet else [trends_markdown(analysis)]
    if n_lower:
        lines.append(
            f"left out of every fit: {n_lower} system(s) whose figure is a lower bound "
            "(compute_bound = lower); `projector data list` marks them >="
        )
    return _emit(lines + [f"wrote {p}" for p in written])


def _add_backtest(sub: argparse._SubParsersAction) -> None:
    from projector.studies.backtest import BASELINES

    p = sub.add_parser(
        "backtest",
        help="hindcast a scenario from past cut-offs and score it against the realised frontier",
        description="For each cut-off T the scenario is re-run with data.cutoff = T and the "
        "start at T (frontier at T); the projected log10 C(T+h) is scored against the "
        "realised frontier at T+h (PIT, 50%%/95%% coverage, median error, CRPS), with the "
        "baselines on the same cases (method.md section 10). Writes backtest.csv, "
        "backtest.md and backtest.png.",
    )
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument(
        "--cutoffs",
        required=True,
        help="ISO dates, comma-separated, or a range START:END:STEP (STEP e.g. 3M, 1Y, 2W)",
    )
    p.add_argument("--horizons", default="1,2,3", help="years after each cut-off (default 1,2,3)")
    p.add_argument("--dataset", help="data the hindcasts see (default: the scenario's)")
    p.add_argument("--truth", help="data reality is read from (default: the same as --dataset)")
    p.add_argument("--paths", type=_positive_int, default=10_000, help="paths per hindcast")
    p.add_argument("--seed", type=_seed, help="seed (default: the scenario's)")
    p.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated, from {', '.join(BASELINES)}; 'none' for no baseline",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    p.add_argument("--out", type=_path_arg, help="output folder (default results/backtest-<name>/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_backtest)


def _cmd_backtest(args: argparse.Namespace) -> list[str]:
    from projector.inputs.scenario import Scenario, with_overrides
    from projector.inputs.systems import load_dataset
    from projector.pipeline import checks
    from projector.pipeline.transaction import result_transaction
    from projector.studies import backtest

    cutoffs = backtest.parse_cutoffs(args.cutoffs)
    horizons = backtest.parse_horizons(args.horizons)
    names = [b.strip() for b in args.baselines.split(",") if b.strip()]
    baselines = [] if names == ["none"] else names
    for path in (args.dataset, args.truth):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such dataset file")
    scen = _overridden(args.scenario, args.set)
    assert isinstance(scen, Scenario)
    scen = with_overrides(scen, dataset=args.dataset)
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)
    truth = systems
    if args.truth is not None:
        truth = load_dataset(args.truth, notable_only=scen.data.notable_only)
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / f"backtest-{scen.name}"
    )

    from tqdm import tqdm

    with tqdm(
        total=len(cutoffs),
        unit="cut-off",
        disable=args.quiet,
        delay=1.0,
        file=sys.stderr,
        leave=False,
    ) as bar:
        bt = backtest.run_backtest(
            scen,
            systems,
            truth,
            cutoffs,
            horizons,
            paths=args.paths,
            seed=args.seed,
            baselines=baselines,
            progress=bar.update,
        )
    from projector.render import plots

    fig = plots.backtest_figure(bt)
    texts = {"backtest.csv": backtest.to_csv(bt), "backtest.md": backtest.to_markdown(bt)}
    with result_transaction(out_dir) as tmp:  # the whole folder in one atomic step
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        fig.savefig(tmp / "backtest.png", dpi=130, format="png")
    written = [out_dir / name for name in (*texts, "backtest.png")]
    plots.close(fig)
    lines = []
    if not args.quiet:
        md = backtest.to_markdown(bt)
        lines.append(md.split("## Cases")[0].rstrip())
    return lines + [f"wrote {p}" for p in written]


def _add_sensitivity(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="global sensitivity of the outputs to scenario keys (Sobol or Morris, SALib)",
        description="Vary scenario keys over ranges (any numeric key by dotted name, "
        "reversion.<component>.<key>, anchors.<anchor>.log10_flop), run the scenario at each "
        "design point with a common seed, and rank the keys by the variance of each output "
        "they explain. Writes sensitivity.csv, sensitivity.md and sensitivity.png.",
    )
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        required=True,
        metavar="KEY=LOW:HIGH",
        help="a key and its range (dates for date keys), repeatable",
    )
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    p.add_argument("--samples", type=_positive_int, default=64, help="base sample size N")
    p.add_argument("--paths", type=_positive_int, default=2000, help="paths per run")
    p.add_argument("--seed", type=_seed, help="common seed (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SET_HELP)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, help="run on a local Dask cluster")
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        help="seconds to wait for --scheduler and its workers (default 10)",
    )
    p.add_argument(
        "--out", type=_path_arg, help="output folder (default results/sensitivity-<name>/)"
    )
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> list[str]:
    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import load_dataset
    from projector.pipeline import checks
    from projector.pipeline.transaction import result_transaction
    from projector.studies import sensitivity

    scen = _overridden(args.scenario, args.set)
    assert isinstance(scen, Scenario)
    factors = [sensitivity.parse_vary(text, scen) for text in args.vary]
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / f"sensitivity-{scen.name}"
    )
    systems = load_dataset(scen.data.dataset, notable_only=scen.data.notable_only)

    from tqdm import tqdm

    total = sensitivity.count_runs(args.method, args.samples, len(factors))
    from projector.pipeline.executors import mapper as mapper_of
    from projector.pipeline.run import executor

    with executor(
        workers=args.workers, scheduler=args.scheduler, timeout=args.timeout,
    ) as client, tqdm(
        total=total, unit="run", disable=args.quiet or client is not None, delay=1.0,
        file=sys.stderr, leave=False,
    ) as bar:  # fmt: skip
        mapper = mapper_of(client)
        sens = sensitivity.run_sensitivity(
            scen,
            systems,
            factors,
            method=args.method,
            samples=args.samples,
            paths=args.paths,
            seed=args.seed,
            mapper=mapper,
            progress=None if mapper is not None else bar.update,
        )
    from projector.render import plots

    texts = {
        "sensitivity.csv": sensitivity.to_csv(sens),
        "sensitivity.md": sensitivity.to_markdown(sens),
    }
    fig = plots.sensitivity_figure(sens)
    with result_transaction(out_dir) as tmp:  # the whole folder in one atomic step
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        fig.savefig(tmp / "sensitivity.png", dpi=130, format="png")
    written = [out_dir / name for name in (*texts, "sensitivity.png")]
    plots.close(fig)
    lines = []
    if not args.quiet:
        for output in (
            list(sens.results)[:1] + [o for o in sens.results if "median-anchor" in o][:1]
        ):
            ranked = ", ".join(f"{k} {v:.2f}" for k, v, _ in sensitivity.ranking(sens, output))
            lines.append(f"{output}: {ranked}")
    return lines + [f"wrote {p}" for p in written]


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="two or more results side by side, with their differences",
        description="Crossing-year quantiles, P(crossed by each report year) and log10 "
        "compute quantiles of each result, side by side, with differences against the "
        "first result and their Monte Carlo standard errors. Writes compare.csv, compare.md "
        "and compare.png (one overlay figure).",
    )
    p.add_argument(
        "results", nargs="+", type=_path_arg, help="result folders or stores (2 or more)"
    )
    p.add_argument("--out", type=_path_arg, help="output folder (default results/compare-A-B/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_compare)


def _open_results(paths: list[Path]) -> list[Any]:
    from projector.pipeline.store import open_result

    out = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such result (run `projector project` first)")
        out.append(open_result(path))
    return out


def _cmd_compare(args: argparse.Namespace) -> list[str]:
    from projector.model.summary import summarize
    from projector.pipeline import checks
    from projector.pipeline.transaction import result_transaction
    from projector.render import plots
    from projector.studies import compare

    if len(args.results) < 2:
        raise InputError("compare: give at least two results")
    summaries = [summarize(ds) for ds in _open_results(args.results)]
    c = compare.compare(summaries)
    names = compare.labels(summaries)
    out_dir = checks.check_output_folder(
        args.out or RESULTS_DIR / ("compare-" + "-".join(names))[:120]
    )
    fig = plots.compare_overlay(summaries, names)
    md = compare.to_markdown(c)
    with result_transaction(out_dir) as tmp:
        (tmp / "compare.csv").write_text(compare.to_csv(c), encoding="utf-8")
        (tmp / "compare.md").write_text(md, encoding="utf-8")
        fig.savefig(tmp / "compare.png", dpi=130, format="png")
    plots.close(fig)
    lines = [] if args.quiet else [md.split("## P(crossed")[0].rstrip()]
    return lines + [f"wrote {out_dir / n}" for n in ("compare.csv", "compare.md", "compare.png")]


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML report (and its Markdown twin) of one or more results",
        description="What was run, the headline tables with their Monte Carlo errors, every "
        "figure, the attribution of the variance to the draws, a comparison when several "
        "results are given, and the sensitivity, backtest and trends folders when given. "
        "A RESULT is a result folder or store, or a scenario name (its result in results/).",
    )
    p.add_argument("results", nargs="+", help="result folders/stores or scenario names")
    p.add_argument(
        "--out", type=_file_arg, help="HTML file (default: report.html in the first result)"
    )
    p.add_argument("--sensitivity", type=_path_arg, help="a folder `projector sensitivity` wrote")
    p.add_argument("--backtest", type=_path_arg, help="a folder `projector backtest` wrote")
    p.add_argument("--trends", type=_path_arg, help="a folder `projector trends` wrote")
    p.set_defaults(func=_cmd_report)


def _result_path(text: str) -> Path:
    path = Path(text)
    if path.exists() or "/" in text or text.endswith((".zarr", ".nc")):
        if not path.exists():
            raise InputError(f"{text}: no such result")
        return path
    from projector.inputs.scenario import load_scenario
    from projector.pipeline import run as api

    folder = api.result_folder(load_scenario(text), root=RESULTS_DIR)
    if not folder.exists():
        raise InputError(
            f"{text}: no result in {folder}; run `make report SCENARIO={text}` (which runs it) "
            f"or `projector project {text}` first"
        )
    return folder


def _cmd_report(args: argparse.Namespace) -> list[str]:
    from projector.pipeline import checks
    from projector.pipeline.fileio import atomic_path
    from projector.pipeline.store import find_store
    from projector.render import document

    paths = [_result_path(t) for t in args.results]
    for flag in ("sensitivity", "backtest", "trends"):
        folder = getattr(args, flag)
        if folder is not None and not folder.is_dir():
            raise InputError(f"--{flag} {folder}: no such folder")
    datasets = _open_results(paths)
    target = args.out
    if target is None:
        target = find_store(paths[0]).parent / "report.html"
    if target.suffix.lower() != ".html":
        raise InputError(f"--out {target}: give a file name ending in .html")
    target = checks.check_output_file(target, "--out" if args.out is not None else "report")
    checks.check_output_file(target.with_suffix(".md"), "report")
    md, page = document.build(
        datasets,
        extras=document.Extras(args.sensitivity, args.backtest, args.trends),
    )
    twin = target.with_suffix(".md")
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_path(twin) as tmp:
        tmp.write_text(md, encoding="utf-8")
    return [f"wrote {target}", f"wrote {twin}"]


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
    from projector.pipeline.transaction import signals_abort

    # SIGINT and SIGTERM raise Interrupted for the whole run, so every ``finally`` and
    # transaction cleans up; the old handlers come back after.
    figures = _open_figures()
    hooks = (sys.unraisablehook, sys.excepthook)
    if not debug:  # h5py's __dealloc__ prints tracebacks through both after a full disk
        sys.unraisablehook = lambda _: None
        sys.excepthook = lambda *_: None
    with signals_abort() as guard, _restore_hooks(hooks):
        try:
            # Usage errors (2), --help and --version (0) leave through SystemExit, as
            # argparse does; _Parser makes the usage error one line.
            args = build_parser().parse_args(args_in)
            lines = args.func(args)
            guard.check()  # a signal some library swallowed is still an interruption
        except BaseException as exc:
            if isinstance(exc, SystemExit | GeneratorExit):
                raise
            return _report(exc, debug)
        finally:
            _close_figures(figures)
        return _print_lines(lines)


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


def _print_lines(lines: Sequence[str]) -> int:
    """Print the command's output; a reader that went away (``| head``) is a quiet exit."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()  # the reader has what it wanted: a quiet exit, as _emit does
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
