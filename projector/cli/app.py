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
from typing import Any

from projector import __version__
from projector.cli import backtest, compare, data, project, sensitivity, trends
from projector.cli.args import (
    Parser,
    nonnegative_float,
    positive_float,
)
from projector.errors import InputError

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
    _add_estimate(sub)
    data.add_parsers(sub)
    trends.add_parsers(sub)
    backtest.add_parsers(sub)
    sensitivity.add_parsers(sub)
    compare.add_parsers(sub)
    from projector.cli.measure import add_measure_parser

    add_measure_parser(sub, Parser)
    return parser


def _add_estimate(sub: argparse._SubParsersAction) -> None:
    from projector.curation.estimate import LAYER_HELP
    from projector.curation.hardware import PRECISIONS, accelerators

    est = sub.add_parser(
        "estimate",
        help="estimate a system's training compute (method.md section 9)",
        description="Estimate training compute by counting operations (ops) or from "
        "hardware time (gpu). The last line printed starts with the estimate in FLOP.",
    )
    kinds = est.add_subparsers(dest="method", required=True, parser_class=Parser)

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
    p.add_argument("--params", type=positive_float, help="parameters (MoE: active per token)")
    p.add_argument("--tokens", type=positive_float, help="tokens processed, all epochs")
    p.add_argument("--forward-flop", type=positive_float, help="forward FLOP per example")
    p.add_argument("--layer", action="append", default=[], help="a layer, e.g. conv:3,96,11,227,4")
    p.add_argument("--examples", type=positive_float, help="training examples per epoch")
    p.add_argument("--epochs", type=positive_float, default=1.0, help="passes over the data")
    p.add_argument(
        "--backward-ratio", type=nonnegative_float, default=2.0, help="backward/forward FLOP"
    )
    p.add_argument("--first-layer-ratio", type=nonnegative_float, default=1.0)
    p.add_argument("--batch-size", type=positive_float, help="adds the weight-update cost")
    p.add_argument("--update-flop-per-param", type=nonnegative_float, default=2.0)
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
    p.add_argument("--count", type=positive_float, help="number of chips (with --hours/--days)")
    time = p.add_mutually_exclusive_group(required=True)
    time.add_argument("--hours", type=positive_float, help="wall-clock training time [h]")
    time.add_argument("--days", type=positive_float, help="wall-clock training time [days]")
    time.add_argument(
        "--gpu-hours",
        type=positive_float,
        help="accelerator-hours as papers report them (chips x hours), e.g. 1.72M; no --count",
    )
    p.add_argument("--precision", choices=PRECISIONS, help="default: bf16, else fp16, else fp32")
    p.add_argument("--utilization", type=positive_float, help="fraction of peak achieved")
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
        _silence_stdout()  # the reader has what it wanted: a quiet exit, as emit does
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
