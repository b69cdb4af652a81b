"""Ceilings on every path (issue 20): the three modes, the draws, the store, history.

The formulas and the table are tested in ``test_constraints.py``; here the engine: what
each mode does to paths, that the draws are reproducible and leave every other draw as
it was, that a store and a run in memory agree, and that no run in the bundled data
exceeded the central ceilings of its year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.errors import InputError
from projector.inputs.constraints import load_constraints
from projector.inputs.frontier import record_setters
from projector.inputs.scenario import load_scenario, override
from projector.inputs.systems import load_dataset
from projector.model import limits
from projector.model.limits import CEILINGS, H100_FP8_PEAK, USES
from projector.model.summary import summarize
from projector.pipeline.store import open_result

from .conftest import run_in_memory
from .grid_limits import ceiling_or_record

PATHS = 1500
SMALL = {"end_year": 2045, "report.years": [2030, 2040]}


def _run(mode: str, **changes: object) -> tuple:
    return run_in_memory("default", paths=PATHS, changes={**SMALL, "ceilings.mode": mode,
                                                          **changes})  # fmt: skip


def test_report_leaves_every_path_as_it_was() -> None:
    off, _ = run_in_memory("default", paths=PATHS, changes=SMALL)
    on, _ = _run("report")
    for name in ("log10_compute", "crossing_year", "growth_dl", "reversion_year"):
        np.testing.assert_array_equal(off[name].values, on[name].values)
    assert "log10_ceiling" not in off and on["log10_ceiling"].dims == ("path", "constraint", "year")
    assert list(on["constraint"].values) == list(CEILINGS)
    assert on.attrs["ceiling_mode"] == "report"
    assert on.attrs["ceiling_table_sha256"] == load_constraints().sha256
    assert "ceiling_mode" not in off.attrs  # a run without ceilings records none


def test_off_keeps_the_scenario_hash() -> None:
    scen = load_scenario("default")
    assert override(scen, {"ceilings.mode": "off"}).sha256 != ""  # recorded as an override
    assert load_scenario("constrained").ceilings.mode == "clip"
    assert "ceilings" not in scen.resolved()


def test_clip_keeps_paths_at_or_below_their_ceiling_or_the_record() -> None:
    ds, p = _run("clip", **{"growth.frontier_paths": "records"})
    on_grid, at_years = ceiling_or_record(ds, p)
    full = ds["log10_compute"].values
    assert np.all(full <= on_grid + 1e-4)  # exact on the engine's grid (float32 stored)
    assert np.all(ds["log10_compute_yearly"].values <= at_years + 1e-4)
    assert np.all(np.diff(full, axis=1) >= 0) and np.all(full[:, 0] == p.eras.log10_start)
    s = summarize(ds)
    # only paths whose drawn ceiling lay below the record at the start can be above one
    assert float(s["p_above_ceiling"].max()) <= float(s["p_start_at_ceiling"]) + 1e-12


def test_clip_lowers_the_paths_and_most_the_upper_tail() -> None:
    off, _ = _run("report")
    on, _ = _run("clip")
    k = list(off["year"].values).index(2030.0)
    a = off["log10_compute_yearly"][:, k].values
    b = on["log10_compute_yearly"][:, k].values
    assert np.all(b <= a + 1e-6)
    cut = [np.quantile(a, q) - np.quantile(b, q) for q in (0.025, 0.5, 0.975)]
    assert cut[2] > 0.3 and cut[2] > cut[0] and cut[2] > cut[1]


def test_saturate_meets_the_ceiling_smoothly_and_records_when() -> None:
    ds, p = _run("saturate")
    on_grid, at_years = ceiling_or_record(ds, p)
    # the soft minimum is below both, and the record process holds the record as a floor
    assert np.all(ds["log10_compute"].values <= on_grid + 1e-4)
    assert np.all(ds["log10_compute_yearly"].values <= at_years + 1e-4)
    reached = ds["ceiling_reached_year"].values
    first = np.where(np.isnan(reached), np.inf, reached).min(axis=1)
    rev = ds["reversion_year"].values
    np.testing.assert_array_equal(np.where(np.isinf(first), np.nan, first), rev)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["clip", "saturate"]))
def test_draws_do_not_depend_on_chunking(seed: int, mode: str) -> None:
    a, _ = _run(mode, seed=seed)
    b, _ = run_in_memory("default", paths=PATHS, chunk_paths=1000, changes={
        **SMALL, "ceilings.mode": mode, "seed": seed})  # fmt: skip
    for name in ("log10_ceiling", "log10_compute", "ceiling_reached_year"):
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_the_draws_follow_the_table() -> None:
    scen = override(load_scenario("default"), {"ceilings.mode": "report"})
    cp = limits.plan_ceilings(scen, 2026.3, 2031.0)
    assert cp is not None
    knots = limits.draw_knots(cp, 3, 0, 20_000)
    table = load_constraints()
    k = int(np.flatnonzero(cp.knot_years == 2030)[0])
    # the median of the money ceiling is the central budget x central price-performance
    money = knots[:, CEILINGS.index("money"), k]
    want = np.log10(table.at("budget_run", 2030)[1] * table.at("price_performance", 2030)[1])
    assert np.median(money) == pytest.approx(float(want), abs=0.03)
    # power's 5%-95% is wider than any one of its inputs' (four independent draws)
    power = knots[:, CEILINGS.index("power"), k]
    lo, hi = table.at("power_run", 2030)[0], table.at("power_run", 2030)[2]
    assert np.quantile(power, 0.95) - np.quantile(power, 0.05) > float(np.log10(hi / lo))
    # not modelled before every input of a ceiling has a sourced year
    first = {c: max(table.levels(n)[0].year for n in USES[c]) for c in CEILINGS}
    for c, year in first.items():
        col = knots[0, CEILINGS.index(c)]
        assert np.all(np.isnan(col[cp.knot_years < year]))
        assert np.all(np.isfinite(col[cp.knot_years >= year]))


def test_correlation_one_puts_every_draw_at_one_quantile() -> None:
    scen = override(load_scenario("default"), {"ceilings.mode": "report",
                                               "ceilings.correlation": 1.0})  # fmt: skip
    cp = limits.plan_ceilings(scen, 2026.3, 2031.0)
    assert cp is not None
    knots = limits.draw_knots(cp, 0, 0, 3000)
    k = int(np.flatnonzero(cp.knot_years == 2030)[0])
    r = np.corrcoef(knots[:, CEILINGS.index("money"), k], knots[:, CEILINGS.index("chips"), k])
    assert r[0, 1] > 0.95


def test_a_factor_key_moves_its_ceiling() -> None:
    base, _ = _run("report")
    more, _ = _run("report", **{"ceilings.budget_run": 10.0})
    m = CEILINGS.index("money")
    diff = more["log10_ceiling"][:, m].values - base["log10_ceiling"][:, m].values
    assert np.nanmax(np.abs(diff - 1.0)) < 1e-5
    p = CEILINGS.index("power")
    np.testing.assert_array_equal(more["log10_ceiling"][:, p], base["log10_ceiling"][:, p])


def test_store_and_memory_agree(tmp_path: Path) -> None:
    from projector.pipeline.run import Run

    mem, _ = _run("clip")
    Run("default", paths=PATHS, changes={**SMALL, "ceilings.mode": "clip"},
        store=tmp_path / "r").execute()  # fmt: skip
    disk = open_result(tmp_path / "r")
    for name in ("log10_ceiling", "binding_constraint", "ceiling_reached_year",
                 "log10_compute_yearly"):  # fmt: skip
        np.testing.assert_array_equal(mem[name].values, disk[name].values)
    text = (tmp_path / "r" / "summary.md").read_text()
    assert "Ceilings on one training run (ceilings.mode = 'clip'" in text
    assert "\nceiling,chips,2030,p_bound," in (tmp_path / "r" / "summary.csv").read_text()


def test_bad_ceiling_inputs_are_input_errors(tmp_path: Path) -> None:
    scen = load_scenario("default")
    with pytest.raises(InputError, match="key 'mode' must be one of 'off', 'report', 'clip'"):
        override(scen, {"ceilings.mode": "squash"})
    with pytest.raises(InputError, match="correlation"):
        override(scen, {"ceilings.correlation": -0.5})
    bad = tmp_path / "c.csv"
    text = load_constraints().label  # the bundled table, with one range made negative
    from projector.inputs.constraints import _bundled

    raw = _bundled()[0].decode().splitlines()
    raw[2] = raw[2].replace("1.0e8,1.0e8", "-1.0e8,1.0e8", 1)
    bad.write_text("\n".join(raw) + "\n")
    assert text == "constraints.csv"
    with pytest.raises(InputError, match=rf"{bad}: line 3: column 'low'"):
        _run("clip", **{"ceilings.table": str(bad)})


# --- history: no run in the data exceeded the central ceilings of its year -----------


def test_no_record_in_the_bundled_data_exceeded_a_central_ceiling() -> None:
    """The closest call is printed (pytest -s): the ceilings, run on the records."""
    table = load_constraints()
    systems = load_dataset()
    rec = systems.take(record_setters(systems))
    closest = []
    for year, value, name in zip(rec.year, rec.log10_compute, rec.name, strict=True):
        for c in CEILINGS:
            since = max(table.levels(n)[0].year for n in USES[c])
            if year < since:
                continue
            central = _central(table, c, year)
            closest.append((central - value, c, name, year))
            assert value < central, f"{name} ({year:.1f}) is above the {c} ceiling"
    assert closest, "no record in the years the ceilings are modelled"
    gap, c, name, year = min(closest)
    print(f"closest: {name} ({year:.2f}) {gap:.2f} OOM below the central {c} ceiling")
    assert gap > 0


def test_run_backwards_the_power_trend_falls_below_alphago_zero() -> None:
    # why a ceiling is not modelled before its sourced years: the growth rows are trends
    # of what frontier runs drew; AlphaGo Zero (2017-10, 3.4e23 FLOP) exceeds them run back
    table = load_constraints()
    assert _central(table, "power", 2017.8) < np.log10(3.41e23)


def _central(table, ceiling: str, year: float) -> float:  # type: ignore[no-untyped-def]
    v = {n: float(table.at(n, year)[1]) for n in USES[ceiling]}
    if ceiling == "power":
        return float(np.log10(v["power_run"] * v["energy_efficiency"] * v["mfu"]
                              * v["duration_run"] * 86_400))  # fmt: skip
    if ceiling == "chips":
        return float(np.log10(v["chip_stock"] * v["chip_share_run"] * H100_FP8_PEAK * v["mfu"]
                              * v["duration_run"] * 86_400))  # fmt: skip
    if ceiling == "money":
        return float(np.log10(v["budget_run"] * v["price_performance"]))
    return float(np.log10(0.3 * v["data_stock"] ** 2))


def test_report_thresholds_give_p_above_each_at_each_report_year() -> None:
    ds, _ = run_in_memory(
        "default", paths=PATHS, changes={**SMALL, "report.thresholds": [29.3, 31]}
    )
    s = summarize(ds)
    k = list(ds["year"].values).index(2030.0)
    v = ds["log10_compute_yearly"][:, k].values
    assert float(s["p_above_threshold"].sel(threshold=29.3, year=2030)) == np.mean(v > 29.3)
    from projector.render.report import summary_csv, summary_markdown

    assert "\nthreshold,31,2040,p_above," in summary_csv(s)
    assert "| 29.3 (= 2e29 FLOP) |" in summary_markdown(s)
    plain = summarize(run_in_memory("default", paths=200, changes=SMALL)[0])
    assert "p_above_threshold" not in plain and "threshold" not in summary_csv(plain)
    scen = load_scenario("constrained")
    assert scen.thresholds == (29.30103,) and 0.05 in scen.quantiles
