"""Result folders: what is kept, what is refused, what survives a failed run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from projector.cli.app import main
from projector.errors import InputError
from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.pipeline import budget, folders, store
from projector.pipeline import executors as execute
from projector.pipeline import run as api
from projector.pipeline.run import Run


def test_keep_paths_keeps_a_sample_and_every_yearly_value(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_scenario(paths=1200)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["project", str(path), "--out", str(full), "--quiet"]) == 0
    argv = ["project", str(path), "--out", str(part), "--quiet", "--keep-paths", "300",
            "--chunk-paths", "500"]  # fmt: skip
    assert main(argv) == 0
    a, b = store.open_result(full), store.open_result(part)
    assert b.attrs["paths_kept"] == 300 and a.attrs["paths_kept"] == 1200
    np.testing.assert_array_equal(a["log10_compute"][:300], b["log10_compute"][:300])
    assert np.isnan(b["log10_compute"][300:].values).all()
    np.testing.assert_array_equal(a["log10_compute_yearly"], b["log10_compute_yearly"])
    # the summaries use every path either way
    assert (full / "summary.csv").read_text() == (part / "summary.csv").read_text()


def test_result_from_other_inputs_is_never_silently_replaced(
    make_scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(make_scenario(paths=200))
    out = tmp_path / "res"
    assert main(["project", path, "--out", str(out), "--quiet"]) == 0
    before = (out / "summary.csv").read_text()
    assert main(["project", path, "--out", str(out), "--quiet", "--seed", "8"]) == 2
    err = capsys.readouterr().err
    assert "holds a result from other inputs" in err and "seed 7 -> 8" in err
    assert (out / "summary.csv").read_text() == before
    assert main(["project", path, "--out", str(out), "--reuse"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["project", path, "--out", str(out), "--quiet", "--seed", "8", "--force"]) == 0
    assert store.open_result(out).attrs["seed"] == 8
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["project", path, "--out", str(other), "--quiet"]) == 2
    assert (other / "notes.txt").read_text() == "mine"


def test_default_folder_names(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario())
    assert folders.result_folder(scen, root=Path("r")) == Path("r/test")
    changed = api.resolve(scen, changes=["growth.moore_doubling_months=18"])
    assert folders.result_folder(changed, root=Path("r")) == Path(f"r/test-{changed.sha256[:8]}")
    assert changed.sha256 != api.resolve(scen, seed=3).sha256


def test_set_is_applied_and_recorded(make_scenario: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "res"
    argv = ["project", str(make_scenario(paths=100)), "--out", str(out), "--quiet",
            "--set", "growth.moore_doubling_months=18", "--set", "seed=3"]  # fmt: skip
    assert main(argv) == 0
    ds = store.open_result(out)
    assert ds.attrs["moore_doubling_months"] == 18 and ds.attrs["seed"] == 3
    assert "growth.moore_doubling_months" in ds.attrs["scenario_overrides"]


def test_run_that_does_not_fit_is_refused_before_it_starts(
    make_scenario: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(budget, "disk_free", lambda folder: 1e6)
    out = tmp_path / "out"
    assert main(["project", str(make_scenario()), "--out", str(out), "--paths", "50000"]) == 3
    err = capsys.readouterr().err
    assert "on disk" in err and "paths fit" in err and err.count("\n") == 1
    assert not out.exists()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".toml"]
    monkeypatch.setattr(budget, "disk_free", lambda folder: 1e15)
    monkeypatch.setattr(budget, "available_memory", lambda: 1e8)
    assert main(["project", str(make_scenario()), "--out", str(out)]) == 3
    assert "of memory" in capsys.readouterr().err


def test_failed_run_leaves_the_old_result(
    make_scenario: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(make_scenario(paths=3000))
    out = tmp_path / "res"
    assert main(["project", path, "--out", str(out), "--quiet"]) == 0
    before = store.open_result(out)["growth_dl"].values.copy()
    calls = {"n": 0}
    real = execute.compute_chunk

    def failing(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise InputError("simulated failure in the second chunk")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "compute_chunk", failing)
    monkeypatch.setattr(execute, "map_chunks", _map_with(failing))
    argv = ["project", path, "--out", str(out), "--quiet", "--force", "--seed", "9",
            "--chunk-paths", "1000"]  # fmt: skip
    assert main(argv) == 2
    np.testing.assert_array_equal(store.open_result(out)["growth_dl"].values, before)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".res")) == []


def _map_with(compute: Callable[..., object]) -> Callable[..., None]:
    """``executors.map_chunks`` computing the store's chunks with ``compute`` (its default
    ``compute_chunk`` is bound when it is defined, so patching that name alone is not
    enough)."""
    real = execute.map_chunks

    def mapped(
        executor: object, tasks: object, sink: object, *, slots: int = 1, **_: object
    ) -> None:
        real(executor, tasks, sink, slots=slots, fn=compute)  # type: ignore[arg-type]

    return mapped


def test_export_netcdf(make_scenario: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "res"
    argv = ["project", str(make_scenario(paths=400)), "--out", str(out), "--quiet",
            "--keep-paths", "50"]  # fmt: skip
    assert main(argv) == 0
    nc = tmp_path / "r.nc"
    assert main(["export", str(out), str(nc)]) == 0
    with xr.open_dataset(nc, engine="h5netcdf") as ds:
        assert ds["log10_compute"].dims == ("sample", "time") and ds.sizes["sample"] == 50
        zs = store.open_result(out)
        np.testing.assert_array_equal(ds["crossing_year"].values, zs["crossing_year"].values)
        assert ds.attrs["scenario_sha256"] == zs.attrs["scenario_sha256"]
    # the export is itself readable as a result (summary and plot)
    assert main(["summary", str(nc)]) == 0


def test_sweep_store_has_a_variant_dimension(
    make_scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    argv = ["sweep", str(make_scenario(paths=300)), "--set", "seed=1,2",
            "--set", "growth.moore_doubling_months=15,30", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    ds = store.open_result(out)
    assert ds.sizes["variant"] == 4 and ds["growth_dl"].dims == ("variant", "path")
    labels = list(ds["variant_label"].values)
    assert labels[0] == "seed=1, growth.moore_doubling_months=15"
    # each variant equals the single run of its scenario
    scen = api.resolve(str(make_scenario(paths=300)), changes=["seed=2",
                       "growth.moore_doubling_months=30"])  # fmt: skip
    single = tmp_path / "single"
    Run(scen, store=single).execute()
    one = store.open_result(single)
    np.testing.assert_array_equal(ds["crossing_year"][3].values, one["crossing_year"].values)
    csv = (out / "summary.csv").read_text().splitlines()
    assert csv[0].endswith(",variant") and len({line.rsplit(",", 1)[-1] for line in csv}) > 2


def test_python_facade(make_scenario: Callable[..., Path], tmp_path: Path) -> None:
    import projector

    path = make_scenario(paths=150)
    ds = projector.run(path, changes={"seed": 4})
    assert ds.sizes["path"] == 150 and ds.attrs["seed"] == 4
    streamed = projector.run(path, changes={"seed": 4}, store=tmp_path / "r")
    np.testing.assert_array_equal(streamed["crossing_year"].values, ds["crossing_year"].values)
    assert (tmp_path / "r" / "summary.md").is_file()
    s = projector.summarize(projector.open_result(tmp_path / "r"))
    assert float(s["p_crossed"].sel(anchor="low", year=2050.0)) > 0


def test_summary_of_held_arrays_is_the_summary_of_the_store(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    """A small run summarises the arrays it kept while streaming; they are the store's."""
    from projector.model.summary import summarize
    from projector.render.report import summary_csv

    folder = tmp_path / "res"
    r = Run(make_scenario(paths=2500), store=folder, chunk_paths=1000)
    assert folders.Held(r.layout).on
    from_held = r.execute().summary()  # what write_reports summarised from the held arrays
    from_store = summarize(store.open_result(folder))
    xr.testing.assert_identical(from_held, from_store)
    assert summary_csv(from_held) == summary_csv(from_store)


