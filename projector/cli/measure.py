"""The ``projector measure`` command group: parsing and printing only.

Dependency direction: ``measure`` and ``measure_report`` -> ``measure_cli`` -> ``cli``
(which calls :func:`add_measure_parser`). Importing this module does not import torch;
a command without the ``measure`` extra installed ends in one line and exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from projector.errors import InputError

__all__ = ["DEFAULT_OUT", "add_measure_parser"]

DEFAULT_OUT = Path("results") / "measure"
T = TypeVar("T")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return values


def _arch_list(text: str) -> list[str]:
    from projector.curation.measure import ARCHITECTURES

    names = [v.strip().lower() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in ARCHITECTURES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown architecture {', '.join(unknown) or text!r}; "
            f"expected one or more of {', '.join(ARCHITECTURES)} separated by commas"
        )
    return names


def _single(parse: Callable[[str], list[T]], what: str) -> Callable[[str], T]:
    """An argument type: ``parse``, and exactly one value (``what`` names it)."""

    def one(text: str) -> T:
        values = parse(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return values[0]

    return one


_positive = _single(_int_list, "one whole number")
_one_arch = _single(_arch_list, "one architecture")


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text}")
    return value


def add_measure_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``projector measure {model,ratio,utilization,peak}`` on ``sub``."""
    from projector.curation.measure import ARCHITECTURE_HELP, TOLERANCE

    meas = sub.add_parser(
        "measure",
        help="measure FLOP, the backward-forward ratio and utilization with PyTorch",
        description="Count FLOP of real models with PyTorch's FlopCounterMode (forward, "
        "backward and the SGD update separately), cross-check them against the "
        "layer-by-layer estimate, and time training steps. Needs the 'measure' extra: "
        "pip install 'projector[measure]'.",
    )
    kinds = meas.add_subparsers(dest="measure", required=True, parser_class=parser_class)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--width", type=_positive, help="hidden width (see the architectures)")
        p.add_argument("--seq-len", type=_positive, help="time steps (rnn/lstm) or tokens")
        p.add_argument(
            "--tolerance",
            type=_tolerance,
            default=TOLERANCE,
            help=f"flag measured/analytic counts off by more than this (default {TOLERANCE})",
        )
        p.add_argument("--json", action="store_true", help="print JSON instead of tables")
        p.add_argument(
            "--graph",
            action="store_true",
            help="also count from the compiled graphs (torch.compile; a few seconds a model)",
        )

    def timing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--repeats", type=_positive, default=10, help="timed steps (best kept)")
        p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
        p.add_argument("--chip", help="judge against this chip's fp32 peak in the table")
        p.add_argument(
            "--peak-size", type=_positive, default=2048, help="matrix side of the CPU peak test"
        )

    epilog = "architectures: " + ARCHITECTURE_HELP

    def sweep(
        name: str,
        about: str,
        archs: list[str],
        depths: list[int],
        func: Callable[[argparse.Namespace], list[str]],
        *,
        timed: bool = False,
    ) -> None:
        """A sweep command: its axes (defaults shown in the help), output folder, options."""
        p = kinds.add_parser(name, help=about, epilog=epilog)
        p.add_argument(
            "--arch", type=_arch_list, default=archs, help=f"comma-separated ({','.join(archs)})"
        )
        p.add_argument(
            "--depth", type=_int_list, default=depths, help=f"({','.join(map(str, depths))})"
        )
        p.add_argument("--batch", type=_int_list, default=[1, 64], help="(1,64)")
        p.add_argument(
            "--out", type=Path, default=DEFAULT_OUT, help=f"output folder ({DEFAULT_OUT})"
        )
        common(p)
        if timed:
            timing(p)
        p.set_defaults(func=func)

    p = kinds.add_parser(
        "model",
        help="count (and optionally time) one model, layer by layer",
        epilog=epilog,
    )
    p.add_argument("arch", type=_one_arch, help="one of the architectures below")
    p.add_argument("--depth", type=_positive, default=4, help="layers or blocks")
    p.add_argument("--batch", type=_positive, default=64, help="examples per step")
    p.add_argument("--time", action="store_true", help="also time the step: FLOP/s, utilization")
    common(p)
    timing(p)
    p.set_defaults(func=_cmd_model)

    sweep(
        "ratio",
        "backward-forward ratio by architecture, depth and batch size (no timing)",
        ["mlp"],
        [1, 2, 4, 8, 16],
        _cmd_ratio,
    )
    sweep(
        "utilization",
        "utilization = counted FLOP / (time x peak) by architecture and batch size",
        ["mlp", "cnn", "dwcnn", "lstm", "transformer"],
        [4],
        _cmd_utilization,
        timed=True,
    )

    p = kinds.add_parser("peak", help="the peak FLOP/s utilization is judged against")
    p.add_argument("--json", action="store_true")
    timing(p)
    p.set_defaults(func=_cmd_peak)


