"""Backtests: scoring against hand-computed cases, the frontier, cut-off parsing, the CLI."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.frontier import frontier_at, record_setters, records
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import decimal_year, load_dataset
from projector.studies import backtest

from .conftest import synthetic_rows, write_bundled_csv

# --- scores ------------------------------------------------------------------------


def test_pit_counts_members_below_and_half_the_ties() -> None:
    ens = [0.0, 1.0, 2.0, 3.0]
    assert backtest.score(ens, 1.5)["pit"] == 0.5
    assert backtest.score(ens, 1.0)["pit"] == pytest.approx(1.5 / 4)
    assert backtest.score(ens, -1.0)["pit"] == 0.0
    assert backtest.score(ens, 9.0)["pit"] == 1.0
    assert backtest.score([2.0], 2.0)["pit"] == 0.5  # a point forecast that is exactly right


def test_crps_of_known_ensembles() -> None:
    # Point forecast: CRPS = absolute error.
    assert backtest.score([0.0], 1.25)["crps"] == pytest.approx(1.25)
    # {0, 2} at 1: E|X - y| = 1, E|X - X'| / 2 = 0.5, so 0.5.
    assert backtest.score([0.0, 2.0], 1.0)["crps"] == pytest.approx(0.5)
    # {0, 1, 2, 3} at 3: E|X-y| = 1.5, E|X-X'| = (2 * (1+2+3+1+2+1)) / 16 = 1.25 -> 0.875.
    assert backtest.score([3.0, 1.0, 0.0, 2.0], 3.0)["crps"] == pytest.approx(0.875)


def test_band_membership_and_quantiles() -> None:
    ens = np.arange(1001.0)  # quantiles are exact: q25 = 250, q975 = 975
    s = backtest.score(ens, 260.0)
    assert (s["q25"], s["median"], s["q75"], s["q975"]) == (250.0, 500.0, 750.0, 975.0)
    assert s["in_50"] == 1 and s["in_95"] == 1
    s = backtest.score(ens, 990.0)
    assert s["in_50"] == 0 and s["in_95"] == 0
    s = backtest.score(ens, 30.0)  # above q025 = 25, below q25 = 250
    assert s["in_50"] == 0 and s["in_95"] == 1


def test_calibrated_ensembles_cover_their_nominal_share() -> None:
    """Reality drawn from the forecast distribution: coverage ~ nominal, PIT ~ uniform."""
    rng = np.random.default_rng(0)
    rows = [backtest.score(rng.normal(0, 1, 2000), rng.normal(0, 1)) for _ in range(600)]
    assert np.mean([r["in_50"] for r in rows]) == pytest.approx(0.5, abs=0.07)
    assert np.mean([r["in_95"] for r in rows]) == pytest.approx(0.95, abs=0.03)
    counts = np.histogram([r["pit"] for r in rows], bins=5, range=(0, 1))[0]
    assert counts.min() > 90  # ~120 each


# --- parsing -----------------------------------------------------------------------


def test_cutoff_lists_and_ranges() -> None:
    assert backtest.parse_cutoffs("2018-01-01,2016-01-01") == [
        dt.date(2016, 1, 1),
        dt.date(2018, 1, 1),
    ]
    quarterly = backtest.parse_cutoffs("2015-01-01:2024-07-01:3M")
    assert len(quarterly) == 39 and quarterly[1] == dt.date(2015, 4, 1)
    assert quarterly[-1] == dt.date(2024, 7, 1)
    ends = backtest.parse_cutoffs("2020-01-31:2020-04-30:1M")
    assert ends == [
        dt.date(2020, 1, 31),
        dt.date(2020, 2, 29),
        dt.date(2020, 3, 31),
        dt.date(2020, 4, 30),
    ]
    assert len(backtest.parse_cutoffs("2020-01-01:2021-01-01:1Y,2020-06-01")) == 3
    assert backtest.parse_cutoffs("2020-01-01:2020-01-15:1W")[-1] == dt.date(2020, 1, 15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2020-13-01", "expected a date YYYY-MM-DD"),
        ("2020-01-01:2019-01-01:1M", "END is before START"),
        ("2020-01-01:2021-01-01:3Q", "STEP must be"),
        ("2020-01-01:2021-01-01:0M", "STEP must be"),
        ("2020-01-01:2021-01-01", "a range is START:END:STEP"),
        (",", "give at least one date"),
    ],
)
def test_bad_cutoffs(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        backtest.parse_cutoffs(text)


@pytest.mark.parametrize("text", ["0", "-1", "x", "1,,", "101", "nan"])
def test_bad_horizons(text: str) -> None:
    if text == "1,,":
        assert backtest.parse_horizons(text) == [1.0]
        return
    with pytest.raises(InputError, match="--horizons"):
        backtest.parse_horizons(text)


# --- the frontier --------------------------------------------------------------------


def test_frontier_is_the_running_maximum(tmp_path: Path) -> None:
    rows = synthetic_rows(first=2010, last=2013, per_year=1)
    logs = [20.0, 19.0, 21.5, 21.0]  # 2011 and 2013 set no record
    for row, y in zip(rows, logs, strict=True):
        row["training_compute_flop"] = repr(10.0**y)
    systems = load_dataset(write_bundled_csv(tmp_path / "f.csv", rows))
    assert record_setters(systems).tolist() == [True, False, True, False]
    recs = records(systems)
    assert [r.system for r in recs] == ["sys-2010-0", "sys-2012-0"]
    t = [decimal_year(dt.date(2009, 6, 1)), 2010.5, 2011.9, 2012.1, 2014.0]
    got = frontier_at(systems, t)
    assert got[0] == -np.inf
    np.testing.assert_allclose(got[1:], [20.0, 20.0, 21.5, 21.5])
    # A system counts from its publication date on (inclusive).
    assert frontier_at(systems, [decimal_year(dt.date(2012, 1, 15))])[0] == pytest.approx(21.5)


def test_data_frontier_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "frontier", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "date,log10_flop,system,lower_bound"
    values = [float(line.split(",")[1]) for line in lines[1:]]
    assert values == sorted(values) and len(set(values)) == len(values)


# --- the harness ---------------------------------------------------------------------


@pytest.fixture
def stepped_csv(tmp_path: Path) -> Path:
    """Trend-line data: a frontier that rises every half year."""
    return write_bundled_csv(tmp_path / "stepped.csv", synthetic_rows(last=2021))


def test_backtest_scores_every_case_and_skips_past_the_truth(
    stepped_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    scen = load_scenario(make_scenario(dataset=stepped_csv, paths=300))
    systems = load_dataset(stepped_csv)
    cutoffs = [dt.date(2016, 1, 1), dt.date(2019, 1, 1)]
    bt = backtest.run_backtest(scen, systems, systems, cutoffs, [1.0, 2.0, 3.0], paths=300)
    # The data ends 2021-06-15: 2019 + 3 lies beyond it.
    assert bt.skipped == [("2019-01-01", 3.0)]
    methods = {r["method"] for r in bt.rows}
    assert methods == {"test", *backtest.BASELINES}
    # 'records' needs a record-setting date whose h-year window ends by the cut-off
    assert len([r for r in bt.rows if r["method"] != "records"]) == 5 * len(backtest.BASELINES)
    assert 1 <= len([r for r in bt.rows if r["method"] == "records"]) <= 5
    flat = [r for r in bt.rows if r["method"] == "flat"]
    # The frontier rises on the trend line: a flat forecast is always below reality.
    assert all(r["pit"] == 1.0 and r["in_95"] == 0 for r in flat)
    for r in flat:
        assert r["crps"] == pytest.approx(r["realised"] - r["frontier_at_cutoff"])
    for r in bt.rows:
        t = decimal_year(dt.date.fromisoformat(r["cutoff"])) + r["horizon"]
        assert r["realised"] == frontier_at(systems, [t])[0]


def test_backtest_is_reproducible_and_writes_the_contract(
    tmp_path: Path, stepped_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    path = make_scenario(dataset=stepped_csv, paths=200)
    args = ["backtest", str(path), "--cutoffs", "2016-01-01:2018-01-01:1Y", "--horizons", "1,2"]
    for out in ("a", "b"):
        assert main([*args, "--paths", "200", "--out", str(tmp_path / out), "--quiet"]) == 0
    a = (tmp_path / "a" / "backtest.csv").read_text()
    assert a == (tmp_path / "b" / "backtest.csv").read_text()
    rows = list(csv.DictReader(a.splitlines()))
    assert list(rows[0])[:13] == list(backtest.COLUMNS[:13])
    assert {r["in_50"] for r in rows} <= {"0", "1"}
    others = [r for r in rows if r["method"] != "records"]  # records: where history allows
    assert len(others) == 3 * 2 * len(backtest.BASELINES)
    assert list(rows[0])[13:] == list(backtest.COLUMNS[13:])  # added columns come after
    md = (tmp_path / "a" / "backtest.md").read_text()
    assert "## Summary" in md and "| climatology | all |" in md
    assert (tmp_path / "a" / "backtest.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cutoffs", "2010-06-01"], "cut-off 2010-06-01: "),  # a thin Deep-Learning era
        (["--cutoffs", "2019-01-01", "--horizons", "5"], "no case to score"),
        (
            ["--cutoffs", "2019-01-01", "--baselines", "persistence"],
            "unknown baseline 'persistence'",
        ),
        (["--cutoffs", "2019-01-01", "--set", "growth.nope=1"], "--set growth.nope: unknown key"),
        (
            ["--cutoffs", "2019-01-01", "--set", "growth.moore_doubling_months=-3"],
            "moore_doubling_months",
        ),
        (["--cutoffs", "2019-01-01", "--set", "nokey"], "expected KEY=VALUE"),
        (["--cutoffs", "2019-01-01", "--horizons", "0"], "--horizons"),
        (["--cutoffs", "2019-99-01"], "expected a date"),
    ],
)
def test_backtest_bad_input_is_one_line(
    tmp_path: Path,
    stepped_csv: Path,
    make_scenario: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    path = make_scenario(dataset=stepped_csv, paths=50)
    out = tmp_path / "o"
    assert main(["backtest", str(path), *extra, "--paths", "50", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


# --- the published finding and the calibrated scenario (Epoch's snapshot) -------------

SNAPSHOT_2025 = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "epoch_all_ml_systems_2025-08-07.csv"
)
needs_snapshot = pytest.mark.skipif(not SNAPSHOT_2025.is_file(), reason="../shared/data is absent")


@needs_snapshot
def test_epoch_2022_backtest_reproduces_the_issue(tmp_path: Path) -> None:
    """Issue 9: 95% coverage 1-2 of 12, mean CRPS ~0.6; climatology covers 9 of 12."""
    args = [
        "backtest", "epoch-2022", "--dataset", str(SNAPSHOT_2025),
        "--cutoffs", "2016-01-01,2018-01-01,2020-01-01,2022-02-28", "--horizons", "1,2,3",
        "--out", str(tmp_path), "--quiet",
    ]  # fmt: skip
    assert main(args) == 0
    rows = list(csv.DictReader((tmp_path / "backtest.csv").read_text().splitlines()))
    mine = [r for r in rows if r["method"] == "epoch-2022"]
    assert len(mine) == 12
    assert sum(int(r["in_95"]) for r in mine) in (1, 2)
    assert np.mean([float(r["crps"]) for r in mine]) == pytest.approx(0.63, abs=0.05)
    clim = [r for r in rows if r["method"] == "climatology"]
    assert sum(int(r["in_95"]) for r in clim) == 9


@needs_snapshot
def test_calibrated_bands_hold_on_held_out_cutoffs() -> None:
    """The shipped calibrated scenario on 37 quarterly cut-offs it was not tuned on."""
    systems = load_dataset(SNAPSHOT_2025)
    cutoffs = backtest.parse_cutoffs("2015-02-15:2024-05-15:3M")
    results = {}
    for name in ("calibrated", "epoch-2022"):
        bt = backtest.run_backtest(
            load_scenario(name), systems, systems, cutoffs, [1, 2, 3], paths=3000, baselines=[]
        )
        results[name] = next(s for s in backtest.summarise(bt) if s["horizon"] == "all")
    cal, ref = results["calibrated"], results["epoch-2022"]
    assert cal["cases"] == ref["cases"] == 99
    assert cal["cover_95"] >= 0.85
    assert 0.35 <= cal["cover_50"] <= 0.65
    assert cal["crps"] <= ref["crps"]
    assert ref["cover_95"] < 0.5  # the 2022 method's bands, for contrast
