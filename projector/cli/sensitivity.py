"""``projector sensitivity``: parsing and printing (the design: ``studies.sensitivity``)."""

from __future__ import annotations

import argparse
import sys

from projector.cli.args import (
    RESULTS_DIR,
    SET_HELP,
    overridden,
    path_arg,
    positive_float,
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
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="run on a local Dask cluster")
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        help="seconds to wait for --scheduler and its workers (default 10)",
    )
    p.add_argument(
        "--out", type=path_arg, help="output folder (default results/sensitivity-<name>/)"
    )
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> list[str]:
    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import load_dataset
    from projector.pipeline import checks
    from projector.pipeline.transaction import result_transaction
    from projector.studies import sensitivity

    scen = overridden(args.scenario, args.set)
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
