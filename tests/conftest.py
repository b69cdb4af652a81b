"""Shared fixtures: a synthetic dataset on exact trend lines, a scenario builder, and
helpers to run a projection in memory and read its summaries as rows."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from projector.inputs.systems import decimal_year

if TYPE_CHECKING:
    import xarray as xr

    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import Systems
    from projector.model.engine import Plan

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SNAPSHOT_2022 = SHARED_DATA / "epoch_pcd_notable_ml_systems_2022-09-01.csv"

# Exact lines: log10 C = slope * (year - pivot) + level.
PRE_SLOPE, DL_SLOPE = 0.2, 0.6  # OOM/year


def line_value(year: float, pre_slope: float = PRE_SLOPE, dl_slope: float = DL_SLOPE) -> float:
    if year < 2010:
        return 10.0 + pre_slope * (year - 1960)
    return 20.0 + dl_slope * (year - 2015)


def synthetic_rows(
    first: int = 1955,
    last: int = 2021,
    per_year: int = 2,
    jitter: Callable[[int], float] | None = None,
    pre_slope: float = PRE_SLOPE,
) -> list[dict[str, str]]:
    rows = []
    for year in range(first, last + 1):
        for k in range(per_year):
            date = dt.date(year, 1 + 5 * k, 15)
            y = line_value(decimal_year(date), pre_slope) + (jitter(len(rows)) if jitter else 0.0)
            rows.append(
                {
                    "system": f"sys-{year}-{k}",
                    "organization": "Lab",
                    "domain": "language",
                    "publication_date": date.isoformat(),
                    "training_compute_flop": repr(10.0**y),
                    "parameters": "",
                    "source": f"ref-{year}-{k}",
                    "compute_method": "reported",
                    "inputs": "",
                    "notes": "",
                }
            )
    return rows


def write_bundled_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def linear_csv(tmp_path: Path) -> Path:
    """Systems exactly on two lines: every bootstrap slope equals the line's slope."""
    return write_bundled_csv(tmp_path / "linear.csv", synthetic_rows())


@pytest.fixture
def noisy_csv(tmp_path: Path) -> Path:
    """Systems scattered around the lines (deterministic pseudo-noise)."""
    return write_bundled_csv(
        tmp_path / "noisy.csv", synthetic_rows(jitter=lambda i: 0.8 * math.sin(i * 2.399))
    )


SCENARIO_TEMPLATE = """\
name = "{name}"
seed = {seed}
paths = {paths}
start_year = {start_year}
end_year = {end_year}
steps_per_year = {steps_per_year}

[data]
dataset = "{dataset}"
cutoff = {cutoff}

[start]
compute = {start_compute}

[growth]
moore_units = "{moore_units}"
weight_shape = "{weight_shape}"
nonpositive = "{nonpositive}"
reversion_before_start = "{policy}"
{growth_extra}

{reversion}

[[anchors]]
name = "low"
log10_flop = 26.0

[[anchors]]
name = "high"
log10_flop = 34.0

[report]
years = {report_years}
"""

NORMAL_MIXTURE = """\
[[reversion]]
name = "bearish"
weight = 0.75
distribution = "normal"
mean = 2030.0
sd = 5.0

[[reversion]]
name = "middle"
weight = 0.2
distribution = "normal"
mean = 2034.0
sd = 5.0

[[reversion]]
name = "bullish"
weight = 0.05
distribution = "normal"
mean = 2040.0
sd = 5.0
"""


def point_mixture(year: float) -> str:
    return f'[[reversion]]\nname = "fixed"\nweight = 1.0\ndistribution = "point"\nyear = {year!r}\n'


@pytest.fixture
def make_scenario(tmp_path: Path, noisy_csv: Path) -> Callable[..., Path]:
    """Write a scenario TOML with the given overrides; returns its path."""
    counter = iter(range(10_000))

    def make(**over: object) -> Path:
        fields: dict[str, object] = {
            "name": "test",
            "seed": 7,
            "paths": 200,
            "start_year": 2022.0,
            "end_year": 2060.0,
            "steps_per_year": 12,
            "dataset": noisy_csv,
            "cutoff": '"none"',
            "start_compute": '"frontier"',
            "moore_units": "consistent",
            "weight_shape": "gaussian",
            "nonpositive": "error",
            "policy": "mirror",
            "growth_extra": "",
            "reversion": NORMAL_MIXTURE,
            "report_years": "[2030, 2040, 2050]",
        }
        fields.update(over)
        path = tmp_path / f"scenario-{next(counter)}.toml"
        path.write_text(SCENARIO_TEMPLATE.format(**fields), encoding="utf-8")
        return path

    return make


def run_in_memory(
    scen: Scenario | str | Path, systems: Systems | None = None, **kw: Any
) -> tuple[xr.Dataset, Plan]:
    """A run in memory through the pipeline (every full path kept): its Dataset and plan.

    ``kw``: any other argument of :class:`projector.pipeline.run.Run` (``chunk_paths``,
    ``paths``, ``seed``, ``changes``, ...)."""
    from projector.pipeline.run import Run

    r = Run(scen, systems=systems, **kw)
    return r.result(), r.plan()


def compute_summary(ds: xr.Dataset) -> list[dict[str, float]]:
    """Per report year: ``q<q>`` quantiles of log10 compute and anchors passed by the median."""
    from projector.model.summary import summarize

    s = summarize(ds)
    rows = []
    for y in [float(v) for v in s.attrs["report_years"]]:
        at = s.sel(year=y)
        row: dict[str, float] = {"year": y}
        for q in s.attrs["report_quantiles"]:
            row[f"q{q:g}"] = float(at["compute_quantile"].sel(quantile=q))
        row["anchors_passed_by_median"] = int(at["anchors_passed_by_median"])
        rows.append(row)
    return rows


def anchor_summary(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Per anchor: crossing-year quantiles (inf = never), ``p_by_<year>``, ``p_never``."""
    from projector.model.summary import summarize

    s = summarize(ds)
    rows = []
    for name in s["anchor"].values:
        at = s.sel(anchor=name)
        row: dict[str, Any] = {"anchor": str(name), "log10_flop": float(at["anchor_log10_flop"])}
        for q in s.attrs["report_quantiles"]:
            row[f"q{q:g}"] = float(at["crossing_quantile"].sel(quantile=q))
        for y in s.attrs["report_years"]:
            row[f"p_by_{y:g}"] = float(at["p_crossed"].sel(year=y))
        row["p_never"] = float(at["p_never"])
        rows.append(row)
    return rows


@pytest.fixture(autouse=True)
def _close_figures():  # type: ignore[no-untyped-def]
    """Figures made by a test are closed after it (the CLI closes its own)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
