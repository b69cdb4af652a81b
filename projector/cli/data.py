"""``projector data export|list|frontier|compare|diff``: parsing and printing."""

from __future__ import annotations

import argparse
from pathlib import Path

from projector.cli.args import Parser, date, file_arg, path_arg, positive_float
from projector.errors import InputError


def _ratio(text: str) -> float:
    value = positive_float(text)
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"expected a ratio >= 1, got {text!r}")
    return value


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from projector.inputs.systems import DOMAINS

    data = sub.add_parser("data", help="the bundled dataset: export it or list its systems")
    kinds = data.add_subparsers(dest="action", required=True, parser_class=Parser)
    p = kinds.add_parser("export", help="write the bundled dataset as CSV")
    p.add_argument("path", type=file_arg)
    p.set_defaults(func=_cmd_data_export)
    p = kinds.add_parser("list", help="print the bundled systems as a table")
    p.add_argument("--domain", choices=DOMAINS)
    p.add_argument("--since", type=date, help="published on or after YYYY-MM-DD")
    p.add_argument("--min-compute", type=positive_float, help="at least this many FLOP")
    p.set_defaults(func=_cmd_data_list)
    p = kinds.add_parser(
        "frontier",
        help="the realised frontier: each system that set a new compute record",
        description="The running maximum of training compute over publication date, as "
        "the records that set it (the series `projector backtest` scores against).",
    )
    p.add_argument("--dataset", help="a dataset CSV (default: the bundled dataset)")
    p.add_argument(
        "--all-systems",
        action="store_true",
        help="Epoch Airtable exports: use every row, not only notable systems",
    )
    p.add_argument("--csv", action="store_true", help="print CSV (date,log10_flop,system)")
    p.set_defaults(func=_cmd_data_frontier)
    p = kinds.add_parser(
        "compare",
        help="match the bundled systems to another dataset and report log10 differences",
    )
    p.add_argument("other", type=path_arg, help="a dataset CSV (bundled or Epoch format)")
    p.add_argument("--all", action="store_true", help="list every match, not only > factor 3")
    p.set_defaults(func=_cmd_data_compare)
    p = kinds.add_parser(
        "diff",
        help="for curators: what an Epoch export has that the bundled data do not",
        description="Lists the Epoch rows that are new, whose compute differs from the bundled "
        "figure (both values and the ratio Epoch/bundled), that give a figure where the "
        "bundled row is a lower bound, that match a bundled row under another name, whose "
        "domain differs, and the bundled rows the export does not have. Names are matched "
        "after normalisation (case, whitespace, newlines, punctuation), then by "
        "organization, date and compute.",
    )
    p.add_argument("epoch_csv", type=path_arg, help="an Epoch export (any format --dataset reads)")
    p.add_argument("--since", type=date, help="only findings dated on or after YYYY-MM-DD")
    p.add_argument("--csv", type=file_arg, metavar="PATH", help="also write the findings as CSV")
    p.add_argument(
        "--all-systems",
        action="store_true",
        help="list every new Epoch row, not only notable ones",
    )
    p.add_argument(
        "--unfigured",
        action="store_true",
        help="list new rows without a training compute too (frontier models always are)",
    )
    p.add_argument(
        "--min-ratio",
        type=_ratio,
        default=1.01,
        help="report a figure as changed beyond this ratio either way (default 1.01)",
    )
    p.set_defaults(func=_cmd_data_diff)


def _cmd_data_export(args: argparse.Namespace) -> list[str]:
    import csv

    from projector.inputs.systems import BUNDLED_COLUMNS, bundled_records
    from projector.pipeline import checks
    from projector.pipeline.fileio import atomic_path

    path = checks.check_output_file(args.path, "data export")
    from projector.pipeline.folders import guard_file

    guard_file(path, (".csv",), what="data export")
    rows = bundled_records()
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=BUNDLED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return [f"wrote {len(rows)} systems to {path}"]


