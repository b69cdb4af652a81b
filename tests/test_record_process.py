"""The record-process frontier (issue 19, item 1): growth.frontier_paths = 'record-process'
makes every path the running maximum of releases about the integrated trend, fitted at the
start to the records before it. Paths never fall and start at C(s), in projections and
hindcasts; a year with no record has positive probability; the bits do not depend on the
chunking, the store or the horizon; thin histories are one-line errors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.cli import main
from projector.errors import InputError
from projector.inputs.systems import load_dataset
from projector.model import record_process
from projector.model.eras import prepare_eras
from projector.pipeline.run import Run, resolve
from projector.studies.backtest import _hindcast_scenario

from .grid_limits import ceiling_or_record

RP = ["growth.frontier_paths=record-process"]
SLOPES = st.sampled_from(["records", "records-forward", "bootstrap"])


def _changes(slope: str) -> list[str]:
    return [*RP, f"growth.record_slope={slope}"]


def _assert_records(ds) -> None:  # type: ignore[no-untyped-def]
    c = ds["log10_compute"].values
    start = float(ds.attrs["log10_start_compute"])
    assert np.all(np.isfinite(c))
    assert np.all(np.diff(c, axis=1) >= 0)
    assert np.all(c[:, 0] == start) and np.all(c >= start)
    y = ds["log10_compute_yearly"].values
    assert np.all(np.diff(y, axis=1) >= -1e-5)  # float32 interpolation of a monotone path


def _hindcast(cutoff: dt.date, seed: int, slope: str, paths: int = 300):  # type: ignore[no-untyped-def]
    base = resolve("calibrated", changes=_changes(slope))
    t = cutoff.year + (cutoff.timetuple().tm_yday - 1) / 365.25
    return _hindcast_scenario(base, cutoff, t + 3, [t + 1, t + 2, t + 3], paths, seed)


@given(seed=st.integers(0, 2**31), scenario=st.sampled_from(["default", "calibrated"]),
       slope=SLOPES)  # fmt: skip
@settings(max_examples=6, deadline=None)
def test_every_projected_path_is_a_record(seed: int, scenario: str, slope: str) -> None:
    _assert_records(Run(scenario, paths=300, seed=seed, changes=_changes(slope)).result())


@given(
    seed=st.integers(0, 2**31),
    cutoff=st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2024, 1, 1)),
    slope=SLOPES,
)
@settings(max_examples=8, deadline=None)
def test_every_hindcast_path_is_a_record(seed: int, cutoff: dt.date, slope: str) -> None:
    _assert_records(Run(_hindcast(cutoff, seed, slope)).result())


@pytest.mark.parametrize("slope", ["records", "records-forward", "bootstrap"])
def test_a_year_without_a_record_has_positive_probability(slope: str) -> None:
    # From 2018-01-01 the frontier (AlphaGo Zero, 10^23.5) stood still for more than 3 years.
    ds = Run(_hindcast(dt.date(2018, 1, 1), 1, slope, paths=4000)).result()
    c = ds["log10_compute"].values
    flat = np.mean(c[:, 12] == c[:, 0])  # no new record in the first year
    assert 0 < flat < 1
    assert 0 < ds.attrs["record_process_no_record_in_a_year"] < 1


def test_fitted_values_are_recorded() -> None:
    ds = Run("default", paths=50, seed=0, changes=RP).result()
    a = ds.attrs
    assert a["frontier_paths"] == "record-process" and a["record_slope"] == "records"
    assert a["record_process_records"] >= record_process.MIN_RECORDS
    assert a["record_process_scale_oom"] > 0 and a["record_process_sd_slope"] > 0
    assert a["record_process_history"].startswith("2010-01-01 to ")
    assert np.all(np.isnan(ds["frontier_origin"].values))  # no resampled deviations


def test_bits_do_not_depend_on_chunking_store_or_horizon(tmp_path: Path) -> None:
    mem = Run("default", paths=2300, seed=3, changes=RP, chunk_paths=1000).result()
    other = Run("default", paths=2300, seed=3, changes=RP, chunk_paths=700).result()
    np.testing.assert_array_equal(mem["log10_compute"].values, other["log10_compute"].values)
    stored = Run("default", paths=2300, seed=3, changes=RP, store=tmp_path / "r").result()
    for name in ("log10_compute_yearly", "crossing_year", "growth_dl"):
        np.testing.assert_array_equal(mem[name].values, stored[name].values)
    np.testing.assert_array_equal(
        mem["log10_compute"].values.astype(np.float32), stored["log10_compute"].values
    )
    short = Run(
        "default", paths=300, seed=3, changes=[*RP, "end_year=2040", "report.years=[2030, 2035]"]
    ).result()
    n = short["log10_compute"].shape[1]
    np.testing.assert_array_equal(
        short["log10_compute"].values, mem["log10_compute"].values[:300, :n]
    )


@pytest.mark.parametrize("mode", ["off", "clip"])
def test_bits_do_not_depend_on_how_the_uniforms_are_split(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    """A daily grid draws its uniforms a block of paths at a time (issue 23): the same bits
    as drawing a whole chunk's at once, in memory and in a store, ceilings included."""
    changes = [f"ceilings.mode={mode}"]
    kw = {"paths": 2500, "seed": 5, "changes": changes, "chunk_paths": 2500}
    whole = Run("default", **kw).result()  # type: ignore[arg-type]
    stored_whole = Run("default", store=tmp_path / "a", **kw).result()  # type: ignore[arg-type]
    monkeypatch.setattr(record_process, "UNIFORM_BYTES", 1)  # one random block per call
    split = Run("default", **kw).result()  # type: ignore[arg-type]
    stored_split = Run("default", store=tmp_path / "b", **kw).result()  # type: ignore[arg-type]
    for name in whole.data_vars:
        np.testing.assert_array_equal(whole[name].values, split[name].values, err_msg=name)
    for name in stored_whole.data_vars:
        np.testing.assert_array_equal(
            stored_whole[name].values, stored_split[name].values, err_msg=name
        )


