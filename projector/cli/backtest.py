"""``projector backtest``: parsing and printing (the hindcasts: ``studies.backtest``)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from projector.cli.args import RESULTS_DIR, SET_HELP, add_dask_options, path_arg, positive_int, seed


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from projector.studies.baselines import BASELINES
    from projector.studies.truth import TRUTH_DRAWS

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
    p.add_argument(
        "--truth-uncertainty",
        action="store_true",
        help="score against an uncertain truth: redraw each truth row's log10 compute with its "
        "stated uncertainty (uncertainty_factor or Epoch's Confidence) and average the scores "
        "over the draws",
    )
    p.add_argument(
        "--revision-noise",
        type=float,
        default=0.0,
        metavar="SD",
        help="in the truth draws, add N(0, SD) [OOM] to each row's log10 compute (later "
        "revisions of the estimates); combinable with --truth-uncertainty (default 0)",
    )
    p.add_argument(
        "--truth-draws",
        type=positive_int,
        default=TRUTH_DRAWS,
        help=f"truth draws of an uncertain truth (default {TRUTH_DRAWS}; seeded by --seed)",
    )
    p.add_argument("--paths", type=positive_int, default=10_000, help="paths per hindcast")
    p.add_argument("--seed", type=seed, help="seed (default: the scenario's)")
    p.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated, from {', '.join(BASELINES)}; 'none' for no baseline",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    add_dask_options(p, what="each hindcast's chunks")
    p.add_argument("--out", type=path_arg, help="output folder (default results/backtest-<name>/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_backtest)


def _cmd_backtest(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("scoringrules", "studies", "backtest scores (CRPS)")  # before any compute
    require("matplotlib", "plot", "backtest figures")  # before any compute
    from projector.pipeline import checks
    from projector.pipeline.folders import guard_output, input_paths, scenario_inputs, write_folder
    from projector.pipeline.run import resolve
    from projector.studies import backtest

    truth_model = backtest.TruthModel(
        uncertainty=args.truth_uncertainty, revision_sd=args.revision_noise, draws=args.truth_draws
    )
    cutoffs, horizons = _cutoffs(args.cutoffs), backtest.parse_horizons(args.horizons)
    names = [b.strip() for b in args.baselines.split(",") if b.strip()]
    baselines = [] if names == ["none"] else names
    scen = resolve(args.scenario, changes=args.set)
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / f"backtest-{scen.name}"
    )
    guard_output(
        out_dir, "backtest",
        inputs=[*scenario_inputs(scen), *input_paths(args.dataset, args.truth)],
    )  # fmt: skip

    from tqdm import tqdm

    from projector.pipeline.run import executor

    with executor(
        workers=args.workers, scheduler=args.scheduler, timeout=args.timeout
    ) as client, tqdm(
        total=len(cutoffs), unit="cut-off", disable=args.quiet, delay=1.0, file=sys.stderr,
        leave=False,
    ) as bar:  # fmt: skip
        bt = backtest.study(
            scen, cutoffs, horizons, dataset=args.dataset, truth=args.truth,
            paths=args.paths, seed=args.seed, baselines=baselines, progress=bar.update,
            client=client, truth_model=truth_model,
        )  # fmt: skip
    from projector.render import study_plots

    written = write_folder(
        out_dir,
        {"backtest.csv": backtest.to_csv(bt), "backtest.md": backtest.to_markdown(bt)},
        {"backtest.png": study_plots.backtest_figure(bt)},
    )
    lines = []
    if not args.quiet:
        lines.append(backtest.to_markdown(bt, cases=False).rstrip())
    return lines + [f"wrote {p}" for p in written]


def _cutoffs(text: str) -> list[dt.date]:
    """``--cutoffs`` parsed, each within the dates a scenario may name (``DATE_RANGE``)."""
    from projector.errors import InputError
    from projector.inputs.declare import DATE_RANGE
    from projector.studies import backtest

    try:
        cutoffs = backtest.parse_cutoffs(text)
    except (ValueError, OverflowError) as exc:  # a step past the calendar's end
        if isinstance(exc, InputError):
            raise
        raise InputError(f"--cutoffs {text!r}: {exc}") from None
    low, high = DATE_RANGE
    outside = [c for c in cutoffs if not low <= c <= high]
    if outside:
        raise InputError(
            f"--cutoffs {text!r}: {outside[0]} is outside {low} to {high}, the dates a "
            "scenario may name"
        )
    return cutoffs
