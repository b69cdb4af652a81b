"""Vintage-true hindcasts: an uncertain truth (stated uncertainty, revision noise), its
scores, its reproducibility and its bad inputs (issue 19 item 5)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.frontier import frontier_at
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.studies import backtest
from projector.studies.scoring import DRAW_COLUMNS, PIT_BINS, score, score_draws
from projector.studies.truth import TruthModel, frontier_draws, truth_rng

from .conftest import synthetic_rows, write_bundled_csv

CUTOFFS = [dt.date(2016, 1, 1), dt.date(2018, 6, 1)]
HORIZONS = [1.0, 2.0]


def _truth_csv(path: Path, factor: str) -> Path:
    """The stepped trend data with every row's uncertainty_factor set to ``factor``."""
    rows = synthetic_rows(last=2021)
    for r in rows:
        r["uncertainty_factor"] = factor
    return write_bundled_csv(path, rows)


@pytest.fixture
def stepped_csv(tmp_path: Path) -> Path:
    """No uncertainty column at all."""
    return write_bundled_csv(tmp_path / "stepped.csv", synthetic_rows(last=2021))


@pytest.fixture
def exact_csv(tmp_path: Path) -> Path:
    """Every estimate stated exact (factor 1: sd 0)."""
    return _truth_csv(tmp_path / "exact.csv", "1")


@pytest.fixture
def within3_csv(tmp_path: Path) -> Path:
    """Every estimate within a factor of 3 (Epoch's "Confident")."""
    return _truth_csv(tmp_path / "within3.csv", "3")


def _run(scen_path: Path, truth_path: Path, **kw: object) -> backtest.Backtest:
    scen = load_scenario(scen_path)
    systems = load_dataset(scen.data.dataset)
    truth = load_dataset(truth_path)
    return backtest.run_backtest(scen, systems, truth, CUTOFFS, HORIZONS, paths=200, **kw)


# --- scores against truth draws ---------------------------------------------------------


