"""Global sensitivity (SALib designs over scenario keys) and attribution within a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.model.summary import value_at
from projector.studies import sensitivity, sensitivity_table

from .conftest import run_in_memory


@pytest.fixture(scope="module")
def default_and_data() -> tuple:
    # the known cases need C(s) to set the level: calibrated before the record process,
    # whose level at s is fitted to the records (C(s) is then only its floor)
    scen = load_scenario("calibrated-deviations")
    return scen, load_dataset(scen.data.dataset)


def test_start_drives_2030_and_the_long_run_rate_drives_2100(default_and_data: tuple) -> None:
    scen, systems = default_and_data
    factors = [
        sensitivity.parse_vary("start.compute=25:28", scen),
        sensitivity.parse_vary("growth.moore_doubling_months=10:40", scen),
    ]
    sens = sensitivity.run_sensitivity(scen, systems, factors, samples=16, paths=300)
    s1 = {(r["output"], r["key"]): r["S1"] for r in sens.rows}
    assert s1[("log10_compute@2030", "start.compute")] > 0.8
    assert s1[("log10_compute@2100", "growth.moore_doubling_months")] > 0.5
    assert (
        s1[("log10_compute@2100", "growth.moore_doubling_months")]
        > s1[("log10_compute@2100", "start.compute")]
    )
    assert sens.design.shape == (16 * 4, 2)


def test_an_anchor_threshold_does_not_move_another_anchors_crossing(
    default_and_data: tuple,
) -> None:
    scen, systems = default_and_data
    factors = [
        sensitivity.parse_vary("anchors.evolution.log10_flop=38:44", scen),
        sensitivity.parse_vary("start.compute=25:28", scen),
    ]
    sens = sensitivity.run_sensitivity(scen, systems, factors, samples=16, paths=300)
    row = next(
        r
        for r in sens.rows
        if r["output"] == "crossing_median:median-anchor"
        and r["key"] == "anchors.evolution.log10_flop"
    )
    assert abs(row["S1"]) < 0.05 and row["ST"] < 0.05
    own = next(
        r
        for r in sens.rows
        if r["output"] == "crossing_median:evolution" and r["key"] == "anchors.evolution.log10_flop"
    )
    assert own["ST"] > 0.3


def test_morris_ranks_the_same_way(default_and_data: tuple) -> None:
    scen, systems = default_and_data
    factors = [
        sensitivity.parse_vary("start.compute=25:28", scen),
        sensitivity.parse_vary("reversion.bearish.weight=0.5:0.9", scen),
    ]
    sens = sensitivity.run_sensitivity(
        scen, systems, factors, method="morris", samples=8, paths=200
    )
    ranked = sensitivity.ranking(sens, "log10_compute@2030")
    assert ranked[0][0] == "start.compute"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("growth.nope=1:2", "not a numeric scenario key"),
        ("start.compute=28:25", "LOW must be below HIGH"),
        ("start.compute=25:25", "LOW must be below HIGH"),
        ("start.compute=a:b", "must be numbers"),
        ("growth.moore_units=1:2", "not a numeric scenario key"),
        ("start.compute", "expected KEY=LOW:HIGH"),
        ("growth.moore_doubling_months=0:10", "moore_doubling_months' must be"),
        ("data.cutoff=2020-01-01:2019-01-01", "LOW must be below HIGH"),
        ("reversion.nobody.weight=0:1", "not a numeric scenario key"),
    ],
)
def test_bad_vary_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    out = tmp_path / "s"
    assert main(["sensitivity", "default", "--vary", text, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_weights_keep_summing_to_one() -> None:
    from projector.inputs.scenario import override

    scen = load_scenario("default")
    v = override(scen, {"reversion.bearish.weight": 0.45})
    w = [c.weight for c in v.reversion]
    assert w[0] == 0.45 and sum(w) == pytest.approx(1.0)
    assert w[1] / w[2] == pytest.approx(0.20 / 0.05)  # the others keep their proportions
    with pytest.raises(InputError, match="more than 1"):
        override(scen, {"reversion.bearish.weight": 0.8, "reversion.middle.weight": 0.3})


def test_sensitivity_command_writes_its_files(tmp_path: Path) -> None:
    args = ["sensitivity", "default", "--vary", "start.compute=25:28", "--samples", "4",
            "--paths", "100", "--out", str(tmp_path), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert (tmp_path / "sensitivity.csv").read_text().startswith("output,key,S1,S1_conf,ST")
    md = (tmp_path / "sensitivity.md").read_text()
    # the start compute moves nothing in default: every output is listed once as constant
    assert "took the same value in every run" in md and "`log10_compute@2030`" in md
    assert "0.00 ± 0.00" not in md
    assert (tmp_path / "sensitivity.png").stat().st_size > 10_000


def _sens(rows: list[dict[str, float | str]], results: dict[str, list[float]]) -> Any:
    return sensitivity.Sensitivity(
        method="sobol",
        factors=(sensitivity.Factor("a", 0, 1), sensitivity.Factor("b", 0, 1)),
        rows=rows,
        design=np.zeros((32, 2)),
        results={k: np.array(v) for k, v in results.items()},
        scenario=load_scenario("default"),
        paths=100,
        seed=1,
    )


def _row(output: str, key: str, s1: float, s1c: float, st: float, stc: float) -> dict[str, Any]:
    return {"output": output, "key": key, "S1": s1, "S1_conf": s1c, "ST": st, "ST_conf": stc}


def test_one_matrix_constant_outputs_once_and_wide_intervals_warned() -> None:
    rows = [
        _row("x", "a", 0.80, 0.10, 0.92, 2.39),  # ST's interval wider than ST: flagged
        _row("x", "b", 0.02, 0.01, 0.03, 0.02),  # small and settled: not flagged
        _row("flat", "a", 0.0, 0.0, 0.0, 0.0),
        _row("flat", "b", 0.0, 0.0, 0.0, 0.0),
    ]
    sens = _sens(rows, {"x": [1.0, 2.0, 3.0], "flat": [5.0, 5.0, 5.0]})
    assert sensitivity_table.constant_outputs(sens) == ["flat"]
    assert sensitivity_table.wide_intervals(sens) == [("x", "a", "ST", 0.92, 2.39)]
    md = "\n".join(sensitivity_table.matrix_markdown(sens))
    table = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(table) == 1 and table[0].startswith("| `x` |")  # one row per varying output
    assert "0.80 ± 0.10 / 0.92 ± 2.39 ‡" in table[0] and "0.03 ± 0.02 |" in table[0]
    assert "no key varied here moves them" in md and "`flat`" in md
    warning = sensitivity_table.wide_interval_warning(sens)
    assert "ST 0.92 ± 2.39 for a on x" in warning and "--samples" in warning
    assert sensitivity_table.wide_interval_warning(_sens(rows[1:], {"x": [1.0, 2.0]})) == ""


def test_attribution_recovers_known_shares() -> None:
    rng = np.random.default_rng(1)
    a, b, c = rng.random(20_000), rng.random(20_000), rng.random(20_000)
    rows = sensitivity.attribution(
        {"a": a, "b": b, "c": c, "flat": np.zeros(20_000)}, {"y": 5 * a + b**2}, seed=1
    )
    s1 = {r["draw"]: r["S1"] for r in rows}
    assert set(s1) == {"a", "b", "c"}  # a draw that does not vary is left out
    # Var(5a) = 25/12, Var(b^2) = 4/45: shares 0.959 and 0.041.
    assert s1["a"] == pytest.approx(0.959, abs=0.02)
    assert s1["b"] == pytest.approx(0.041, abs=0.02)
    assert abs(s1["c"]) < 0.02


def test_attribution_of_a_run(default_and_data: tuple) -> None:
    """In `epoch-2022` the DL rate drives compute near the start, the reversion date later."""
    scen = load_scenario("epoch-2022")
    ds, _ = run_in_memory(scen, load_dataset(scen.data.dataset))
    draws = {"growth_dl": ds["growth_dl"].values, "reversion_year": ds["reversion_year"].values}
    targets = {str(y): value_at(ds, y) for y in (2022.5, 2030.0)}
    s1 = {(r["output"], r["draw"]): r["S1"] for r in sensitivity.attribution(draws, targets)}
    assert s1[("2022.5", "growth_dl")] > 0.5 > 4 * s1[("2022.5", "reversion_year")]
    assert s1[("2030.0", "reversion_year")] > 0.5 > s1[("2030.0", "growth_dl")]


def test_sensitivity_on_a_local_dask_cluster_is_identical(tmp_path: Path) -> None:
    args = ["sensitivity", "default", "--vary", "start.compute=25:28", "--samples", "4",
            "--paths", "100", "--quiet"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "serial")]) == 0
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "dask")]) == 0
    serial = (tmp_path / "serial" / "sensitivity.csv").read_text()
    assert serial == (tmp_path / "dask" / "sensitivity.csv").read_text()