#: The first columns of both network tables: the configuration and its counts.
_COUNTED = (
    ("arch", "arch"),
    ("depth", "depth"),
    ("batch", "batch"),
    ("forward_flop", "forward FLOP"),
    ("backward_flop", "backward FLOP"),
    ("ratio", "ratio"),
)
_NETWORK_COLUMNS = (
    *_COUNTED,
    ("ratio_with_update", "ratio with update"),
    ("first_layer_ratio", "first layer ratio"),
    ("estimate_ratio", "estimate ratio"),
    ("forward_vs_estimate", "fwd/est"),
    ("backward_vs_estimate", "bwd/est"),
    ("mismatch", "check"),
)
_TIMED_COLUMNS = (
    *_COUNTED,
    ("seconds", "step [s]"),
    ("flop_per_s", "FLOP/s"),
    ("peak_flop_per_s", "peak FLOP/s"),
    ("utilization", "utilization"),
    ("estimate_utilization", "utilization (estimate)"),
    ("mismatch", "check"),
)
_LAYER_COLUMNS = (
    ("layer", "layer"),
    ("kind", "kind"),
    ("spec", "spec"),
    ("forward_flop", "forward FLOP"),
    ("backward_flop", "backward FLOP"),
    ("ratio", "ratio"),
    ("forward_vs_estimate", "fwd/est"),
    ("backward_vs_estimate", "bwd/est"),
    ("mismatch", "check"),
)


