"""Issue 24: the long-run rate as a key of its own, the resolved rates and the caveats at the
head of validate, every summary and report, one anchor count, one P(crossed) table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.scenario import load_scenario, override
from projector.model.summary import anchors_passed, summarize
from projector.render.report import caveats, rate_text, summary_markdown

from .conftest import run_in_memory


def test_long_run_key_sets_the_rate_paths_revert_to() -> None:
    ds, plan = run_in_memory("default", paths=300, changes=["growth.long_run_doubling_months=12"])
    assert plan.long_run == pytest.approx(math.log10(2.0))  # 2x a year = 0.301 OOM/year
    assert np.all(ds["growth_moore"].values == plan.long_run)
    assert float(ds.attrs["long_run_doubling_months"]) == 12
    # the trap of issue 24: the reference doubling time is not the long-run rate
    derived, _ = run_in_memory("default", paths=300, changes=["growth.moore_doubling_months=12"])
    assert 10 ** float(np.median(derived["growth_moore"].values)) == pytest.approx(1.75, abs=0.02)


def test_unset_long_run_key_changes_nothing() -> None:
    scen = load_scenario("default")
    assert scen.long_run_doubling_months is None
    assert "long_run_doubling_months" not in scen.resolved()  # same hash as before the key
    ds, plan = run_in_memory("default", paths=200)
    assert plan.long_run is None and "long_run_doubling_months" not in ds.attrs
    pre = ds["growth_pre_dl"].values
    assert np.array_equal(ds["growth_moore"].values, np.sqrt(pre * plan.growth_ref))


def test_both_long_run_rules_in_one_place_are_an_error(tmp_path: Path) -> None:
    scen = load_scenario("default")
    with pytest.raises(InputError, match="both given"):
        override(scen, {"growth.long_run_doubling_months": 12, "growth.moore_doubling_months": 20})
    f = tmp_path / "both.toml"
    f.write_text(
        'name = "both"\nextends = "default"\n[growth]\n'
        "long_run_doubling_months = 12\nmoore_doubling_months = 20\n"
    )
    with pytest.raises(InputError, match=r"both\.toml: keys 'growth\.long_run_doubling_months'"):
        load_scenario(f)
    # one rule stated over an inherited other replaces it (epoch-2022 states the reference)
    child = tmp_path / "child.toml"
    child.write_text(
        'name = "child"\nextends = "epoch-2022"\n[growth]\nlong_run_doubling_months = 12\n'
    )
    assert load_scenario(child).long_run_doubling_months == 12
    assert (
        override(
            load_scenario(child), {"growth.moore_doubling_months": 18}
        ).long_run_doubling_months
        is None
    )
    with pytest.raises(InputError, match="'derived'"):
        override(scen, {"growth.long_run_doubling_months": "fast"})


def test_validate_prints_the_resolved_rates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "default", "--set", "growth.moore_doubling_months=12"]) == 0
    out = capsys.readouterr().out
    assert "Deep-Learning rate (OLS of" in out and "pre-DL rate (OLS of 26 systems, 1950-" in out
    assert "long-run rate, sqrt(pre-DL x reference 0.301" in out and "(1.75x/year" in out
    assert main(["validate", "default", "--set", "growth.long_run_doubling_months=12"]) == 0
    assert (
        "growth.long_run_doubling_months = 12: 0.301 OOM/year (2.00x/year"
        in capsys.readouterr().out
    )


def test_rate_text() -> None:
    assert rate_text(math.log10(2.0)) == "0.301 OOM/year (2.00x/year, doubling 12.0 months)"
    assert "never doubles" in rate_text(0.0)


def test_summary_starts_with_the_caveats_and_the_rates() -> None:
    ds, _ = run_in_memory("epoch-2022", paths=300)
    s = summarize(ds)
    md = summary_markdown(s)
    lines = md.splitlines()
    assert lines[:2] == caveats(ds.attrs) and len(caveats(ds.attrs)) == 2
    assert lines[0].startswith("**Projections, not predictions**")
    head = md[: md.index("## log10 training compute")]
    for label in ("Deep-Learning", "pre-DL", "long-run"):
        assert f"{label} " in head
    assert "published-notebook reading" in head
    q = s["growth_rate_quantile"].sel(rate="growth_dl", rate_quantile=0.5)
    assert float(q) == pytest.approx(float(np.quantile(ds["growth_dl"].values, 0.5)))
    assert summary_markdown(s, with_caveats=False).startswith("# Projection")


@given(
    st.lists(st.floats(20, 45), min_size=1, max_size=8),
    st.lists(st.floats(15, 50), min_size=1, max_size=6),
)
def test_anchors_passed_counts_every_anchor_at_or_below(
    thresholds: list[float], levels: list[float]
) -> None:
    got = anchors_passed(thresholds, np.array(levels))
    assert got.shape == (len(levels),)
    for n, level in zip(got, levels, strict=True):
        assert n == sum(t <= level for t in thresholds)
    order = np.argsort(levels)
    assert np.all(np.diff(got[order]) >= 0)  # higher level, never fewer anchors


def test_summary_and_table_1_count_the_same_anchors() -> None:
    from projector.studies import published

    ds, _ = run_in_memory("epoch-2022", paths=300)
    s = summarize(ds)
    t = published.compare_table_1(s)
    ours = s["anchors_passed_by_median"].sel(year=t["year"].values).values
    assert t["anchors_ours"].values.tolist() == ours.tolist()
    assert t.attrs["anchors_of"] == s.sizes["anchor"] == 7


def test_compare_has_one_p_crossed_table(tmp_path: Path) -> None:
    folders = []
    for name in ("default", "bullish-weights"):
        folder = tmp_path / name
        assert main(["project", name, "--paths", "300", "--out", str(folder), "--quiet"]) == 0
        folders.append(str(folder))
    assert main(["compare", *folders, "--out", str(tmp_path / "c")]) == 0
    md = (tmp_path / "c" / "compare.md").read_text()
    assert md.count("P(crossed by") == 1
    table = md[md.index("P(crossed by year) per anchor") :]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 2 * 7  # an anchor per result
    assert all("(+" in r or "(-" in r for r in rows[1::2])  # the second result's differences
