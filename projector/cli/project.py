"""``projector project``, ``sweep``, ``export``, ``validate``, ``summary`` and ``plot``:
parsing and printing; the work is :class:`projector.pipeline.run.Run`'s."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projector.cli.args import (
    RESULTS_DIR,
    SET_HELP,
    add_run_options,
    emit,
    file_arg,
    path_arg,
    positive_int,
    progress_bar,
    seed,
)
from projector.errors import InputError

if TYPE_CHECKING:
    from projector.inputs.scenario import Scenario


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project",
        help="run a scenario and write its result folder (Zarr store and summaries)",
        description="Run a scenario chunk by chunk into results/<name>/ (the scenario as "
        "written) or results/<name>-<hash>/ (with --paths/--seed/--dataset/--set): a Zarr "
        "store, summary.csv and summary.md. A folder holding a result from other inputs is "
        "never replaced without --force.",
    )
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument("--paths", type=positive_int, help="override the number of paths")
    p.add_argument("--seed", type=seed, help="override the seed")
    p.add_argument("--dataset", help="an Epoch CSV export to use instead of the scenario's data")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    p.add_argument("--out", type=path_arg, help="output folder (default: see above)")
    add_run_options(p)
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
    p.add_argument("--paths", type=positive_int, help="override the number of paths")
    p.add_argument("--seed", type=seed, help="override the seed")
    p.add_argument(
        "--out", type=path_arg, help="output folder (default results/sweep-<name>-<hash>/)"
    )
    add_run_options(p, keep_default="0")
    p.add_argument("--quiet", action="store_true", help="no progress bar or report")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("export", help="write a result as one NetCDF file")
    p.add_argument("result", type=path_arg, help="a result folder or store")
    p.add_argument("out", type=file_arg, help="the NetCDF file to write (.nc)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "validate",
        help="check a scenario file without running it",
        description="Check scenario files. Warns (still exit 0) when a reversion component "
        "puts probability before the start and says what the scenario's "
        "growth.reversion_before_start policy does with it.",
    )
    p.add_argument("scenario", nargs="+")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("summary", help="print the summary tables of a result")
    p.add_argument(
        "result", type=path_arg, help="a result folder, a .zarr store or an older .nc cube"
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
        "result", type=path_arg, help="a result folder, a .zarr store or an older .nc cube"
    )
    p.add_argument(
        "--kind",
        choices=tuple(PLOT_KINDS),
        default="fan",
        help="fan: bands, history and anchors; crossing: P(crossed by year) per anchor (and "
        "weighted); histograms: first-crossing years; prior: reversion prior and w(t); "
        "rates: bootstrap distributions of the growth rates",
    )
    p.add_argument("--out", type=file_arg, help="PNG path (default: <kind file> in the result)")
    p.set_defaults(func=_cmd_plot)


def _cmd_project(args: argparse.Namespace) -> list[str]:
    if args.plot:
        from projector.extras import require

        require("matplotlib", "plot", "plots")  # before any compute
    from projector.pipeline.run import Run

    run = Run(
        args.scenario, paths=args.paths, seed=args.seed, dataset=args.dataset,
        changes=args.set, store=True if args.out is None else args.out,
        keep_paths=args.keep_paths, chunk_paths=args.chunk_paths, workers=args.workers,
        scheduler=args.scheduler, timeout=args.timeout, threads=args.threads,
        force=args.force, reuse=args.reuse, plot=args.plot,
    )  # fmt: skip
    with progress_bar(run.resolve().paths, args.quiet) as bar:
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
    from projector.pipeline.folders import guard_output, scenario_inputs

    inputs = [f for _, s in variants for f in scenario_inputs(s)]
    if guard_output(target, "sweep", inputs=inputs) is not None and not args.force:
        raise InputError(f"{target}: exists; pass --force to replace it or --out elsewhere")
    if args.threads:
        from projector.pipeline.executors import set_threads

        set_threads(args.threads)
    with progress_bar(first.paths * len(variants), args.quiet) as bar:
        summary, written = sweep(
            variants, target, workers=args.workers, scheduler=args.scheduler,
            timeout=args.timeout, keep_paths=args.keep_paths, chunk_paths=args.chunk_paths,
            progress=bar.update,
        )  # fmt: skip
    if args.quiet:
        return []
    from projector.render.report import summary_markdown

    return emit([summary_markdown(summary), *(f"wrote {w}" for w in written)])


def _cmd_export(args: argparse.Namespace) -> list[str]:
    from projector.pipeline import checks
    from projector.pipeline.folders import guard_file
    from projector.pipeline.store import export_netcdf, find_store

    out = checks.check_output_file(args.out, "export")
    guard_file(out, (".nc",), inputs=[find_store(args.result)], what="export")
    return [f"wrote {export_netcdf(args.result, out)}"]


def _cmd_validate(args: argparse.Namespace) -> list[str]:
    from projector.pipeline.api import reversion_warnings
    from projector.pipeline.run import resolve

    lines = []
    for name in args.scenario:
        scen = resolve(name, changes=args.set)
        start = "latest-data" if scen.start_year is None else f"{scen.start_year:g}"
        lines.append(
            f"{scen.source}: ok ({scen.name}: {scen.paths} paths, {start} to {scen.end_year:g}, "
            f"{len(scen.reversion)} reversion components, {len(scen.anchors)} anchors, "
            f"sha256 {scen.sha256[:12]})"
        )
        lines += _validate_rates(scen)
        if scen.ceilings.mode != "off":  # the table is read and checked now, not at run time
            from projector.inputs.constraints import load_constraints

            spec = scen.ceilings
            table = load_constraints(None if spec.table == "bundled" else spec.table)
            lines.append(
                f"  ceilings: {spec.mode}, table {table.label} ({len(table.rows)} rows, "
                f"sha256 {table.sha256[:12]}), correlation {spec.correlation:g}"
            )
        for warning in reversion_warnings(scen):
            print(f"projector: warning: {warning}", file=sys.stderr)
    return lines


def _validate_rates(scen: Scenario) -> list[str]:
    """The rates the scenario resolves to on its data: the OLS fits the bootstrap is
    centred on, and the long-run rate from them (or the key that sets it)."""
    import numpy as np

    from projector.pipeline.run import Run
    from projector.render.rates import rate_text

    p = Run(scen).plan()  # loads the data and fits: what a run would refuse, this refuses
    dl = float(np.polyfit(p.t_dl, p.y_dl, 1)[0])
    pre = float(np.polyfit(p.t_pre, p.y_pre, 1)[0])
    fixed = p.long_run  # growth.long_run_doubling_months as OOM/year, or None
    if fixed is None:
        long_run = math.sqrt(pre * p.growth_ref) if pre > 0 else float("nan")
        how = (
            f"sqrt(pre-DL x reference {p.growth_ref:.3f}, growth.moore_doubling_months = "
            f"{scen.moore_doubling_months:g} in {scen.moore_units} units)"
        )
    else:
        long_run, how = (
            fixed,
            f"growth.long_run_doubling_months = {scen.long_run_doubling_months:g}",
        )

    def years(t: Any) -> str:
        return f"{len(t)} systems, {math.floor(float(t.min()))}-{math.floor(float(t.max()))}"

    return [
        f"  Deep-Learning rate (OLS of {years(p.t_dl)}): {rate_text(dl)}",
        f"  pre-DL rate (OLS of {years(p.t_pre)}): {rate_text(pre)}",
        f"  long-run rate, {how}: {rate_text(long_run)}",
    ]


def open_for(path: str | Path, command: str, *, sweeps: bool = True) -> Any:
    """The result at ``path`` (``store.open_result``: checked) for ``command``.

    A store too old to carry checksums is read with one warning line on stderr. With
    ``sweeps=False``, a sweep result is refused in one line saying what reads it.
    """
    import warnings

    from projector.pipeline.checksums import UncheckedStoreWarning
    from projector.pipeline.store import open_result

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UncheckedStoreWarning)
        ds = open_result(path)
    for w in caught:
        if issubclass(w.category, UncheckedStoreWarning):
            print(f"projector: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not sweeps and "variant" in ds.dims:
        ds.close()
        raise InputError(
            f"{path}: a sweep result ({ds.sizes['variant']} variants); `projector {command}` "
            f"reads a single projection's result (from `projector project`); `projector "
            f"summary {path}` prints each variant's tables"
        )
    return ds


def _cmd_summary(args: argparse.Namespace) -> list[str]:
    from projector.model.summary import summarize
    from projector.render.report import summary_csv, summary_markdown

    ds = open_for(args.result, "summary")
    s = summarize(ds)
    if args.csv:
        return emit([summary_csv(s)])
    lines = [summary_markdown(s)]
    if args.attribution:
        from projector.render.document import attribution_markdown

        lines.append(attribution_markdown(ds))
    return emit(lines)


def _write_plot(result: Path, target: Path) -> Path:
    from projector.pipeline.folders import write_fan_chart

    return write_fan_chart(open_for(result, "plot", sweeps=False), target)


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
    from projector.pipeline.store import find_store
    from projector.render import plots

    folder = find_store(args.result).parent  # the result folder, or beside a lone store
    function, file_name = PLOT_KINDS[args.kind]
    target = args.out if args.out is not None else folder / file_name
    target = checks.check_output_file(target, "--out" if args.out is not None else "plot")
    from projector.pipeline.folders import guard_file

    guard_file(target, (".png",), inputs=[find_store(args.result)])
    if args.kind == "fan":
        return [f"wrote {_write_plot(args.result, target)}"]
    fig = getattr(plots, function)(open_for(args.result, "plot", sweeps=False))
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plots.close(fig)
    return [f"wrote {target}"]
