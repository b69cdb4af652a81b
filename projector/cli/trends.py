"""``projector trends``: parsing and printing (the analysis: ``studies.trends``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from projector.cli.args import RESULTS_DIR, date, emit, path_arg, positive_float, positive_int, seed
from projector.errors import InputError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trends",
        help="fit historical growth by window (the Three Eras analysis) and draw it",
        description="OLS of log10 training compute (and parameters) on publication date per "
        "window, with bootstrap intervals, Z-score scale classes and break tests "
        "(method.md section 8). Writes trends.csv, trends.md, trends.nc and figures.",
    )
    p.add_argument("--dataset", help="a dataset CSV (default: the bundled dataset)")
    p.add_argument("--scenario", help="take dataset, cut-off and extra [[windows]] from it")
    p.add_argument("--cutoff", type=date, help="drop systems published after YYYY-MM-DD")
    p.add_argument(
        "--quantity",
        choices=("compute", "parameters", "both"),
        default="both",
        help="fit training compute, parameter counts (same windows, and by domain) or both",
    )
    p.add_argument("--out", type=path_arg, help="output folder (default results/trends[-NAME]/)")
    p.add_argument(
        "--window",
        action="append",
        default=[],
        help="extra window NAME:START:END[:SCALE] (ISO dates; empty END = cut-off; "
        "SCALE all, regular or large)",
    )
    p.add_argument("--resamples", type=positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--noise", action="store_true", help="x log-uniform [1/2, 2] per estimate")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--half-width", type=positive_float, default=1.5, help="Z-score +/- years")
    p.add_argument("--z-low", type=float, default=-2.0, help="Z below this: low outlier")
    p.add_argument("--z-high", type=float, default=0.76, help="Z at or above this: large scale")
    p.add_argument(
        "--large-from", type=date, default="2016-01-01", help="first date of large scale"
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
    return emit(lines + [f"wrote {p}" for p in written])
