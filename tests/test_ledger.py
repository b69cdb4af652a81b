"""The forecast ledger: reading and validation, each score on hand-computed cases, censored
truth, knife-edge flags, record, and the bundled ledger's headline resolution."""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.ledger import COLUMNS, load_ledger
from projector.inputs.systems import BUNDLED_COLUMNS
from projector.studies import ledger as L
from projector.studies import ledger_record as LR

pytest.importorskip("scoringrules")

GOOD = {
    "id": "x-2025",
    "forecaster": "someone",
    "title": "a forecast",
    "made": "2022-03-07",
    "target_quantity": "largest_run",
    "target_date": "2025-12-31",
    "kind": "interval",
    "point": "25.9",
    "low": "25.33",
    "high": "26.14",
    "level": "0.95",
    "resolution": "the largest run by the target date",
    "source": "https://example.org/forecast",
    "verification": "verified",
}


def _write_ledger(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS})
    return path


def _write_systems(path: Path, rows: list[tuple[str, str, float, str, str]]) -> Path:
    """A bundled-format systems CSV: (name, date, compute, uncertainty_factor, bound)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=BUNDLED_COLUMNS, lineterminator="\n")
        w.writeheader()
        for name, date, flop, factor, bound in rows:
            w.writerow({
                "system": name, "organization": "lab", "domain": "language",
                "publication_date": date, "training_compute_flop": f"{flop:g}",
                "parameters": "", "source": "https://example.org", "compute_method": "third_party",
                "uncertainty_factor": factor, "compute_bound": bound,
                "inputs": "by=Epoch AI; ref=x; vintage=2026-01", "notes": "",
            })  # fmt: skip
    return path


# --- reading and validation ------------------------------------------------------------


def test_bundled_ledger_reads_and_cites_every_row() -> None:
    led = load_ledger()
    assert len(led.forecasts) >= 25
    assert all(f.source.strip() for f in led.forecasts)
    assert {f.verification for f in led.forecasts} <= {"verified", "secondary", "recorded"}
    assert sum(f.verification == "verified" for f in led.forecasts) >= 15
    assert all(f.target_date >= f.made for f in led.forecasts)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"source": ""}, r"line 2 \(id x-2025\): column 'source' is empty"),
        ({"target_date": "2021-12-31"}, r"line 2 \(id x-2025\): column 'target_date' 2021-12-31 is before"),
        ({"low": "26.5"}, r"line 2 \(id x-2025\): columns 'low' > 'high' \(26.5 > 26.14\)"),
        ({"point": "25.9e"}, r"line 2 \(id x-2025\): column 'point' must be a number, got '25.9e'"),
        ({"made": "2022-13-01"}, r"column 'made' must be a date YYYY-MM-DD"),
        ({"kind": "guess"}, r"column 'kind' must be one of point, interval"),
        ({"kind": "quantiles", "quantiles": "0.5:3;0.05:1"}, r"column 'quantiles' must have increasing"),
        ({"target_quantity": "event", "kind": "probability", "probability": "1.5", "threshold": "26"},
         r"column 'probability' must be in \[0, 1\]"),
    ],
)  # fmt: skip
def test_bad_rows_are_one_line_naming_file_row_and_column(
    tmp_path: Path, change: dict[str, str], pattern: str
) -> None:
    path = _write_ledger(tmp_path / "bad.csv", [{**GOOD, **change}])
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*" + pattern):
        load_ledger(path)


def test_bad_ledger_on_the_command_line_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_ledger(tmp_path / "bad.csv", [{**GOOD, "source": " "}])
    assert main(["ledger", "--ledger", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'source' is empty" in err[0]
    assert not (tmp_path / "o").exists()


def test_repeated_id_is_refused(tmp_path: Path) -> None:
    path = _write_ledger(tmp_path / "dup.csv", [GOOD, GOOD])
    with pytest.raises(InputError, match=r"line 3.*repeats line 2"):
        load_ledger(path)


# --- scores on hand-computed cases --------------------------------------------------------

QS = ((0.05, 2.0), (0.5, 6.0), (0.95, 10.0))


def test_quantile_crps_by_hand() -> None:
    # Pinball losses at y = 3: 0.05 * (3 - 2), 0.5 * (6 - 3), 0.05 * (10 - 3); CRPS = 2/3 x sum.
    assert L.quantile_crps(QS, 3.0) == pytest.approx(2 / 3 * (0.05 + 1.5 + 0.35))
    # At the median only the outer quantiles' losses remain: 2/3 x (0.2 + 0.2).
    assert L.quantile_crps(QS, 6.0) == pytest.approx(2 / 3 * 0.4)


def test_pit_range_by_hand() -> None:
    assert L.pit_range(QS, 3.0) == pytest.approx((0.1625, 0.1625))  # 0.05 + 0.45 / 4
    assert L.pit_range(QS, 11.0) == (0.95, 1.0)
    assert L.pit_range(QS, 1.0) == (0.0, 0.05)


def test_brier_by_hand() -> None:
    assert L.brier(0.05, False) == pytest.approx(0.0025)
    assert L.brier(0.5, True) == pytest.approx(0.25)
    assert L.brier(0.9, True) == pytest.approx(0.01)


def _forecast(tmp_path: Path, **change: str) -> L.Forecast:
    return load_ledger(_write_ledger(tmp_path / "one.csv", [{**GOOD, **change}])).forecasts[0]


def _truth(value: float, *, censored: bool = False, draws: float | None = None) -> L.Truth:
    d = np.full(100, value if draws is None else draws)
    return L.Truth(value, censored, ("hidden",) if censored else (), "S", d)


def test_interval_scores_by_hand(tmp_path: Path) -> None:
    f = _forecast(tmp_path)
    inside = L.score_forecast(f, _truth(26.0))
    assert inside["in_interval"] == 1 and inside["outcome"] == "inside its 95% interval"
    # PIT between the median (0.5) and the 97.5% quantile: 0.5 + 0.475 x 0.1 / 0.24.
    assert inside["pit_low"] == pytest.approx(0.5 + 0.475 * 0.1 / 0.24)
    assert inside["log10_error"] == pytest.approx(25.9 - 26.0)
    crps = 2 / 3 * (0.025 * 0.67 + 0.5 * 0.1 + 0.025 * 0.14)
    assert inside["crps"] == pytest.approx(crps)
    above = L.score_forecast(f, _truth(26.7))
    assert above["in_interval"] == 0 and above["outcome"] == "above its 97.5% quantile"
    assert (above["pit_low"], above["pit_high"]) == (0.975, 1.0)


def test_point_error_of_a_count(tmp_path: Path) -> None:
    f = _forecast(tmp_path, target_quantity="count_above", kind="point", point="10",
                  low="", high="", level="", threshold="26")  # fmt: skip
    assert L.score_forecast(f, _truth(3.0))["log10_error"] == pytest.approx(math.log10(10 / 3))


# --- censored truth -------------------------------------------------------------------------


def test_censored_truth_scores_as_a_lower_bound(tmp_path: Path) -> None:
    f = _forecast(tmp_path)
    above = L.score_forecast(f, _truth(26.7, censored=True))
    assert above["realised_bound"] == ">=" and above["status"] == "lower bound"
    assert above["in_interval"] == 0  # a miss above stays a miss whatever the truth
    assert above["error_bound"] == "<="
    # The CRPS bound is the smallest over truths >= 26.7: at 26.7 itself (above every value).
    assert above["crps"] == pytest.approx(L.quantile_crps(L.interval_quantiles(f), 26.7))
    inside = L.score_forecast(f, _truth(25.5, censored=True))
    assert inside["in_interval"] == "" and "or above (lower bound)" in inside["outcome"]
    # ... and at the median when the bound is below it.
    assert inside["crps"] == pytest.approx(L.quantile_crps(L.interval_quantiles(f), 25.9))
    assert inside["pit_high"] == 1.0


def test_censored_truth_from_a_systems_file(tmp_path: Path) -> None:
    truth = _write_systems(tmp_path / "sys.csv", [
        ("A", "2023-03-01", 2e25, "", ""),
        ("B", "2025-02-01", 5e26, "", ""),
        ("Hidden", "2025-10-01", 1e25, "30", "lower"),
        ("Tiny", "2012-01-01", 1e19, "", "lower"),  # too far below to hide anything
        ("Late", "2026-06-01", 6e26, "", ""),
    ])  # fmt: skip
    led = _write_ledger(tmp_path / "l.csv", [
        GOOD,
        {**GOOD, "id": "before-hidden", "target_date": "2025-06-30"},
        {**GOOD, "id": "ev", "target_quantity": "event", "kind": "probability",
         "probability": "0.3", "threshold": "27", "point": "", "low": "", "high": "",
         "level": ""},
        {**GOOD, "id": "open", "target_date": "2027-12-31"},
    ])  # fmt: skip
    s = L.study(led, truth=truth, scenarios=())
    rows = {r["id"]: r for r in s.rows}
    assert rows["x-2025"]["realised_bound"] == ">=" and rows["x-2025"]["censored_by"] == "Hidden"
    assert rows["before-hidden"]["realised_bound"] == "="
    assert rows["ev"]["status"].startswith("unresolved") and rows["ev"]["brier_high"] != ""
    assert rows["open"]["status"] == "unresolved"


# --- knife-edge ---------------------------------------------------------------------------


def test_knife_edge_threshold(tmp_path: Path) -> None:
    truth = _write_systems(tmp_path / "sys.csv", [
        ("A", "2025-07-09", 5e26, "", ""), ("Astra", "2026-09-03", 1.0001e27, "2", ""),
    ])  # fmt: skip
    event = {**GOOD, "id": "ev", "made": "2025-09-17", "target_date": "2026-09-03",
             "target_quantity": "event", "kind": "probability", "probability": "0.4",
             "threshold": "27", "point": "", "low": "", "high": "", "level": ""}  # fmt: skip
    far = {**event, "id": "far", "threshold": "26"}
    s = L.study(_write_ledger(tmp_path / "l.csv", [event, far]), truth=truth, scenarios=())
    rows = {r["id"]: r for r in s.rows}
    assert rows["ev"]["outcome"] == "yes" and rows["ev"]["brier"] == pytest.approx(0.36)
    assert rows["ev"]["knife_edge"] == "yes"
    assert "OOM from a bound or threshold" in rows["ev"]["knife_edge_reason"]
    assert rows["ev"]["flip_chance"] > 0.3  # factor 2 on a 4e-5 OOM margin: near a coin toss
    assert rows["far"]["knife_edge"] == "no" and rows["far"]["flip_chance"] == 0.0


def test_wide_uncertainty_makes_an_interval_knife_edge(tmp_path: Path) -> None:
    f = _forecast(tmp_path)
    draws = np.r_[np.full(80, 26.7), np.full(20, 26.0)]  # a fifth of the draws fall inside
    row = L.score_forecast(f, L.Truth(26.7, False, (), "S", draws))
    assert row["flip_chance"] == pytest.approx(0.2) and row["knife_edge"] == "yes"


# --- truth files --------------------------------------------------------------------------


def test_truth_without_the_systems_a_forecast_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    early = _write_systems(tmp_path / "early.csv", [("A", "2020-01-01", 1e23, "", "")])
    led = _write_ledger(tmp_path / "l.csv", [GOOD])
    with pytest.raises(InputError, match="before every forecast's target date"):
        L.study(led, truth=early, scenarios=())
    late = _write_systems(tmp_path / "late.csv", [("A", "2026-01-01", 1e27, "", "")])
    assert main(["ledger", "--ledger", str(led), "--truth", str(late), "--scenarios", "none",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no system published on or before 2025-12-31" in err[0]


# --- record -------------------------------------------------------------------------------


def test_record_appends_hashed_rows_and_rereads(tmp_path: Path) -> None:
    path = _write_ledger(tmp_path / "l.csv", [GOOD])
    made = dt.date(2026, 12, 3)
    led, added = LR.record("default", ledger=path, paths=200, made=made)
    assert added >= 2 and len(led.forecasts) == 1 + added
    new = led.forecasts[1:]
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.scenario_sha256) for f in new)
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.data_sha256) for f in new)
    assert all(f.made == made and f.verification == "recorded" for f in new)
    quant = [f for f in new if f.kind == "quantiles"]
    assert quant and all(len(f.quantiles) >= 3 for f in quant)
    assert [f.id for f in load_ledger(path).forecasts] == [f.id for f in led.forecasts]
    before = path.read_bytes()
    with pytest.raises(InputError, match="already in the ledger"):
        LR.record("default", ledger=path, paths=200, made=made)
    assert path.read_bytes() == before


# --- the bundled ledger's headline ----------------------------------------------------------


def test_2022_projection_2025_lies_above_its_97_5_bound() -> None:
    s = L.study(scenarios=("calibrated",), paths=400)
    row = next(r for r in s.rows if r["id"] == "epoch2022-2025")
    assert row["in_interval"] == 0 and row["pit_low"] >= 0.975
    assert row["outcome"] == "above its 97.5% quantile"
    assert row["realised"] > 26.14 and row["record_holder"]
    assert row["knife_edge"] == "no"
    # calibrated, from the same date with the data of the day, holds the realised value.
    assert row["calibrated_q025"] < row["realised"] < row["calibrated_q975"]


# --- invariants ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.floats(-5, 20), st.floats(-5, 20))
def test_pit_is_monotone_and_the_crps_bound_is_a_bound(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert L.pit_range(QS, lo)[0] <= L.pit_range(QS, hi)[0]
    assert L.pit_range(QS, lo)[1] <= L.pit_range(QS, hi)[1]
    bound = L._crps_at_least(QS, lo)
    assert 0 <= bound <= L.quantile_crps(QS, hi) + 1e-12


# --- the report's section -----------------------------------------------------------------


def test_report_has_a_ledger_section(tmp_path: Path) -> None:
    pytest.importorskip("markdown")
    pytest.importorskip("matplotlib")
    folder = tmp_path / "ledger"
    assert main(["ledger", "--scenarios", "none", "--out", str(folder), "--quiet"]) == 0
    assert {p.name for p in folder.iterdir()} == {"ledger.csv", "ledger.md", "ledger.png"}
    result = tmp_path / "default"
    assert main(["project", "default", "--paths", "300", "--out", str(result), "--quiet"]) == 0
    html = tmp_path / "r.html"
    assert main(["report", str(result), "--ledger", str(folder), "--out", str(html)]) == 0
    md = html.with_suffix(".md").read_text(encoding="utf-8")
    section = md.split("\n## Forecast ledger\n", 1)[1]
    assert "### Resolved" in section and "`epoch2022-2025`" in section
    assert "above its 97.5% quantile" in section
    assert "Not scored" not in section and "![Forecast ledger: ledger.png]" in section