def test_score_draws_of_one_repeated_value_is_the_point_score() -> None:
    members = np.random.default_rng(3).normal(size=501)
    for y in (-3.0, 0.1, float(np.sort(members)[250]), 4.0):
        point, drawn = score(members, y), score_draws(members, np.full(40, y))
        for key, value in point.items():
            assert drawn[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        assert drawn["realised_sd"] == 0.0 and drawn["truth_draws"] == 40
        assert sum(drawn["pit_hist"]) == pytest.approx(1.0)


def test_score_draws_averages_over_the_draws() -> None:
    members = np.linspace(-2.0, 2.0, 401)
    y = np.array([-5.0, 0.0, 0.3, 5.0])
    drawn = score_draws(members, y)
    each = [score(members, v) for v in y]
    for key in ("crps", "pit", "in_50", "in_95"):
        assert drawn[key] == pytest.approx(np.mean([e[key] for e in each]))
    assert drawn["above_95"] == 0.25 and drawn["below_95"] == 0.25
    assert drawn["in_95"] == 0.5 and drawn["realised"] == pytest.approx(0.075)
    with pytest.raises(InputError):
        score_draws(members, [np.inf])


# --- the truth draws ----------------------------------------------------------------------


def test_frontier_draws_are_running_maxima_and_reproducible(within3_csv: Path) -> None:
    truth = load_dataset(within3_csv)
    model = TruthModel(uncertainty=True, revision_sd=0.1, draws=50)
    a = frontier_draws(truth, model, rng=truth_rng(5))
    b = frontier_draws(truth, model, rng=truth_rng(5))
    c = frontier_draws(truth, model, rng=truth_rng(6))
    np.testing.assert_array_equal(a.best, b.best)
    assert not np.array_equal(a.best, c.best)
    assert a.best.shape == (50, len(truth))
    assert np.all(np.diff(a.best, axis=1) >= 0)  # every draw's frontier is a record series
    assert np.all(a.at(1900.0) == -np.inf)
    # The spread of a draw at a year is about the sd of the rows near the frontier.
    assert 0.05 < np.std(a.at(2019.0)) < 0.6


def test_zero_uncertainty_draws_are_the_point_frontier(exact_csv: Path) -> None:
    truth = load_dataset(exact_csv)
    draws = frontier_draws(truth, TruthModel(uncertainty=True, draws=7), rng=truth_rng(1))
    for year in (2010.3, 2016.0, 2020.99):
        np.testing.assert_array_equal(draws.at(year), frontier_at(truth, [year])[0])


# --- the backtest with an uncertain truth ---------------------------------------------------


def test_uncertain_truth_with_zero_uncertainty_equals_the_point_truth(
    exact_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    path = make_scenario(dataset=exact_csv, paths=200)
    point = _run(path, exact_csv)
    drawn = _run(path, exact_csv, truth_model=TruthModel(uncertainty=True, draws=20))
    assert point.columns == backtest.COLUMNS and point.truth_mode == "" and not point.pit_hists
    assert drawn.columns == (*backtest.COLUMNS, *DRAW_COLUMNS)
    assert len(point.rows) == len(drawn.rows)
    for p, d in zip(point.rows, drawn.rows, strict=True):
        for key, value in p.items():
            if isinstance(value, str):
                assert d[key] == value
            else:
                assert d[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        assert d["realised_point"] == p["realised"] and d["realised_sd"] == 0.0
    summaries = zip(backtest.summarise(point), backtest.summarise(drawn), strict=True)
    for sp, sd in summaries:
        for key in ("crps", "cover_50", "cover_95", "mean_pit", "above_95", "below_95"):
            assert sd[key] == pytest.approx(sp[key], rel=1e-12, abs=1e-12), key
        assert sd["pit_hist"] == pytest.approx(sp["pit_hist"])
    # A model that draws nothing is the point truth itself, bit for bit.
    none = _run(path, exact_csv, truth_model=TruthModel(uncertainty=False, revision_sd=0.0))
    assert backtest.to_csv(none) == backtest.to_csv(point)
    assert backtest.to_markdown(none) == backtest.to_markdown(point)


def test_uncertain_truth_is_seeded_and_leaves_the_hindcasts_alone(
    within3_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    path = make_scenario(dataset=within3_csv, paths=200)
    model = TruthModel(uncertainty=True, revision_sd=0.2, draws=30)
    a, b = (_run(path, within3_csv, truth_model=model, seed=4) for _ in range(2))
    assert backtest.to_csv(a) == backtest.to_csv(b)
    other = _run(path, within3_csv, truth_model=model, seed=5)
    point = _run(path, within3_csv, seed=4)
    assert [r["realised"] for r in other.rows] != [r["realised"] for r in a.rows]
    for p, d in zip(point.rows, a.rows, strict=True):
        # The same hindcasts (the truth has its own stream); only reality moved.
        assert (p["median"], p["q025"], p["q975"]) == (d["median"], d["q025"], d["q975"])
        assert d["realised_point"] == p["realised"]
    assert any(r["realised_sd"] > 0 for r in a.rows)
    assert all(0.0 <= r["in_95"] <= 1.0 and r["truth_draws"] == 30 for r in a.rows)
    for s in backtest.summarise(a):
        assert sum(s["pit_hist"]) == pytest.approx(s["cases"])
    md = backtest.to_markdown(a)
    assert "- truth mode: uncertain: each row's stated uncertainty" in md
    assert "N(0, 0.2 OOM)" in md and "30 truth draws (seed 4)" in md
    assert len(backtest.summarise(a)[0]["pit_hist"]) == PIT_BINS
    assert a.frontier_band is not None and point.frontier_band is None
    lo, hi = a.frontier_band
    ok = np.isfinite(lo)
    assert np.all(lo[ok] <= hi[ok]) and np.all(np.diff(lo[ok]) >= 0)
    from projector.render.study_plots import backtest_figure

    fig = backtest_figure(a)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "90% of the truth draws" in labels


def test_revision_noise_alone_needs_no_uncertainty_column(
    tmp_path: Path, stepped_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    path = make_scenario(dataset=stepped_csv, paths=100)
    args = ["backtest", str(path), "--cutoffs", "2016-01-01", "--horizons", "1,2",
            "--paths", "100", "--revision-noise", "0.3", "--truth-draws", "25", "--quiet"]  # fmt: skip
    for out in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / out)]) == 0
    text = (tmp_path / "a" / "backtest.csv").read_text()
    assert text == (tmp_path / "b" / "backtest.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == [*backtest.COLUMNS, *DRAW_COLUMNS]
    assert {r["truth_draws"] for r in rows} == {"25"}
    assert all(float(r["realised_sd"]) > 0 for r in rows)
    md = (tmp_path / "a" / "backtest.md").read_text()
    assert "truth mode: uncertain: a revision noise N(0, 0.3 OOM) on every row" in md


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--truth-uncertainty"], "stepped.csv: --truth-uncertainty needs each estimate's"),
        (["--revision-noise", "-0.1"], "--revision-noise: the revision noise's sd must be"),
        (["--revision-noise", "nan"], "--revision-noise"),
    ],
)
def test_bad_truth_options_are_one_line(
    tmp_path: Path,
    stepped_csv: Path,
    make_scenario: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    path = make_scenario(dataset=stepped_csv, paths=50)
    out = tmp_path / "o"
    args = ["backtest", str(path), "--cutoffs", "2016-01-01", "--paths", "50",
            "--truth", str(stepped_csv), *extra, "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_truth_model_refuses_what_it_cannot_draw(stepped_csv: Path) -> None:
    with pytest.raises(InputError, match="revision noise"):
        TruthModel(revision_sd=-1.0)
    with pytest.raises(InputError, match="--truth-draws"):
        TruthModel(uncertainty=True, draws=0)
    with pytest.raises(InputError, match="no row has one"):
        TruthModel(uncertainty=True).check(load_dataset(stepped_csv))
    TruthModel(revision_sd=0.5).check(load_dataset(stepped_csv))  # nothing stated is needed


# --- Epoch's snapshots ----------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT_2022 = DATA / "epoch_pcd_notable_ml_systems_2022-09-01.csv"
SNAPSHOT_2025 = DATA / "epoch_all_ml_systems_2025-08-07.csv"
needs_snapshots = pytest.mark.skipif(
    not (SNAPSHOT_2022.is_file() and SNAPSHOT_2025.is_file()), reason="../shared/data is absent"
)


@needs_snapshots
def test_vintage_true_hindcast_on_epoch_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 2022 snapshot states no confidence, so it cannot be an uncertain truth; the
    2025 snapshot can, and scoring against it moves reality, not the hindcasts."""
    base = ["backtest", "calibrated", "--dataset", str(SNAPSHOT_2022), "--cutoffs",
            "2017-01-01,2019-01-01", "--horizons", "1,3", "--paths", "300", "--quiet",
            "--baselines", "none"]  # fmt: skip
    assert main([*base, "--truth", str(SNAPSHOT_2022), "--truth-uncertainty",
                 "--out", str(tmp_path / "x")]) == 2  # fmt: skip
    assert "epoch_pcd_notable_ml_systems_2022-09-01.csv: --truth-uncertainty" in (
        capsys.readouterr().err
    )
    truth = ["--truth", str(SNAPSHOT_2025)]
    assert main([*base, *truth, "--out", str(tmp_path / "p")]) == 0
    assert main([*base, *truth, "--truth-uncertainty", "--out", str(tmp_path / "u")]) == 0
    point, drawn = (
        list(csv.DictReader((tmp_path / d / "backtest.csv").read_text().splitlines()))
        for d in ("p", "u")
    )
    assert len(point) == len(drawn) == 4
    for p, d in zip(point, drawn, strict=True):
        assert p["median"] == d["median"] and p["realised"] == d["realised_point"]
        assert float(d["realised_sd"]) > 0


def test_the_python_facade_takes_the_truth_options(
    within3_csv: Path, make_scenario: Callable[..., Path]
) -> None:
    import projector as pj

    path = make_scenario(dataset=within3_csv, paths=100)
    kw = {"cutoffs": ["2016-01-01"], "horizons": [1, 2], "paths": 100, "baselines": []}
    point = pj.backtest(str(path), **kw)
    drawn = pj.backtest(str(path), **kw, truth_uncertainty=True, revision_noise=0.1, truth_draws=9)
    assert "truth_mode" not in point.attrs and "realised_sd" not in point
    assert drawn.attrs["truth_mode"].startswith("truth mode: uncertain")
    assert set(drawn["truth_draws"].values) == {9}
    np.testing.assert_array_equal(drawn["realised_point"].values, point["realised"].values)
    with pytest.raises(InputError, match="revision noise"):
        pj.backtest(str(path), **kw, revision_noise=-0.5)