def _graph_columns(rows: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    if not any("graph_forward_flop" in r for r in rows):
        return ()
    return (("graph_forward_vs_counter", "graph/counter fwd"), ("graph_backward_vs_counter", "bwd"))


def _conventions(rows: list[dict[str, Any]], tolerance: float) -> str:
    from projector.curation.measure_report import CONVENTIONS

    conversion = rows[0]["flop_per_counted_unit"] if rows else 1.0
    return CONVENTIONS.format(conversion=conversion, tolerance=tolerance)


def _flagged(rows: list[dict[str, Any]], what: str) -> list[str]:
    bad = [r for r in rows if r.get("mismatch")]
    if not bad:
        return []
    names = ", ".join(
        str(r.get("layer") or f"{r['arch']} depth {r['depth']} batch {r['batch']}") for r in bad
    )
    return [f"MISMATCH: measured and analytic {what} differ beyond the tolerance for: {names}"]


def _peak(args: argparse.Namespace) -> Any:
    from projector.curation import measure

    torch = measure.require_torch()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputError(f"--device {device}: expected cpu or cuda")
    repeats = args.repeats if args.measure == "peak" else 10
    return measure.measure_peak(device=device, size=args.peak_size, repeats=repeats, chip=args.chip)


def _cmd_model(args: argparse.Namespace) -> list[str]:
    from projector.curation import measure
    from projector.curation.measure_report import markdown_table, rows_json

    measure.require_torch()
    peak = _peak(args) if args.time else None
    row, layers, m = measure.measure_model(
        args.arch,
        args.depth,
        args.batch,
        width=args.width,
        seq_len=args.seq_len,
        peak=peak,
        repeats=args.repeats,
        tolerance=args.tolerance,
        graph=args.graph,
    )
    if args.json:
        return [rows_json(row | {"layers": layers, "notes": m.notes})]
    columns = (_TIMED_COLUMNS if peak is not None else _NETWORK_COLUMNS) + _graph_columns([row])
    lines = [
        f"{args.arch}, depth {args.depth}, batch {args.batch}, {m.params} parameters"
        + (f" ({m.notes})" if m.notes else ""),
        "",
        markdown_table(layers, _LAYER_COLUMNS),
        "",
        markdown_table([row], columns),
        "",
        f"SGD update: {row['optimizer_flop']:.4g} FLOP per step "
        f"({row['optimizer_vs_estimate']:.4g} x the estimator's 2 FLOP/parameter)",
    ]
    if peak is not None:
        lines.append(f"peak {row['peak_flop_per_s']:.4g} FLOP/s: {row['peak_source']}")
    lines.append(_conventions([row], args.tolerance))
    return lines + _flagged(layers, "layer counts") + _flagged([row], "network counts")


def _cmd_ratio(args: argparse.Namespace) -> list[str]:
    from projector.curation import measure
    from projector.curation.measure_report import ratio_figure

    measure.require_torch()
    _check_out(args.out)
    return _sweep_command(
        args, "ratio", "# Backward-forward FLOP ratio", _NETWORK_COLUMNS, ratio_figure
    )


def _cmd_utilization(args: argparse.Namespace) -> list[str]:
    from projector.curation import measure
    from projector.curation.measure_report import utilization_figure

    measure.require_torch()
    _check_out(args.out)
    peak = _peak(args)
    return _sweep_command(
        args,
        "utilization",
        "# Utilization by architecture and batch size",
        _TIMED_COLUMNS,
        utilization_figure,
        peak=peak,
    )


def _sweep_command(
    args: argparse.Namespace,
    name: str,
    title: str,
    columns: tuple[tuple[str, str], ...],
    figure: Any,
    *,
    peak: Any = None,
) -> list[str]:
    """A sweep (timed against ``peak`` when given) written as ``<name>.csv``,
    ``<name>_layers.csv``, ``<name>.md`` and ``<name>.png``; the lines to print."""
    from projector.curation import measure
    from projector.curation.measure_report import (
        markdown_table,
        rows_json,
        write_csv,
        write_figure,
        write_text,
    )

    timed = {} if peak is None else {"peak": peak, "repeats": args.repeats}
    rows, layers = measure.sweep(
        args.arch,
        args.depth,
        args.batch,
        width=args.width,
        seq_len=args.seq_len,
        tolerance=args.tolerance,
        graph=args.graph,
        **timed,
    )
    notes = [] if peak is None else [_peak_line(peak, rows)]
    table = markdown_table(rows, columns + _graph_columns(rows))
    flagged = _flagged(rows, "network counts")
    md = "\n\n".join([title, table, *notes, _conventions(rows, args.tolerance), *flagged])
    written = [
        write_csv(rows, args.out / f"{name}.csv"),
        write_csv(layers, args.out / f"{name}_layers.csv"),
        write_text(md, args.out / f"{name}.md"),
        write_figure(figure(rows), args.out / f"{name}.png"),
    ]
    if args.json:
        return [rows_json(rows)]
    return [table, "", *notes, *flagged, *(f"wrote {p}" for p in written)]


def _peak_line(peak: Any, rows: list[dict[str, Any]]) -> str:
    line = f"peak {peak.flop_per_s:.4g} FLOP/s: {peak.source}"
    if peak.matmul_size:
        local = [r["peak_flop_per_s"] for r in rows]
        line += (
            f"; each configuration is judged against the same benchmark re-read between its "
            f"timed steps ({min(local):.4g} to {max(local):.4g} FLOP/s)"
        )
    return line


def _cmd_peak(args: argparse.Namespace) -> list[str]:
    from projector.curation.measure_report import rows_json

    peak = _peak(args)
    if args.json:
        return [
            rows_json(
                {"peak_flop_per_s": peak.flop_per_s, "source": peak.source, "device": peak.device}
            )
        ]
    return [f"peak {peak.flop_per_s:.4g} FLOP/s: {peak.source}"]


def _check_out(out: Path) -> None:
    """measure adds its files to ``out``; a folder holding another command's result is
    refused (its files would sit among that result's and be lost with it)."""
    from projector.pipeline.folders import folder_kind

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    found = folder_kind(out) if out.is_dir() else None
    if found is not None:
        raise InputError(
            f"--out {out}: holds a {found} result; write the measurements elsewhere "
            "(default results/measure)"
        )
