"""Paths that are records (issue 19, item 1): with growth.frontier_paths = 'records' every
path is non-decreasing and starts at C(s), in projections and in hindcasts, and the store
and the in-memory run agree to the bit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.pipeline.run import Run, resolve
from projector.studies.backtest import _hindcast_scenario

RECORDS = ["growth.frontier_paths=records"]


def _assert_records(ds) -> None:  # type: ignore[no-untyped-def]
    c = ds["log10_compute"].values
    start = float(ds.attrs["log10_start_compute"])
    assert np.all(np.diff(c, axis=1) >= 0)
    assert np.all(c[:, 0] >= start) and np.all(c >= start)
    y = ds["log10_compute_yearly"].values
    assert np.all(np.diff(y, axis=1) >= -1e-5)  # float32 interpolation of a monotone path


@given(seed=st.integers(0, 2**31), scenario=st.sampled_from(["default", "calibrated"]))
@settings(max_examples=6, deadline=None)
def test_every_projected_path_is_a_record(seed: int, scenario: str) -> None:
    _assert_records(Run(scenario, paths=300, seed=seed, changes=RECORDS).result())


@given(
    seed=st.integers(0, 2**31),
    cutoff=st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2024, 1, 1)),
)
@settings(max_examples=6, deadline=None)
def test_every_hindcast_path_is_a_record(seed: int, cutoff: dt.date) -> None:
    base = resolve("calibrated", changes=RECORDS)
    t = cutoff.year + (cutoff.timetuple().tm_yday - 1) / 365.25
    hs = _hindcast_scenario(base, cutoff, t + 3, [t + 1, t + 2, t + 3], 300, seed)
    _assert_records(Run(hs).result())


def test_levels_can_fall_and_records_never_do() -> None:
    levels = Run("calibrated-deviations", paths=500, seed=1).result()["log10_compute"].values
    assert np.any(np.diff(levels, axis=1) < 0)  # so the property above is not vacuous
    rec = Run("calibrated-deviations", paths=500, seed=1, changes=RECORDS).result()
    rec = rec["log10_compute"].values
    np.testing.assert_array_equal(rec, np.maximum.accumulate(np.maximum(levels, rec[:, :1]), 1))


def test_store_and_memory_agree_for_records(tmp_path: Path) -> None:
    mem = Run("default", paths=1200, seed=2, changes=RECORDS).result()
    stored = Run("default", paths=1200, seed=2, changes=RECORDS, store=tmp_path / "r").result()
    for name in ("log10_compute_yearly", "crossing_year"):
        np.testing.assert_array_equal(mem[name].values, stored[name].values)
    np.testing.assert_array_equal(
        mem["log10_compute"].values.astype(np.float32), stored["log10_compute"].values
    )
