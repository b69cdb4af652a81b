"""``projector trends``: parsing and printing (the analysis: ``studies.trends``)."""

from __future__ import annotations

import argparse

from projector.cli.args import RESULTS_DIR, date, emit, path_arg, positive_float, positive_int, seed


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
    from projector.extras import require

    require("matplotlib", "plot", "trend figures")  # before any compute
    from projector.inputs.scenario import find_scenario
    from projector.model.trends_cube import trends_to_dataset
    from projector.pipeline import checks
    from projector.pipeline.folders import guard_output, input_paths
    from projector.pipeline.store import write_trends
    from projector.render.report import trends_markdown
    from projector.studies import trend_study, trends

    data, cutoff, windows, label = trend_study.inputs(
        scenario=args.scenario, dataset=args.dataset, cutoff=args.cutoff,
        quantity=args.quantity, windows=args.window,
    )  # fmt: skip
    rule = trends.ScaleRule(
        half_width_years=args.half_width, low=args.z_low, high=args.z_high,
        large_from=args.large_from,
    )  # fmt: skip
    out_dir = checks.check_output_folder(args.out if args.out is not None else RESULTS_DIR / label)
    scenario_file = find_scenario(args.scenario) if args.scenario else None
    inputs = input_paths(args.dataset, scenario_file, data)
    guard_output(out_dir, "trends", inputs=inputs)
    st = trend_study.study(
        data, cutoff, windows, label, rule=rule, resamples=args.resamples, noise=args.noise,
        seed=args.seed,
    )  # fmt: skip
    figures = trend_study.figures(trends_to_dataset(st.analysis), args.quantity)
    written = write_trends(st.analysis, out_dir, figures)
    lines = [] if args.quiet else [trends_markdown(st.analysis)]
    if st.lower_bounds:
        lines.append(
            f"left out of every fit: {st.lower_bounds} system(s) whose figure is a lower bound "
            "(compute_bound = lower); `projector data list` marks them >="
        )
    return emit(lines + [f"wrote {p}" for p in written])
