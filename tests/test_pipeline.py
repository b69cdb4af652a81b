"""The one pipeline (issue 18): Run's stages, the facade, and scripts with workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import projector as pj
import projector.errors
from projector.pipeline.run import Run

REPO = Path(__file__).resolve().parents[1]


def test_stages_run_in_order_and_once() -> None:
    r = Run("default", paths=300, seed=5)
    scen = r.resolve()
    assert scen.paths == 300 and r.resolve() is scen
    assert r.load() is r.load()
    p = r.plan()
    assert r.plan() is p and r.layout.paths == 300 and r.layout.keep == 300
    ds = r.result()
    assert ds["log10_compute"].shape == (300, len(p.times))
    assert r.result() is ds
    s = r.summary()
    assert "compute_quantile" in s and s.attrs["paths"] == 300


def test_in_memory_and_store_runs_agree(tmp_path: Path) -> None:
    mem = pj.run("default", paths=1200, seed=3)
    stored = pj.run("default", paths=1200, seed=3, store=tmp_path / "r", chunk_paths=1000)
    for name in ("growth_dl", "reversion_year", "crossing_year", "log10_compute_yearly"):
        np.testing.assert_array_equal(mem[name].values, stored[name].values)
    assert (tmp_path / "r" / "summary.csv").is_file()


def test_project_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="projector.run"):
        ds = pj.project("default", paths=100)
    np.testing.assert_array_equal(
        ds["growth_dl"].values, pj.run("default", paths=100)["growth_dl"].values
    )


def test_facade_lists_what_it_offers() -> None:
    for name in ("run", "sweep", "open_result", "summarize", "trends", "backtest",
                 "sensitivity", "compare", "load_scenario", "override", "Run"):  # fmt: skip
        assert name in pj.__all__ and callable(getattr(pj, name))


def test_backtest_and_sensitivity_return_datasets() -> None:
    bt = pj.backtest("epoch-2022", cutoffs=["2016-01-01"], horizons=[1], paths=300)
    # the scenario and each baseline ('records' only where a record-to-record history exists)
    assert 5 <= bt.sizes["case"] <= 6 and set(bt["method"].values) >= {"epoch-2022", "flat"}
    sa = pj.sensitivity("default", vary=["growth.moore_doubling_months=12:30"], samples=2,
                        paths=100)  # fmt: skip
    assert sa.sizes["key"] == 1 and "ST" in sa


def test_a_script_with_workers_at_top_level_works(tmp_path: Path) -> None:
    """Dask starts workers by re-importing the parent's script; the pipeline starts them
    without it, so an unguarded script runs once and gives the serial run's bits."""
    script = tmp_path / "top.py"
    script.write_text(
        "import projector as pj\n"
        "import numpy as np\n"
        "ds = pj.run('default', paths=2000, seed=4, workers=2, chunk_paths=1000)\n"
        "ref = pj.run('default', paths=2000, seed=4)\n"
        "print('runs', np.array_equal(ds['growth_dl'].values, ref['growth_dl'].values))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300,
        cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == ["runs True"], proc.stdout


@pytest.mark.parametrize(
    ("option", "value"), [("chunk_paths", 0), ("chunk_paths", -3), ("keep_paths", -1)]
)
def test_bad_chunk_or_keep_is_refused(option: str, value: int) -> None:
    with pytest.raises(pj.errors.InputError, match=option):
        Run("default", paths=50, **{option: value})
