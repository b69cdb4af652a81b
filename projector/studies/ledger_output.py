"""The ledger's files: ledger.csv (every forecast, its scores and hindcasts) and ledger.md.

Dependency direction: ``studies.ledger`` -> ``ledger_output`` -> the CLI. Text only; the
CLI writes the folder in one atomic step (``pipeline.folders.write_folder``).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from projector.studies.ledger import LedgerStudy

__all__ = ["to_csv", "to_markdown"]


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def to_csv(s: LedgerStudy, /) -> str:
    """ledger.csv: one row per forecast, columns ``s.columns``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=s.columns, lineterminator="\n")
    writer.writeheader()
    for r in s.rows:
        writer.writerow({k: _cell(v) for k, v in r.items()})
    return buf.getvalue()


def _num(v: Any, fmt: str = ".2f") -> str:
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        return format(v, fmt)
    return str(v) if v != "" else "-"


def _hindcast(r: dict[str, Any], name: str) -> str:
    med = r.get(f"{name}_median", "")
    if med == "":
        return "-"
    if r["target_quantity"] == "event":
        return f"P = {float(r[f'{name}_p']):.2f}"
    return f"{med:.2f} [{r[f'{name}_q025']:.2f}, {r[f'{name}_q975']:.2f}]"


def to_markdown(s: LedgerStudy, /) -> str:
    """ledger.md: what was scored against what, the resolved forecasts with their scores
    and hindcasts, and the open ones with their hindcasts."""
    resolved = [r for r in s.rows if r["status"] not in ("unresolved", "not scored")]
    open_ = [r for r in s.rows if r["status"] == "unresolved"]
    unscored = [r for r in s.rows if r["status"] == "not scored"]
    names = " / ".join(f"`{n}`" for n in s.scenarios)
    lines = [
        "# Forecast ledger",
        "",
        f"- ledger: `{s.ledger_label}` (sha256 {s.ledger_sha256[:12]}), {len(s.rows)} forecasts: "
        f"{len(resolved)} resolved, {len(open_)} open, {len(unscored)} on quantities the "
        "systems data cannot resolve",
        f"- truth: `{s.truth_label}` (sha256 {s.truth_sha256[:12]}), newest system "
        f"{s.truth_newest}; the largest run by a date is the running maximum of training compute",
        *(
            [
                f"- hindcasts: {names}, each re-run with the data cut off at the forecast's "
                f"date and started there, {s.paths} paths, seeds "
                + ", ".join(f"{k} {v}" for k, v in s.seeds.items())
            ]
            if s.scenarios
            else []
        ),
        "",
        "`>=`: the realised value is a lower bound (a frontier release without a figure was "
        "published by then), so the score is the bound it implies: a miss above stays a miss, "
        "the CRPS is the smallest any truth at or above the bound would give. Knife-edge: the "
        "resolution changes in at least 5% of truth draws from the systems' stated "
        "uncertainties, or the truth is within 0.01 OOM of a bound. CRPS: the quantile-CRPS "
        "over the stated levels [OOM, or systems for counts]; an ensemble CRPS for hindcasts.",
        "",
        "## Resolved",
        "",
        "| forecast | made | target | forecast | realised | resolution | CRPS | error [OOM] "
        "| Brier | knife-edge | " + " | ".join(f"{n} then" for n in s.scenarios) + " |",
        "|---|---|---|---|---:|---|---:|---:|---:|---|" + "---|" * len(s.scenarios),
    ]
    for r in resolved:
        real = r["realised"]
        realised = f"{r['realised_bound'] if r['realised_bound'] == '>=' else ''}" + (
            f"{real:g}" if r["target_quantity"] == "count_above" else f"10^{real:.2f}"
        )
        holder = f" ({r['record_holder']})" if r["record_holder"] else ""
        crps = (
            "" if r["crps"] == "" else f"{'>=' if r['crps_bound'] == '>=' else ''}{r['crps']:.3f}"
        )
        err = (
            ""
            if r["log10_error"] == ""
            else f"{'<=' if r['error_bound'] == '<=' else ''}{r['log10_error']:+.2f}"
        )
        brier = ""
        if r["brier"] != "":
            brier = (
                f"{r['brier']:.3f}"
                if r["brier_high"] == ""
                else f"{r['brier']:.3f} or {r['brier_high']:.3f}"
            )
        edge = r["knife_edge"] + (f": {r['knife_edge_reason']}" if r["knife_edge_reason"] else "")
        lines.append(
            f"| `{r['id']}` | {r['made']} | {r['target_date']} | {r['forecast']} "
            f"| {realised}{holder} | {r['outcome']} | {crps} | {err} | {brier} | {edge} | "
            + " | ".join(_hindcast(r, n) for n in s.scenarios)
            + " |"
        )
    lines += [
        "",
        "## Open",
        "",
        "| forecast | made | target | forecast | "
        + " | ".join(f"{n} then" for n in s.scenarios)
        + " |",
        "|---|---|---|---|" + "---|" * len(s.scenarios),
    ]
    for r in open_:
        lines.append(
            f"| `{r['id']}` | {r['made']} | {r['target_date']} | {r['forecast']} | "
            + " | ".join(_hindcast(r, n) for n in s.scenarios)
            + " |"
        )
    lines += [
        "",
        "## Not scored",
        "",
        "Forecasts of quantities the systems data do not hold (cluster size, power, cost, "
        "capacity), kept for the record: " + ", ".join(f"`{r['id']}`" for r in unscored) + ".",
    ]
    return "\n".join(lines) + "\n"