def test_memory_estimate_follows_chunks_and_kept_rows_not_paths_times_grid(
    tmp_path: Path,
) -> None:
    """Chunks are computed path by path: a fine time grid costs memory only through the
    full paths kept (float32 rows of a chunk), never through paths x times."""
    scen = api.resolve(
        "default",
        paths=100_000,
        changes=["steps_per_year=366", "end_year=2500", "report.years=[2030]"],
    )
    systems = load_dataset(scen.data.dataset)

    def run(keep: int) -> Run:
        return Run(scen, systems=systems, store=tmp_path / "r", keep_paths=keep, chunk_paths=25_000)

    few_run, many_run = run(1_000), run(25_000)
    few, many = few_run.layout, many_run.layout
    p = few_run.plan()
    n_sys = len(p.t_dl) + len(p.t_pre)
    assert few.paths == many.paths
    extra = many.bytes_in_memory(2, n_sys) - few.bytes_in_memory(2, n_sys)
    assert extra == pytest.approx(24_000 * 4 * len(p.times) * 2)
    # far below what a (chunk, time) float64 array per chunk in flight would take
    assert few.bytes_in_memory(2, n_sys) < budget.BASE_MEMORY + 25_000 * 8 * len(p.times)


def test_project_is_a_deprecated_alias_of_run(make_scenario: Callable[..., Path]) -> None:
    import projector

    path = make_scenario(paths=50)
    with pytest.warns(DeprecationWarning, match="use projector.run"):
        old = projector.project(path, changes={"seed": 4})
    new = projector.run(path, changes={"seed": 4})
    for name in ("log10_compute", "crossing_year", "growth_dl"):
        np.testing.assert_array_equal(old[name].values, new[name].values)


def test_a_user_opens_a_store_with_plain_xarray_without_a_warning(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    """The finished store's metadata is consolidated: ``xr.open_zarr`` is quiet (issue 24)."""
    out = tmp_path / "r"
    assert main(["project", str(make_scenario(paths=200)), "--out", str(out), "--quiet"]) == 0
    # filterwarnings = error: the unconsolidated-metadata RuntimeWarning would fail here
    ds = xr.open_zarr(str(out / store.STORE_NAME))
    assert ds.attrs["complete"] is True
    xr.testing.assert_identical(ds.load(), store.open_result(out).load())
