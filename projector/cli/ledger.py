"""``projector ledger``: parsing and printing (the scores: ``studies.ledger``).

``projector ledger [--truth CSV]`` scores the forecast ledger and writes ledger.csv,
ledger.md and ledger.png; ``projector ledger record SCENARIO [--ledger FILE]`` appends the
scenario's forecast to a ledger file.
"""

from __future__ import annotations

import argparse
import sys

from projector.cli.args import RESULTS_DIR, Parser, path_arg, positive_int, seed


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from projector.studies.ledger import HINDCAST_SCENARIOS

    p = sub.add_parser(
        "ledger",
        help="score the ledger of published forecasts of frontier training compute",
        description="Scores every forecast of the ledger (default: the bundled "
        "projector/inputs/data/forecasts.csv) whose target date the truth data cover, against "
        "the realised frontier (running maximum of training compute), with censored truth as "
        "a lower bound and knife-edge resolutions flagged; beside each forecast, the "
        "hindcasts of projector's scenarios from the forecast's date. Writes ledger.csv, "
        "ledger.md and ledger.png. 'projector ledger record SCENARIO' appends a scenario's "
        "forecast to a ledger file instead.",
    )
    p.add_argument("--ledger", type=path_arg, help="a ledger CSV (default: the bundled one)")
    p.add_argument("--truth", type=path_arg, help="a systems-format CSV to score against "
                   "(default: the bundled systems)")  # fmt: skip
    p.add_argument(
        "--scenarios",
        default=",".join(HINDCAST_SCENARIOS),
        help=f"hindcast scenarios, comma-separated; 'none' for none (default "
        f"{','.join(HINDCAST_SCENARIOS)})",
    )
    p.add_argument("--paths", type=positive_int, default=2000, help="paths per hindcast")
    p.add_argument("--seed", type=seed, help="seed of the hindcasts (default: each scenario's)")
    p.add_argument("--out", type=path_arg, help="output folder (default results/ledger/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_ledger, parser=p)

    rec = Parser(
        prog="projector ledger record",
        description="Run SCENARIO and append its forecast (quantiles of the largest run at "
        "each report year from today, P(reaching each threshold) in the next ten years, the "
        "scenario's and the data's sha256) to a ledger file, created if missing.",
    )
    rec.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    rec.add_argument("--ledger", type=path_arg, required=True, help="the ledger CSV to append to")
    rec.add_argument("--paths", type=positive_int, help="paths (default: the scenario's)")
    rec.add_argument("--seed", type=seed, help="seed (default: the scenario's)")
    p.set_defaults(record_parser=rec)
    # 'record' is a word, not an option: argparse keeps the rest for the record parser.
    p.add_argument("record", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _cmd_ledger(args: argparse.Namespace) -> list[str]:
    if args.record:
        if args.record[0] != "record":
            args.parser.error(f"unrecognized arguments: {' '.join(args.record)}")
        return _cmd_record(args.record_parser.parse_args(args.record[1:]))
    from projector.extras import require

    require("scoringrules", "studies", "ledger scores (CRPS)")  # before any compute
    require("matplotlib", "plot", "the ledger figure")
    from projector.pipeline import checks
    from projector.pipeline.folders import write_folder
    from projector.render.ledger_plots import ledger_figure
    from projector.studies import ledger, ledger_output

    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    scenarios = [] if names == ["none"] else names
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / "ledger"
    )
    led = ledger.load_ledger(args.ledger)  # bad rows stop here, before any hindcast

    from tqdm import tqdm

    dates = len({f.made for f in led.forecasts if ledger._hindcastable(f)})
    with tqdm(total=dates * len(scenarios), unit="hindcast", disable=args.quiet, delay=1.0,
              file=sys.stderr, leave=False) as bar:  # fmt: skip
        s = ledger.study(led, truth=args.truth, scenarios=scenarios, paths=args.paths,
                         seed=args.seed, progress=bar.update)  # fmt: skip
    written = write_folder(
        out_dir,
        {"ledger.csv": ledger_output.to_csv(s), "ledger.md": ledger_output.to_markdown(s)},
        {"ledger.png": ledger_figure(s)},
    )
    lines = []
    if not args.quiet:
        md = ledger_output.to_markdown(s)
        lines.append(md.split("\n## Open")[0].rstrip())
    return lines + [f"wrote {p}" for p in written]


def _cmd_record(args: argparse.Namespace) -> list[str]:
    from projector.studies import ledger_record as ledger

    led, added = ledger.record(args.scenario, ledger=args.ledger, paths=args.paths, seed=args.seed)
    return [f"appended {added} forecast rows to {args.ledger} ({len(led.forecasts)} forecasts)"]