def test_the_fit_recovers_a_simulated_record_process() -> None:
    """Records simulated from known (scale, slope, level) are fitted back near them."""
    rng = np.random.default_rng(5)
    scale, slope, step = 0.5, 0.6, 1 / 365
    times = np.arange(2010.0, 2026.0, step)
    latent = 18.0 + slope * (times - 2010.0)
    # the largest release of each day: Gumbel(latent + scale ln(step), scale)
    top = latent + scale * math.log(step) - scale * np.log(-np.log(rng.random(times.size)))
    best, years, values = 17.5, [], []
    for t, v in zip(times, top, strict=True):
        if v > best:
            best = v
            years.append(t)
            values.append(v)
    scen = resolve("default", changes=RP)
    s = 2026.0
    t, x = np.array(years), np.array(values)
    ll = {b: record_process._profile(b, slope, 2010.0, 17.5, t, x, s)[0] for b in (0.3, 0.5, 0.8)}
    assert ll[0.5] > ll[0.3] and ll[0.5] > ll[0.8]
    level = record_process._profile(scale, slope, 2010.0, 17.5, t, x, s)[1]
    assert abs(level - (18.0 + slope * (s - 2010.0))) < 0.5
    assert scen.record_slope == "records"


def test_too_little_history_is_an_input_error() -> None:
    scen = _hindcast(dt.date(2013, 6, 1), 1, "records")
    with pytest.raises(InputError, match="fewer than five years of records before cut-off"):
        prepare_and_fit(scen)


def prepare_and_fit(scen):  # type: ignore[no-untyped-def]
    eras = prepare_eras(scen, load_dataset(scen.data.dataset))
    return record_process.fit(scen, eras, eras.dl.year, eras.dl.log10_compute)


def test_too_little_history_on_the_command_line_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["backtest", "calibrated", "--cutoffs", "2014-01-01", "--horizons", "1",
            "--paths", "100", "--set", "growth.frontier_paths=record-process"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "fewer than five years of records before cut-off" in err


def test_default_uses_the_record_process_and_the_old_method_is_kept() -> None:
    ds = Run("default", paths=20, seed=0).result()
    assert ds.attrs["frontier_paths"] == "record-process"
    assert any(k.startswith("record_process_") for k in ds.attrs)
    old = Run("calibrated-deviations", paths=20, seed=0).result()
    assert old.attrs["frontier_paths"] == "levels" and old.attrs["frontier_noise"] == "resampled"
    assert not any(k.startswith("record_process_") for k in old.attrs)


def test_the_backtest_records_what_each_hindcast_fitted() -> None:
    from projector.studies.backtest import study, to_markdown

    bt = study("calibrated", [dt.date(2018, 1, 1), dt.date(2020, 1, 1)], [1.0], paths=200,
               changes=RP)  # fmt: skip
    assert [f["cutoff"] for f in bt.fitted] == ["2018-01-01", "2020-01-01"]
    assert all(f["history"].endswith(f["cutoff"]) for f in bt.fitted)
    assert "## Fitted at each cut-off" in to_markdown(bt)
    plain = study("calibrated-deviations", [dt.date(2018, 1, 1)], [1.0], paths=200)
    assert plain.fitted == () and "Fitted at each" not in to_markdown(plain)


@pytest.mark.parametrize("mode", ["clip", "saturate"])
def test_ceilings_hold_record_paths_and_keep_them_records(mode: str) -> None:
    changes = [*RP, f"ceilings.mode={mode}", "end_year=2045", "report.years=[2030,2040]"]
    run = Run("default", paths=600, changes=changes)
    ds = run.result()
    _assert_records(ds)
    on_grid, at_years = ceiling_or_record(ds, run.plan())
    assert np.all(ds["log10_compute"].values <= on_grid + 1e-4)
    value = ds["log10_compute_yearly"].values.astype(np.float64)
    assert np.all(value <= at_years + 1e-4)
    free = Run("default", paths=600, changes=changes[:1] + changes[2:]).result()
    k = list(ds["year"].values).index(2040.0)
    assert np.median(value[:, k]) < np.median(free["log10_compute_yearly"][:, k].values) - 1