def _cmd_data_list(args: argparse.Namespace) -> list[str]:
    from projector.inputs.systems import bundled_records

    rows = bundled_records()
    if args.domain:
        rows = [r for r in rows if r["domain"] == args.domain]
    if args.since:
        rows = [r for r in rows if r["publication_date"] >= args.since.isoformat()]
    if args.min_compute:
        rows = [r for r in rows if float(r["training_compute_flop"]) >= args.min_compute]
    rows.sort(key=lambda r: (r["publication_date"], r["system"]))
    head = (
        f"{'date':<10}  {'system':<40}  {'organization':<28}  {'domain':<16}  "
        f"{'FLOP':>10}  {'x/':>4}  method"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        bound = ">=" if r["compute_bound"] == "lower" else ""
        factor = f"{float(r['uncertainty_factor']):g}" if r["uncertainty_factor"] else "-"
        lines.append(
            f"{r['publication_date']:<10}  {r['system'][:40]:<40}  "
            f"{r['organization'][:28]:<28}  {r['domain']:<16}  "
            f"{bound:>2}{float(r['training_compute_flop']):>8.2e}  {factor:>4}  "
            f"{r['compute_method']}"
        )
    n_lower = sum(r["compute_bound"] == "lower" for r in rows)
    lines.append(
        f"{len(rows)} systems ({n_lower} lower bounds, marked >=; x/ is the 90% uncertainty factor)"
    )
    return lines


def _cmd_data_frontier(args: argparse.Namespace) -> list[str]:
    from projector.inputs.frontier import records
    from projector.inputs.systems import BUNDLED, load_dataset

    dataset = args.dataset or BUNDLED
    if args.dataset and not Path(args.dataset).is_file():
        raise InputError(f"--dataset {args.dataset}: no such file")
    recs = records(load_dataset(dataset, notable_only=not args.all_systems))
    if args.csv:
        return ["date,log10_flop,system,lower_bound"] + [
            f'{r.date},{r.log10_compute:.4f},"{r.system.replace(chr(34), chr(34) * 2)}",'
            f"{int(r.lower_bound)}"
            for r in recs
        ]
    lines = [f"{'date':<10}  {'log10 FLOP':>10}  system", "-" * 60]
    for r in recs:
        mark = ">=" if r.lower_bound else "  "
        lines.append(f"{r.date:<10}  {mark}{r.log10_compute:>8.2f}  {r.system}")
    lines.append(f"{len(recs)} records in {dataset}")
    if any(r.lower_bound for r in recs):
        lines.append(">= marks a lower bound: the frontier from there on is at least this")
    return lines


def _cmd_data_compare(args: argparse.Namespace) -> list[str]:
    import math

    from projector.curation.crosscheck import match_systems, spread
    from projector.inputs.systems import bundled_records, load_dataset

    other = load_dataset(args.other, notable_only=False)
    matches = match_systems(bundled_records(), other)
    s = spread(matches)
    lines = [f"{len(matches)} bundled systems matched in {args.other}"]
    if not matches:
        return lines
    lines.append(
        f"log10(ours/other): median {s['median']:+.3f}, mean |diff| {s['mean_abs']:.3f}, "
        f"5-95% [{s['q05']:+.3f}, {s['q95']:+.3f}]; "
        f"{s['over_factor_3']:.0f} differ by more than a factor of 3"
    )
    shown = [m for m in matches if args.all or abs(m.log10_diff) > math.log10(3)]
    for m in sorted(shown, key=lambda m: -abs(m.log10_diff)):
        lines.append(
            f"{m.log10_diff:+6.2f}  {m.date}  {m.system[:40]:<40}  "
            f"ours {10**m.log10_ours:.2e}  other {10**m.log10_other:.2e}"
        )
    return lines


def _cmd_data_diff(args: argparse.Namespace) -> list[str]:
    import csv

    from projector.curation.diff import CSV_COLUMNS, csv_rows, diff, table_lines
    from projector.inputs.systems import bundled_records, read_rows
    from projector.pipeline import checks
    from projector.pipeline.fileio import atomic_path

    out = checks.check_output_file(args.csv, "--csv") if args.csv else None
    d = diff(
        bundled_records(),
        read_rows(args.epoch_csv),
        since=args.since,
        notable_only=not args.all_systems,
        unfigured=args.unfigured,
        min_ratio=args.min_ratio,
    )
    lines = table_lines(d)
    if out is not None:
        with atomic_path(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(csv_rows(d))
        lines.append(f"wrote {len(d.findings)} findings to {out}")
    return lines
