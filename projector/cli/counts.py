"""``projector counts``: parsing and printing (the counts: ``studies.counts``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from projector.cli.args import RESULTS_DIR, SET_HELP, emit, path_arg, positive_int, seed


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from projector.model.counts import METHODS

    p = sub.add_parser(
        "counts",
        help="how many models above thresholds (and near the frontier), from the same paths",
        description="Runs the scenario and counts, for each path and year, the notable models "
        "at or above each threshold and within k OOM of that path's frontier, from a model of "
        "the systems below the frontier fitted to the data before the start. Writes "
        "counts.nc, counts.csv, counts.md and counts.png. With --backtest: hindcasts of the "
        "counts from past cut-offs, scored against the realised counts beside a naive "
        "baseline (counts-backtest.csv and .md).",
    )
    p.add_argument("scenario", help="a name in scenarios/ or a path to a .toml file")
    p.add_argument(
        "--thresholds",
        help="FLOP, comma-separated and increasing (default 1e25,1e26,1e27; with --backtest "
        "1e22,1e23,1e24,1e25); a negative, a non-number or an order other than increasing "
        "is refused (not sorted)",
    )
    p.add_argument(
        "--within",
        default="1,2",
        help="orders of magnitude below the path's frontier, comma-separated, increasing, "
        "each in (0, 3] (default 1,2)",
    )
    p.add_argument(
        "--years",
        help="calendar years counted at their end: 2026,2028 or 2026:2030 (default: the "
        "start's year to 2030)",
    )
    p.add_argument(
        "--method",
        default="bands",
        choices=METHODS,
        help="systems below the frontier: 'bands' (fitted Poisson rates per band; default) "
        "or 'allocation' (GovAI's largest-model share and power law)",
    )
    p.add_argument("--paths", type=positive_int, help="paths (default: the scenario's)")
    p.add_argument("--seed", type=seed, help="seed (default: the scenario's)")
    p.add_argument("--dataset", help="a dataset CSV (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    p.add_argument(
        "--backtest",
        action="store_true",
        help="hindcast the counts from --cutoffs at --horizons instead (both methods and "
        "the baseline)",
    )
    p.add_argument(
        "--cutoffs",
        default="2016-01-01:2023-01-01:1Y",
        help="with --backtest: ISO dates or START:END:STEP (default 2016-01-01:2023-01-01:1Y)",
    )
    p.add_argument("--horizons", default="1,2,3", help="with --backtest: years (default 1,2,3)")
    p.add_argument("--out", type=path_arg, help="output folder (default results/counts-<name>/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_counts)


def _cmd_counts(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("matplotlib", "plot", "counts figures")  # before any compute
    from projector.pipeline import checks
    from projector.pipeline.run import resolve
    from projector.studies import counts

    default_th = counts.BACKTEST_THRESHOLDS if args.backtest else counts.DEFAULT_THRESHOLDS
    thresholds = args.thresholds or ",".join(f"1e{t:g}" for t in default_th)
    counts.parse_thresholds(thresholds)  # bad arguments before anything runs
    counts.parse_within(args.within)
    if args.years is not None:
        counts.parse_years(args.years)
    scen = resolve(args.scenario, dataset=args.dataset, changes=args.set)
    kind = "counts-backtest" if args.backtest else "counts"
    out_dir = checks.check_output_folder(
        args.out if args.out is not None else RESULTS_DIR / f"{kind}-{scen.name}"
    )
    if args.backtest:
        return _backtest(args, scen, thresholds, out_dir)
    from projector.cli.args import progress_bar
    from projector.render.count_plots import counts_figure

    with progress_bar(args.paths or scen.paths, args.quiet) as bar:
        ds = counts.counts(
            scen, thresholds=thresholds, within=args.within, years=args.years,
            method=args.method, paths=args.paths, seed=args.seed, progress=bar.update,
        )  # fmt: skip
    written = write_counts(ds, out_dir, counts_figure(ds))
    lines = [] if args.quiet else [counts.to_markdown(ds).rstrip()]
    return emit(lines + [f"wrote {p}" for p in written])


def _backtest(args: argparse.Namespace, scen: Any, thresholds: str, out_dir: Path) -> list[str]:
    from tqdm import tqdm

    from projector.pipeline.folders import write_folder
    from projector.studies import backtest as frontier_backtest
    from projector.studies import count_backtest as counts

    cutoffs = frontier_backtest.parse_cutoffs(args.cutoffs)
    horizons = frontier_backtest.parse_horizons(args.horizons)
    with tqdm(total=len(cutoffs), unit="cut-off", disable=args.quiet, delay=1.0,
              file=sys.stderr, leave=False) as bar:  # fmt: skip
        bt = counts.backtest(
            scen, cutoffs, horizons, thresholds=thresholds, paths=args.paths or 2000,
            seed=args.seed, progress=bar.update,
        )  # fmt: skip
    written = write_folder(
        out_dir,
        {
            "counts-backtest.csv": counts.backtest_csv(bt),
            "counts-backtest.md": counts.backtest_markdown(bt),
        },
    )
    lines = [] if args.quiet else [counts.backtest_markdown(bt, cases=False).rstrip()]
    return emit(lines + [f"wrote {p}" for p in written])


def write_counts(ds: Any, out_dir: Path, figure: Any) -> list[Path]:
    """counts.nc, counts.csv, counts.md and counts.png, as one transaction (the folder
    is replaced as a whole; the NetCDF file is encoded in memory first, so a full disk
    fails in plain file I/O)."""
    from projector.pipeline.fileio import write_bytes
    from projector.pipeline.folders import guard_output
    from projector.pipeline.transaction import result_transaction
    from projector.render import plots
    from projector.studies import counts

    texts = {"counts.csv": counts.to_csv(ds), "counts.md": counts.to_markdown(ds)}
    nc = ds.copy()
    nc.attrs = {k: (json.dumps(v) if isinstance(v, bool | list | dict) else v)
                for k, v in ds.attrs.items()}  # fmt: skip
    encoding = {str(v): {"zlib": True, "complevel": 4}
                for v in nc.data_vars if nc[v].dtype.kind in "fi"}  # fmt: skip
    cube = nc.to_netcdf(engine="h5netcdf", encoding=encoding)
    try:
        guard_output(out_dir, "counts")  # never a folder of the user's files or another kind
        with result_transaction(out_dir) as tmp:
            for name, text in texts.items():
                (tmp / name).write_text(text, encoding="utf-8")
            figure.savefig(tmp / "counts.png", dpi=130, format="png")
            write_bytes(tmp / "counts.nc", cube)
    finally:
        plots.close(figure)
    return [out_dir / name for name in (*texts, "counts.png", "counts.nc")]
