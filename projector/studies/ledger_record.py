"""projector's own forecasts put on the record: ``projector ledger record SCENARIO`` appends
a dated, hashed forecast to a ledger file, so that next year's data can score it.

Dependency direction: ``inputs.ledger``, ``pipeline.run`` and ``studies.ledger`` (its
constants) -> ``studies.ledger_record`` -> the CLI. :func:`record` is the one function that
writes (a ledger file, in one atomic step).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from projector.dates import date_of_decimal_year
from projector.errors import InputError
from projector.inputs.ledger import Ledger, appended, load_ledger, parse_ledger
from projector.studies.ledger import RECORD_EVENT_YEARS, RECORD_THRESHOLDS

__all__ = ["record", "record_rows"]


def record_rows(
    scenario: str | Path,
    /,
    *,
    paths: int | None = None,
    seed: int | None = None,
    made: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The ledger rows of a scenario's forecast as of its data: for each report year on
    or after ``made`` (default today, UTC) the quantiles of the largest run, and for each
    threshold (the scenario's ``report.thresholds``, else :data:`RECORD_THRESHOLDS`) and
    report year up to :data:`RECORD_EVENT_YEARS` after the start, P(reached). Each row
    carries the scenario's and the data's sha256."""
    from projector import __version__
    from projector.pipeline.run import Run

    made = made or dt.datetime.now(dt.UTC).date()
    run = Run(scenario, paths=paths, seed=seed)
    ds = run.result()
    scen = run.resolve()
    a = ds.attrs
    start = float(ds["time"].values[0])
    yearly = ds["log10_compute_yearly"]
    levels = tuple(scen.quantiles)
    common = {
        "forecaster": f"projector {__version__}, scenario {scen.name}",
        "title": f"projector ledger record {scen.name}",
        "made": made.isoformat(),
        "source": (
            f"projector ledger record {scen.name} (projector {__version__}; scenario "
            f"{a.get('scenario_file', scen.name)}, data {a.get('dataset', '')})"
        ),
        "verification": "recorded",
        "scenario_sha256": str(a["scenario_sha256"]),
        "data_sha256": str(a["dataset_sha256"]),
        "exclude": "",
    }
    note = (
        f"seed {a['seed']}, {a['paths']} paths; start {a['start_date']} at 10^"
        f"{float(a['log10_start_compute']):.2f} ({a.get('start_compute_source', '')}); "
        "the report year Y is the grid time Y.0"
    )
    thresholds = tuple(scen.thresholds) or RECORD_THRESHOLDS
    rows: list[dict[str, Any]] = []
    for y in scen.report_years:
        target = date_of_decimal_year(float(y))
        if target < made:
            continue
        x = yearly.sel(year=y).values.astype(np.float64)
        qs = np.quantile(x, levels)
        rows.append({
            **common,
            "id": f"projector-{scen.name}-{made.isoformat()}-{y:g}",
            "target_quantity": "largest_run",
            "target_date": target.isoformat(),
            "kind": "quantiles",
            "quantiles": ";".join(f"{lv:g}:{v:.3f}" for lv, v in zip(levels, qs, strict=True)),
            "resolution": f"log10 FLOP of the largest training run published by {target}",
            "notes": note,
        })  # fmt: skip
        if y - start > RECORD_EVENT_YEARS:
            continue
        for thr in thresholds:
            rows.append({
                **common,
                "id": f"projector-{scen.name}-{made.isoformat()}-p{thr:g}-{y:g}",
                "target_quantity": "event",
                "target_date": target.isoformat(),
                "kind": "probability",
                "probability": f"{float(np.mean(x >= thr)):.4f}",
                "threshold": f"{thr:g}",
                "resolution": f"the largest training run reaches 1e{thr:g} FLOP by {target}",
                "notes": note,
            })  # fmt: skip
    if not rows:
        raise InputError(
            f"{scen.name}: no report year on or after {made}; add later years to report.years"
        )
    return rows


def record(
    scenario: str | Path,
    /,
    *,
    ledger: str | Path,
    paths: int | None = None,
    seed: int | None = None,
    made: dt.date | None = None,
) -> tuple[Ledger, int]:
    """Append the scenario's forecast (:func:`record_rows`) to the ledger file ``ledger``
    (created when missing), checked as a whole and written in one atomic step. Returns
    the ledger re-read and the number of rows added."""
    from projector.pipeline.fileio import atomic_path, write_bytes

    target = Path(ledger)
    old = b""
    if target.exists():
        load_ledger(target)  # refuse to append to a ledger that is not valid
        old = target.read_bytes()
    rows = record_rows(scenario, paths=paths, seed=seed, made=made)
    if old:
        have = {f.id for f in load_ledger(target).forecasts}
        again = [str(r["id"]) for r in rows if r["id"] in have]
        if again:
            raise InputError(
                f"{target}: id {again[0]!r} is already in the ledger: this scenario's forecast "
                "was recorded today already (a recorded forecast is never replaced)"
            )
    new = appended(old, rows)
    parse_ledger(str(target), new)  # a repeated id (recorded twice on one day) stops here
    with atomic_path(target) as tmp:
        write_bytes(tmp, new)
    return load_ledger(target), len(rows)
