"""The constraints table (inputs.constraints) and the FLOP ceilings (model.ceilings).

The source tests take the inputs each source assumed and check the ceiling formula
gives the source's FLOP figure within a factor of 2 ("about"). Figures the stored
pages could not confirm are named as such (see projector/inputs/data/CONSTRAINTS.md).
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projector.curation.hardware import accelerators, peak_flop_per_s
from projector.errors import EXIT, InputError, classify
from projector.inputs.constraints import (
    COLUMNS,
    CONSTRAINTS,
    Constraints,
    load_constraints,
)
from projector.model import ceilings
from projector.model.ceilings import SECONDS_PER_DAY

DAY = SECONDS_PER_DAY
H100_FP8 = peak_flop_per_s("H100", "fp8")  # 1.979e15 dense (accelerators.csv)
H100_BF16 = peak_flop_per_s("H100", "bf16")  # 9.894e14 dense


def about(value: float, target: float, factor: float = 2.0) -> bool:
    return target / factor <= value <= target * factor


# --- the ceilings reproduce their sources --------------------------------------------


def test_power_ceiling_2030_at_5_gw_is_about_2e29() -> None:
    # Epoch AI, Can AI scaling continue through 2030? (Sevilla et al. 2024-08-20,
    # https://epoch.ai/blog/can-ai-scaling-continue-through-2030): "training runs of 2e29
    # FLOP will likely be feasible by the end of this decade", power binding first at
    # about 5 GW. Its assumptions relative to Llama 3.1 405B (27 MW, H100s in BF16), as
    # notes of a talk on the report give them (https://kb.iter.ca/journals/2024-10-17.html):
    # "4x more efficent, fp16->fp8 (2x efficiency gain), 3x longer training runs".
    # Efficiency: H100 BF16 peak per 1,648 W all-in (27 MW / 16,384 GPUs) x 4 x 2.
    # MFU 0.4 (Llama 3.1's reported 40%), duration 3 x 68 days (the 68 days that give
    # Llama 3.1's 3.8e25 FLOP at that MFU; "3.8 x 10^25 FLOPS" and "utilization ... at 40%
    # (they use 16384 GPUs)", https://www.greaterwrong.com/posts/i4WPkJKKdcTwGJw2H/
    # ai-74-gpt-4o-mini-me-and-llama-3/comment/XRDckGDRWW2binPf7): every input of the
    # 2030 run is the 2024 run's times the report's factors.
    watts_per_gpu = 27e6 / 16_384
    efficiency_2030 = H100_BF16 / watts_per_gpu * 4 * 2
    llama_days = 3.8e25 / (16_384 * H100_BF16 * 0.4) / DAY
    assert about(llama_days, 68, 1.1)
    flop = ceilings.power(5e9, efficiency_2030, 0.4, 3 * llama_days * DAY)
    assert about(float(flop), 2e29)


def test_chips_ceiling_100m_h100e_is_about_9e29() -> None:
    # Epoch AI 2030 report (as above): about 100M H100-equivalents could be dedicated to
    # training by 2030, enough for a 9e29 FLOP run (../shared/docs/ceilings.md; the
    # 9e29 itself is not in the stored pages). All of them to the one run (share 1, as
    # "for training" says), FP8 dense peak, MFU 0.375 and 180 days (the report's
    # medians per ceilings.md).
    flop = ceilings.chips(100e6, 1.0, H100_FP8, 0.375, 180 * DAY)
    assert about(float(flop), 9e29)


def test_power_ceiling_2025_at_100_mw_is_about_9e26_and_above_grok_4() -> None:
    # Epoch AI / EPRI (https://epoch.ai/blog/power-demands-of-frontier-ai-training):
    # "the largest runs now exceeding 100 MW". Central factors of ../shared/docs/
    # ceilings.md: 1,704 W all-in per H100 (FP8 dense peak), MFU 0.375, 180 days; one
    # year of efficiency growth from 2024 (1.28x, Epoch's 2030 report per ceilings.md).
    flop = float(ceilings.power(100e6, H100_FP8 / 1704 * 1.28, 0.375, 180 * DAY))
    assert about(flop, 9e26)
    # Grok 4, the largest known run, ~5e26 FLOP ("The largest known training run, Grok 4,
    # used around 5e26 FLOP", https://data-today.net/training-cost-vs-efficiency/): a run
    # that happened is under its ceiling.
    assert flop >= 5e26


def test_gpt6_astra_setup_is_about_1e27() -> None:
    # GPT-6 Astra as Epoch's database row reports it (issue 20; ceilings.md): about
    # 100,000 GB200 for about 90 days at 25% of FP8 peak; Epoch's figure 1.0001e27.
    # Peak: accelerators.csv if it lists the GB200; otherwise 5e15 FLOP/s dense FP8 per
    # GPU, from NVIDIA's 720 PFLOPS FP8 per 72-GPU NVL72 rack read as a sparse figure
    # (https://aiwiki.ai/wiki/nvidia_gb200_nvl72/raw), as for the B200 in accelerators.csv.
    gb200 = accelerators().get("gb200")
    peak = gb200.peaks["fp8"] if gb200 is not None and "fp8" in gb200.peaks else 720e15 / 72 / 2
    flop = ceilings.chips(100_000, 1.0, peak, 0.25, 90 * DAY)
    assert about(float(flop), 1e27)


def test_data_ceiling_reproduces_the_2030_range() -> None:
    # Epoch AI 2030 report: "400 trillion to 20 quadrillion available training tokens"
    # (https://news.kav.co.id/n/ai-scaling-through-2030/) "Should allow training a
    # 6e28-2e32 FLOP model" (https://kb.iter.ca/journals/2024-10-17.html); Chinchilla.
    assert about(float(ceilings.data(400e12)), 6e28)
    assert about(float(ceilings.data(20e15)), 2e32)
    assert float(ceilings.data(1e12)) == pytest.approx(0.3e24)


def test_money_ceiling_is_budget_times_price_performance() -> None:
    assert float(ceilings.money(1e9, 3.62e17)) == pytest.approx(3.62e26)


# --- shapes and the binding constraint --------------------------------------------------


def test_ceilings_broadcast_over_paths_and_years() -> None:
    paths = np.array([1e8, 2e8, 4e8])[:, None]  # (path, 1)
    years = np.linspace(1e12, 2e12, 5)[None, :]  # (1, year)
    assert ceilings.power(paths, years, 0.4, 90 * DAY).shape == (3, 5)


def test_binding_is_the_smallest_and_ignores_nan() -> None:
    a = np.array([[1.0, 5.0], [3.0, np.nan]])
    b = np.array([[2.0, 4.0], [1.0, 9.0]])
    assert ceilings.binding([a, b]).tolist() == [[0, 1], [1, 1]]
    assert ceilings.binding(np.stack([a, b])).tolist() == [[0, 1], [1, 1]]
    assert ceilings.binding([a, 2.5]).tolist() == [[0, 1], [1, 1]]
    assert ceilings.binding([np.nan, np.nan]).tolist() == 0


positive = st.floats(1e-3, 1e3, allow_nan=False)
factor = st.floats(1.01, 100.0)


@given(st.lists(positive, min_size=5, max_size=5), st.integers(0, 4), factor)
def test_each_ceiling_increases_in_each_input(xs: list[float], i: int, k: float) -> None:
    for f, n in ((ceilings.power, 4), (ceilings.chips, 5), (ceilings.money, 2), (ceilings.data, 1)):
        base = xs[:n]
        more = list(base)
        more[i % n] *= k
        assert float(f(*more)) > float(f(*base))


# --- the bundled table ------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> Constraints:
    return load_constraints()


def test_bundled_table_loads_and_covers_every_constraint(table: Constraints) -> None:
    assert table.label == "constraints.csv"
    assert len(table.sha256) == 64
    assert set(table.names()) == set(CONSTRAINTS)


def test_every_row_has_a_url_a_quote_and_a_vintage(table: Constraints) -> None:
    for r in table.rows:
        assert r.source_url.startswith(("http://", "https://")), r.line
        assert r.quote, r.line
        assert r.vintage, r.line
        assert r.source_type in ("primary", "secondary", "derived"), r.line


def test_interpolation_hits_sourced_values_and_is_monotone_between(table: Constraints) -> None:
    for name in table.names():
        levels = table.levels(name)
        for r in levels:
            assert tuple(float(v) for v in table.at(name, r.year)) == r.values
        for a, b in itertools.pairwise(levels):
            grid = np.linspace(a.year, b.year, 41)
            for k, series in enumerate(table.at(name, grid)):
                step = np.sign(b.values[k] - a.values[k])
                assert np.all(np.diff(series) * step >= -1e-9 * series[:-1]), (name, k)


def test_growth_carries_past_the_last_year_and_keeps_order(table: Constraints) -> None:
    last = table.levels("power_run")[-1]
    grow = table.growth("power_run")
    assert grow is not None
    low, central, high = table.at("power_run", last.year + 10)
    assert float(central) == pytest.approx(last.central * grow.central**10)
    assert float(low) <= float(central) <= float(high)
    # no growth row: held at the last sourced value
    assert table.growth("mfu") is None
    assert float(table.at("mfu", 2060)[1]) == pytest.approx(table.levels("mfu")[-1].central)
    years = np.arange(2000, 2101)
    for name in table.names():
        lo, mid, hi = table.at(name, years)
        assert np.all(lo <= mid * (1 + 1e-12)) and np.all(mid <= hi * (1 + 1e-12)), name


def test_table_ceilings_2030_are_in_the_sources_range(table: Constraints) -> None:
    # The bundled central figures, combined, land near Epoch's 2030 feasibility (2e29):
    # within a factor of 10, since the table's 2030 power is the Epoch/EPRI 4-16 GW
    # forecast rather than the 2024 report's 1-5 GW campus.
    c = {n: float(table.at(n, 2030)[1]) for n in table.names()}
    flop = ceilings.power(c["power_run"], c["energy_efficiency"], c["mfu"],
                          c["duration_run"] * DAY)  # fmt: skip
    assert about(float(flop), 2e29, 10)


# --- bad input: one InputError naming the file, line and column ------------------------

GOOD = {
    "constraint": "power_run",
    "kind": "level",
    "year": "2030",
    "low": "1e9",
    "central": "5e9",
    "high": "1e10",
    "unit": "W",
    "percentiles": "",
    "range_basis": "source",
    "source_url": "https://example.org/report",
    "quote": "a quoted statement",
    "source_type": "primary",
    "vintage": "2024-08-20",
    "notes": "",
}


def _write(tmp_path: Path, *rows: dict[str, str]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path = tmp_path / "my_constraints.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_a_good_row_loads(tmp_path: Path) -> None:
    t = load_constraints(_write(tmp_path, GOOD))
    assert t.levels("power_run")[0].line == 2
    assert [float(v) for v in t.at("power_run", 2030)] == [1e9, 5e9, 1e10]


BAD = [
    ({"constraint": "gpu_count"}, "constraint", "unknown constraint 'gpu_count'; valid: power_run"),
    ({"low": "6e9"}, "low", "above central"),
    ({"high": "4e9"}, "high", "below central"),
    ({"low": "-1e9"}, "low", "> 0"),
    ({"source_url": ""}, "source_url", "URL"),
    ({"quote": ""}, "quote", "quoted"),
    ({"year": "20x0"}, "year", "whole year"),
    ({"year": "3030"}, "year", "whole year"),
    ({"kind": "trend"}, "kind", "level, growth"),
    ({"unit": "GW"}, "unit", "'W'"),
    ({"source_type": "blog"}, "source_type", "primary"),
    ({"vintage": "Aug 2024"}, "vintage", "YYYY"),
    ({"constraint": "mfu", "unit": "fraction", "low": "0.2", "central": "0.4", "high": "1.5"},
     "high", "fraction"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "column", "message"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_each_bad_row_is_one_input_error_naming_file_line_and_column(
    tmp_path: Path, change: dict[str, str], column: str, message: str
) -> None:
    path = _write(tmp_path, GOOD | {"year": "2024"}, GOOD | change)
    with pytest.raises(InputError) as info:
        load_constraints(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line 3: column '{column}'"), text
    assert message in text
    assert "\n" not in text
    assert classify(info.value)[0] == EXIT["input"] == 2


def test_table_level_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 3: column 'year'.*repeats line 2"):
        load_constraints(_write(tmp_path, GOOD, GOOD))
    growth = GOOD | {"kind": "growth", "unit": "x/year", "low": "1.5", "central": "2",
                     "high": "2.5"}  # fmt: skip
    with pytest.raises(InputError, match=r"line 3: column 'kind'.*growth row already"):
        load_constraints(_write(tmp_path, growth, growth | {"year": "2025"}))
    with pytest.raises(InputError, match=r"line 2: .*no level row"):
        load_constraints(_write(tmp_path, growth))
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("constraint,year\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"h\.csv: line 1: header must be"):
        load_constraints(bad_header)
    cut = tmp_path / "cut.csv"
    cut.write_text(",".join(COLUMNS) + "\npower_run,level,2030\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cut\.csv: line 2: .*fields"):
        load_constraints(cut)
    with pytest.raises(InputError, match=r"missing\.csv: cannot read"):
        load_constraints(tmp_path / "missing.csv")
