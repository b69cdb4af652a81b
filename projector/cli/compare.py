"""``projector compare`` and ``report``: parsing and printing."""

from __future__ import annotations

import argparse
import contextlib
import errno
from pathlib import Path
from typing import Any

from projector.cli.args import RESULTS_DIR, file_arg, path_arg
from projector.errors import InputError, ResourceError


def add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="two or more results side by side, with their differences",
        description="Crossing-year quantiles, P(crossed by each report year) and log10 "
        "compute quantiles of each result, side by side, with differences against the "
        "first result and their Monte Carlo standard errors. Writes compare.csv, compare.md "
        "and compare.png (one overlay figure).",
    )
    p.add_argument("results", nargs="+", type=path_arg, help="result folders or stores (2 or more)")
    p.add_argument("--out", type=path_arg, help="output folder (default results/compare-A-B/)")
    p.add_argument("--quiet", action="store_true", help="print only the files written")
    p.set_defaults(func=_cmd_compare)


def _open_results(paths: list[Path], command: str) -> list[Any]:
    from projector.cli.project import open_for

    out = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such result (run `projector project` first)")
        out.append(open_for(path, command, sweeps=False))
    return out


def _cmd_compare(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("matplotlib", "plot", "comparison figures")  # before any compute
    from projector.model.summary import summarize
    from projector.pipeline import checks
    from projector.pipeline.folders import guard_output, write_folder
    from projector.render import study_plots
    from projector.studies import compare

    if len(args.results) < 2:
        raise InputError("compare: give at least two results")
    summaries = [summarize(ds) for ds in _open_results(args.results, "compare")]
    c = compare.compare(summaries)
    names = compare.labels(summaries)
    out_dir = checks.check_output_folder(
        args.out or RESULTS_DIR / ("compare-" + "-".join(names))[:120]
    )
    guard_output(out_dir, "compare", inputs=args.results)
    written = write_folder(
        out_dir,
        {"compare.csv": compare.to_csv(c), "compare.md": compare.to_markdown(c)},
        {"compare.png": study_plots.compare_overlay(summaries, names)},
    )
    lines = [] if args.quiet else [compare.to_markdown(c, probabilities=False).rstrip()]
    return lines + [f"wrote {p}" for p in written]


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML report (and its Markdown twin) of one or more results",
        description="What was run, the headline tables with their Monte Carlo errors, every "
        "figure, the attribution of the variance to the draws, a comparison when several "
        "results are given, and the sensitivity, backtest, trends and ledger folders when "
        "given. "
        "A RESULT is a result folder or store, or a scenario name (its result in results/).",
    )
    p.add_argument("results", nargs="+", help="result folders/stores or scenario names")
    p.add_argument(
        "--out", type=file_arg, help="HTML file (default: report.html in the first result)"
    )
    p.add_argument("--sensitivity", type=path_arg, help="a folder `projector sensitivity` wrote")
    p.add_argument("--backtest", type=path_arg, help="a folder `projector backtest` wrote")
    p.add_argument("--trends", type=path_arg, help="a folder `projector trends` wrote")
    p.add_argument("--ledger", type=path_arg, help="a folder `projector ledger` wrote")
    p.set_defaults(func=_cmd_report)


def _result_path(text: str) -> Path:
    path = Path(text)
    if path.exists() or "/" in text or text.endswith((".zarr", ".nc")):
        if not path.exists():
            raise InputError(f"{text}: no such result")
        return path
    from projector.inputs.scenario import load_scenario
    from projector.pipeline.folders import result_folder

    folder = result_folder(load_scenario(text), root=RESULTS_DIR)
    if not folder.exists():
        raise InputError(
            f"{text}: no result in {folder}; run `make report SCENARIO={text}` (which runs it) "
            f"or `projector project {text}` first"
        )
    return folder


def _cmd_report(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("markdown", "studies", "HTML reports")
    require("matplotlib", "plot", "report figures")
    from projector.pipeline import checks
    from projector.pipeline.checksums import record_token
    from projector.pipeline.fileio import atomic_paths
    from projector.pipeline.store import STORE_NAME, find_store
    from projector.pipeline.transaction import locked
    from projector.render import document
    from projector.studies.folders import open_extras

    paths = [_result_path(t) for t in args.results]
    for flag in ("sensitivity", "backtest", "trends", "ledger"):
        folder = getattr(args, flag)
        if folder is not None and not folder.is_dir():
            raise InputError(f"--{flag} {folder}: no such folder")
    stores = [find_store(p) for p in paths]
    tokens = [record_token(s) for s in stores]  # before reading: what the report is of
    datasets = _open_results(paths, "report")
    target = args.out
    if target is None:
        target = stores[0].parent / "report.html"
    if target.suffix.lower() != ".html":
        raise InputError(f"--out {target}: give a file name ending in .html")
    target = checks.check_output_file(target, "--out" if args.out is not None else "report")
    checks.check_output_file(target.with_suffix(".md"), "report")
    inputs = [*paths, *(f for f in (args.sensitivity, args.backtest, args.trends) if f)]
    from projector.pipeline.folders import guard_file

    for twin_of, suffix in ((target, ".html"), (target.with_suffix(".md"), ".md")):
        guard_file(twin_of, (suffix,), inputs=[find_store(p) for p in paths] + inputs[len(paths) :])
    md, page = document.build(
        datasets,
        extras=open_extras(args.sensitivity, args.backtest, args.trends, args.ledger),
    )
    twin = target.with_suffix(".md")
    # Into a result folder, under its lock: no run replaces the folder between the check
    # that the results are still those read and the commit of both files, as a unit.
    folder = Path(target).absolute().parent
    guard = locked(folder) if (folder / STORE_NAME).exists() else contextlib.nullcontext()
    with guard, atomic_paths([target, twin]) as (tmp_page, tmp_md):
        tmp_page.write_text(page, encoding="utf-8")
        tmp_md.write_text(md, encoding="utf-8")
        for store, token in zip(stores, tokens, strict=True):
            if not store.exists() or record_token(store) != token:
                raise ResourceError(
                    errno.EBUSY,
                    f"{store}: replaced by another run while the report was being built; "
                    "nothing was written; run report again",
                )
    return [f"wrote {target}", f"wrote {twin}"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    add_compare(sub)
    add_report(sub)
