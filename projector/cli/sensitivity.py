"""``projector sensitivity``: parsing and printing (the design: ``studies.sensitivity``)."""

from __future__ import annotations

import argparse
import sys

from projector.cli.args import (
    RESULTS_DIR,
    SET_HELP,
    add_dask_options,
    path_arg,
    positive_int,
    seed,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--samples", type=positive_int, default=64, help="base sample size N")
    p.add_argument("--paths", type=positive_int, default=2000, help="paths per run")
    p.add_argument("--seed", type=seed, help="common seed (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    add_dask_options(p, what="the runs")
    p.add_argument(
        "--out", type=path_arg, help="output folder (default results/sensitivity-<name>/)"
    )
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("SALib", "studies", "sensitivity analyses")  # before any compute
    require("matplotlib", "plot", "sensitivity figures")  # before any compute
    from projector.pipeline import checks
    from projector.pipeline.folders import guard_output, scenario_inputs, write_folder
    from projector.pipeline.run import resolve
    from projector.studies import sensitivity

    scen = resolve(args.scenario, changes=args.set)
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / f"sensitivity-{scen.name}"
    )
    guard_output(out_dir, "sensitivity", inputs=scenario_inputs(scen))
    from tqdm import tqdm

    total = sensitivity.count_runs(args.method, args.samples, len(args.vary))
    with tqdm(
        total=total, unit="run", disable=args.quiet or bool(args.workers or args.scheduler),
        delay=1.0, file=sys.stderr, leave=False,
    ) as bar:  # fmt: skip
        sens = sensitivity.study(
            scen, args.vary, method=args.method,
            samples=args.samples, paths=args.paths, seed=args.seed, workers=args.workers,
            scheduler=args.scheduler, timeout=args.timeout, progress=bar.update,
        )  # fmt: skip
    from projector.render import study_plots

    written = write_folder(
        out_dir,
        {
            "sensitivity.csv": sensitivity.to_csv(sens),
            "sensitivity.md": sensitivity.to_markdown(sens),
        },
        {"sensitivity.png": study_plots.sensitivity_figure(sens)},
    )
    lines = []
    from projector.studies.sensitivity_table import wide_interval_warning

    warning = wide_interval_warning(sens)
    if warning:
        print(f"projector: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        for output in (
            list(sens.results)[:1] + [o for o in sens.results if "median-anchor" in o][:1]
        ):
            ranked = ", ".join(f"{k} {v:.2f}" for k, v, _ in sensitivity.ranking(sens, output))
            lines.append(f"{output}: {ranked}")
    return lines + [f"wrote {p}" for p in written]
