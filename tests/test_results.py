"""Result cubes: structure, provenance, summaries, atomic writes and round trips."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from projector.errors import InputError
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.model.cube import CEILING_VARIABLES, VARIABLES
from projector.model.summary import summarize, value_at
from projector.pipeline.fileio import atomic_path
from projector.pipeline.run import Run
from projector.pipeline.store import open_result
from projector.render.report import summary_csv, summary_markdown

from .conftest import anchor_summary, compute_summary, run_in_memory


@pytest.fixture
def cube(make_scenario: Callable[..., Path]):  # type: ignore[no-untyped-def]
    scen = load_scenario(make_scenario(paths=300))
    return run_in_memory(scen, load_dataset(scen.data.dataset))[0]


def test_dims_units_and_long_names(cube) -> None:  # type: ignore[no-untyped-def]
    assert cube["log10_compute"].dims == ("path", "time")
    assert cube["crossing_year"].dims == ("path", "anchor")
    for name in (
        "growth_dl",
        "growth_pre_dl",
        "growth_moore",
        "reversion_year",
        "reversion_component",
    ):
        assert cube[name].dims == ("path",)
    for name in VARIABLES:
        if name in CEILING_VARIABLES or name == "ceiling_modelled_from":
            assert name not in cube  # only a run with ceilings has them
            continue
        assert cube[name].attrs["units"] and cube[name].attrs["long_name"]
    assert cube["growth_dl"].attrs["units"] == "OOM/year"
    assert cube["time"].dtype == np.float64 and cube["time"].attrs["units"] == "decimal year"
    assert list(cube["anchor"].values) == ["low", "high"]
    assert list(cube["anchor_log10_flop"].values) == [26.0, 34.0]


def test_provenance(cube) -> None:  # type: ignore[no-untyped-def]
    a = cube.attrs
    for key in (
        "projector_version",
        "scenario_name",
        "scenario_file",
        "scenario_sha256",
        "scenario_file_sha256",
        "dataset",
        "dataset_sha256",
        "seed",
        "moore_units",
        "created_at",
        "start_compute_source",
    ):
        assert key in a, key
    assert a["seed"] == 7 and a["paths"] == 300
    assert json.loads(a["scenario_resolved"])["name"] == "test"


def test_summaries_are_ordered_and_consistent(cube) -> None:  # type: ignore[no-untyped-def]
    rows = compute_summary(cube)
    assert [r["year"] for r in rows] == [2030, 2040, 2050]
    for r in rows:
        qs = [r[k] for k in ("q0.025", "q0.25", "q0.5", "q0.75", "q0.975")]
        assert qs == sorted(qs)
    anchors = anchor_summary(cube)
    for r in anchors:
        ps = [r[f"p_by_{y}"] for y in (2030, 2040, 2050)]
        assert ps == sorted(ps) and 0 <= ps[0] and ps[-1] <= 1
        assert r["q0.025"] <= r["q0.5"] <= r["q0.975"]
    # P(crossed by y) agrees with the paths themselves.
    at_2040 = value_at(cube, 2040.0)
    p_low = anchors[0]["p_by_2040"]
    assert abs(p_low - np.mean(at_2040 >= 26.0)) < 0.02
    table = list(csv.DictReader(io.StringIO(summary_csv(summarize(cube)))))
    assert {r["section"] for r in table} == {"compute", "anchor"}
    md = summary_markdown(summarize(cube))
    assert "| 2040 |" in md and "P(by 2050)" in md


def test_value_at_interpolates_and_rejects_outside(cube) -> None:  # type: ignore[no-untyped-def]
    t = cube["time"].values
    np.testing.assert_array_equal(value_at(cube, float(t[12])), cube["log10_compute"].values[:, 12])
    with pytest.raises(InputError, match="outside the projection"):
        value_at(cube, 1999.0)


def test_store_round_trip(cube, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A streamed store holds what the in-memory cube holds (float32 where stored so)."""
    scen = load_scenario(cube.attrs["scenario_file"])
    folder = tmp_path / "res"
    Run(scen, systems=load_dataset(scen.data.dataset), store=folder, chunk_paths=100).execute()
    back = open_result(folder)
    assert back["log10_compute"].dims == ("path", "time")
    np.testing.assert_array_equal(back["log10_compute"], cube["log10_compute"].astype(np.float32))
    np.testing.assert_array_equal(back["log10_compute_yearly"], cube["log10_compute_yearly"])
    for name in ("crossing_year", "growth_dl", "reversion_year", "frontier_origin"):
        np.testing.assert_array_equal(back[name], cube[name])
    np.testing.assert_array_equal(back["reversion_component"], cube["reversion_component"])
    assert back.attrs["scenario_sha256"] == cube.attrs["scenario_sha256"]
    assert back["growth_dl"].attrs["units"] == "OOM/year"
    assert list(back["anchor"].values) == ["low", "high"]


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "projection.nc"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.nc"
    bad.write_text("not netcdf")
    with pytest.raises(InputError, match="not a readable NetCDF"):
        open_result(bad)
    with pytest.raises(InputError, match="no such result"):
        open_result(tmp_path / "missing.nc")
    with pytest.raises(InputError, match="not a result folder"):
        open_result(tmp_path)
