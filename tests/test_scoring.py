"""The stronger baselines and the backtest's scores with block-bootstrap intervals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.inputs.frontier import frontier_at
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.studies import backtest, baselines, scoring

from .conftest import synthetic_rows, write_bundled_csv


@given(
    c_t=st.floats(15, 30),
    rate=st.floats(0.0, 1.5),
    sd=st.floats(0.01, 2.0),
    h=st.floats(0.5, 3.0),
)
@settings(max_examples=50, deadline=None)
def test_trend_spread_is_the_trend_median_spread_and_floored(
    c_t: float, rate: float, sd: float, h: float
) -> None:
    x = baselines.trend_spread(c_t, np.full(7, rate), sd, h)
    assert x.min() >= c_t  # the frontier cannot fall
    trend = c_t + rate * h
    assert np.median(x) == pytest.approx(max(trend, c_t), abs=2e-3 * max(sd, 1))
    if trend - 3 * sd > c_t:  # no member floored: a plain normal
        assert np.std(x) == pytest.approx(sd, rel=0.02)


def test_trend_spread_puts_a_point_mass_on_the_floor() -> None:
    x = baselines.trend_spread(20.0, [0.0], 1.0, 1.0)
    assert np.mean(x == 20.0) == pytest.approx(0.5, abs=1e-3)


@pytest.fixture
def stepped(tmp_path: Path) -> Path:
    return write_bundled_csv(tmp_path / "stepped.csv", synthetic_rows(last=2021))


def test_record_changes_start_at_record_dates_only(stepped: Path) -> None:
    systems = load_dataset(stepped)
    changes = baselines.record_changes(systems, 2018.0, 1.0)
    # a row is a record when it beats every earlier row (the synthetic DL line starts
    # below the pre-DL maximum, so the first DL rows are not records)
    order = np.argsort(systems.year)
    best, dates = -np.inf, []
    for i in order:
        if systems.log10_compute[i] > best:
            best = systems.log10_compute[i]
            dates.append(systems.year[i])
    origins = np.array([d for d in dates if d >= 2010 and d + 1 <= 2018])
    assert origins.size >= 3
    want = frontier_at(systems, origins + 1) - frontier_at(systems, origins)
    np.testing.assert_allclose(changes, want)
    assert baselines.record_changes(systems, 2010.5, 1.0).size == 0


def test_climatology_uses_monthly_origins(stepped: Path) -> None:
    systems = load_dataset(stepped)
    c = baselines.climatology(systems, 2016.0, 2010.0, 1.0)
    assert c.size == len(np.arange(2010.0, 2015.0 + 1e-9, 1 / 12))


def test_summary_counts_bands_misses_and_pit(
    stepped: Path, make_scenario: Callable[..., Path]
) -> None:
    scen = load_scenario(make_scenario(dataset=stepped, paths=200))
    systems = load_dataset(stepped)
    cutoffs = [dt.date(2014, 1, 1), dt.date(2016, 1, 1), dt.date(2018, 1, 1)]
    bt = backtest.run_backtest(scen, systems, systems, cutoffs, [1.0, 2.0], paths=200)
    for s in scoring.summarise(bt):
        sel = [
            r
            for r in bt.rows
            if r["method"] == s["method"] and s["horizon"] in ("all", r["horizon"])
        ]
        assert s["cases"] == len(sel) == sum(s["pit_hist"])
        assert s["above_95"] + s["below_95"] == sum(1 - r["in_95"] for r in sel)
        assert s["cover_50"] <= s["cover_90"] <= s["cover_95"]
        for key in ("crps", "cover_50", "cover_90", "cover_95"):
            assert s[f"{key}_lo"] - 1e-12 <= s[key] <= s[f"{key}_hi"] + 1e-12
        assert s["mean_pit"] == pytest.approx(np.mean([r["pit"] for r in sel]))
    md = backtest.to_markdown(bt)
    assert "## PIT histograms" in md and "misses above / below" in md
    assert "## Cases" not in backtest.to_markdown(bt, cases=False)


def test_bootstrap_interval_resamples_whole_cutoffs() -> None:
    rng = np.random.default_rng(1)
    # two cut-offs, one all hits and one all misses: the mean is 0, 1/2 or 1 by block
    values = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    blocks = np.array([0, 0, 0, 1, 1, 1])
    lo, hi = scoring._interval(values, blocks, rng)
    assert (lo, hi) == (0.0, 1.0)
