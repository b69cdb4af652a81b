"""Damaged stores are refused, never summarised; pairs of commands do not mix (issue 24).

Every kind of damage (a deleted, truncated or overwritten chunk, a cut ``zarr.json``, a
changed dtype, a leftover temporary in the store) is refused by every reader command in
one line naming the store and the file, exit status 2. The pair cases synchronise by
running the competing step inside the first one (a patched stage), never by sleeping.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projector.cli import main
from projector.errors import InputError, Interrupted, ResourceError
from projector.pipeline import checksums
from projector.pipeline.store import open_result
from projector.pipeline.transaction import commit_checks, locked

PATHS = "400"


def _project(out: Path, *extra: str) -> Path:
    args = ["project", "default", "--paths", PATHS, "--seed", "3", "--out", str(out), "--quiet"]
    assert main([*args, *extra]) == 0
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("results")
    sweep = root / "sweep"
    args = ["sweep", "default", "--set", "seed=1,2", "--paths", "300", "--out", str(sweep)]
    assert main([*args, "--quiet"]) == 0
    return {
        "good": _project(root / "good"),
        "k0": _project(root / "k0", "--keep-paths", "0"),
        "sweep": sweep,
    }


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _store(folder: Path) -> Path:
    return folder / "projection.zarr"


def _delete(folder: Path) -> str:
    (_store(folder) / "crossing_year/c/0/0").unlink()
    return "crossing_year/c/0/0"


def _truncate(folder: Path) -> str:
    f = _store(folder) / "log10_compute_yearly/c/0/0"
    os.truncate(f, f.stat().st_size // 2)
    return "log10_compute_yearly/c/0/0"


def _overwrite(folder: Path) -> str:
    f = _store(folder) / "crossing_year/c/0/0"
    f.write_bytes(np.random.default_rng(0).bytes(f.stat().st_size))
    return "crossing_year/c/0/0"


def _cut_metadata(folder: Path) -> str:
    f = _store(folder) / "zarr.json"
    f.write_bytes(f.read_bytes()[:200])
    return "zarr.json"


def _change_dtype(folder: Path) -> str:
    f = _store(folder) / "crossing_year/zarr.json"
    text = f.read_text()
    assert '"float64"' in text
    f.write_text(text.replace('"float64"', '"float32"'))  # same size: only the digest differs
    return "crossing_year/zarr.json"


def _leftover_part(folder: Path) -> str:
    name = "crossing_year/c/0/0.3f2a9c1e.partial"  # what Zarr writes before its rename
    (_store(folder) / name).write_bytes(b"\0" * 64)
    return name


DAMAGE = {
    "deleted chunk": _delete,
    "truncated chunk": _truncate,
    "overwritten chunk": _overwrite,
    "cut zarr.json": _cut_metadata,
    "changed dtype": _change_dtype,
    "leftover .part": _leftover_part,
}


def _reader_args(command: str, result: Path, good: Path, out: Path) -> list[str]:
    return {
        "summary": ["summary", str(result)],
        "export": ["export", str(result), str(out / "x.nc")],
        "plot": ["plot", str(result), "--out", str(out / "x.png")],
        "compare": ["compare", str(good), str(result), "--out", str(out / "cmp"), "--quiet"],
        "report": ["report", str(result), "--out", str(out / "x.html")],
    }[command]


@pytest.mark.parametrize("command", ["summary", "export", "plot", "compare", "report"])
@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_every_reader_refuses_every_damage_in_one_line(
    results: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    command: str,
) -> None:
    result = _copy(results["good"], tmp_path / "damaged")
    key = DAMAGE[kind](result)
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    status = main(_reader_args(command, result, results["good"], out))
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("projector: ")
    assert str(result / "projection.zarr") in err and "damaged result store" in err
    assert key in err
    assert list(out.iterdir()) == []  # nothing written from it


def test_a_killed_writers_part_file_in_the_folder_is_harmless(
    results: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``.part`` of a killed ``report`` beside the store: readers read, a run replaces."""
    result = _copy(results["good"], tmp_path / "r")
    (result / ".report.html.999999.k2x_ab9q.part").write_text("<html")
    assert main(["summary", str(result)]) == 0
    _project(result, "--force", "--seed", "4")
    assert not (result / ".report.html.999999.k2x_ab9q.part").exists()


def test_a_store_without_its_record_is_refused_one_from_before_checksums_warns(
    results: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = _copy(results["good"], tmp_path / "cut")
    shutil.rmtree(_store(cut) / checksums.RECORD_GROUP)
    capsys.readouterr()
    assert main(["summary", str(cut)]) == 2
    assert "checksum record checksums/zarr.json is missing" in capsys.readouterr().err

    old = _copy(cut, tmp_path / "old")  # as an older projector wrote it: no attribute
    meta_path = _store(old) / "zarr.json"
    meta = json.loads(meta_path.read_text())
    del meta["attributes"][checksums.ATTRIBUTE]
    meta_path.write_text(json.dumps(meta))
    assert main(["summary", str(old)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "projector: warning:" in err and "before projector" in err
    with pytest.warns(checksums.UncheckedStoreWarning):
        open_result(old).close()


def test_open_result_refuses_a_chunk_damaged_after_it_was_opened(
    results: dict[str, Path], tmp_path: Path
) -> None:
    """The kept full paths are checked as they are read (they may be gigabytes)."""
    result = _copy(results["good"], tmp_path / "r")
    ds = open_result(result)
    f = _store(result) / "log10_compute/c/0/0"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(InputError, match="array 'log10_compute', chunk file log10_compute/c"):
        ds["log10_compute"].values  # noqa: B018


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_flipped_byte_anywhere_is_never_read_back(
    results: dict[str, Path], tmp_path: Path, data: st.DataObject
) -> None:
    """A property: whichever file of the store and whichever byte, the damage is refused
    (on open or on reading), never returned as numbers."""
    good = _store(results["good"])
    record = checksums.read_record(good)
    assert record is not None
    keys = sorted(record)
    key = data.draw(st.sampled_from(keys))
    offset = data.draw(st.integers(0, record[key][0] - 1))
    target = tmp_path / f"flip-{len(list(tmp_path.iterdir()))}"
    result = _copy(results["good"], target)
    f = _store(result) / key
    raw = bytearray(f.read_bytes())
    raw[offset] ^= 0x01
    f.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="damaged result store"):
        open_result(result).load()


def test_summary_reads_every_export(
    results: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("good", "k0", "sweep"):
        nc = tmp_path / f"{name}.nc"
        assert main(["export", str(results[name]), str(nc)]) == 0
        capsys.readouterr()
        assert main(["summary", str(nc)]) == 0
        capsys.readouterr()
        assert main(["summary", str(results[name])]) == 0
        from_store = capsys.readouterr().out
        main(["summary", str(nc)])
        assert capsys.readouterr().out == from_store  # the same tables from either


@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_of_a_sweep_say_what_reads_it(
    results: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = tmp_path / ("x.png" if command == "plot" else "x.html")
    sweep = results["sweep"]
    for given_path in (sweep, tmp_path / "sweep.nc"):
        if given_path.suffix == ".nc":
            assert main(["export", str(sweep), str(given_path)]) == 0
        capsys.readouterr()
        assert main([command, str(given_path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a sweep result (2 variants)" in err
        assert f"projector {command}" in err and "projector summary" in err
        assert not out.exists()


def test_export_interrupted_at_the_end_keeps_the_older_file(
    results: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nc = tmp_path / "out.nc"
    assert main(["export", str(results["k0"]), str(nc)]) == 0
    before = nc.read_bytes()

    def term() -> None:  # the signal arrives when the new file is written, before the rename
        raise Interrupted(signal.SIGTERM)

    with commit_checks(term):
        assert main(["export", str(results["good"]), str(nc)]) == 128 + signal.SIGTERM
    assert nc.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]  # no .part left
    assert main(["export", str(results["good"]), str(nc)]) == 0
    capsys.readouterr()
    assert main(["summary", str(nc)]) == 0


def _fake_build(during=None):  # type: ignore[no-untyped-def]
    """A stand-in for the report's build stage (the slow figures), running ``during``."""

    def build(datasets, extras=None):  # type: ignore[no-untyped-def]
        seed = datasets[0].attrs["seed"]
        if during is not None:
            during()
        return f"# report of seed {seed}\n", f"<html>seed {seed}</html>"

    return build


def test_report_while_the_folder_is_replaced_writes_nothing(
    results: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from projector.pipeline.run import Run
    from projector.render import document

    folder = _copy(results["good"], tmp_path / "r")

    def replace() -> None:  # project --force of another seed, while the report is built
        Run("default", paths=int(PATHS), seed=11, store=folder, force=True).execute()

    monkeypatch.setattr(document, "build", _fake_build(replace))
    capsys.readouterr()
    assert main(["report", str(folder)]) == 3
    err = capsys.readouterr().err
    assert "replaced by another run while the report was being built" in err
    assert not (folder / "report.html").exists() and not (folder / "report.md").exists()
    assert open_result(folder).attrs["seed"] == 11


def test_reading_a_store_swapped_under_it_is_refused(
    results: dict[str, Path], tmp_path: Path
) -> None:
    from projector.pipeline.run import Run

    folder = _copy(results["good"], tmp_path / "r")
    ds = open_result(folder)
    Run("default", paths=int(PATHS), seed=12, store=folder, force=True).execute()
    with pytest.raises(ResourceError, match="replaced by another run while it was being read"):
        ds["crossing_year"].values  # noqa: B018


def test_report_waits_for_the_folders_lock(
    results: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from projector.render import document

    folder = _copy(results["good"], tmp_path / "r")
    monkeypatch.setattr(document, "build", _fake_build())
    monkeypatch.setenv("PROJECTOR_LOCK_WAIT", "0")
    with locked(folder):  # as a run replacing the folder holds it
        capsys.readouterr()
        assert main(["report", str(folder)]) == 3
    assert "another projector run is writing this result" in capsys.readouterr().err
    assert not (folder / "report.html").exists()
    assert main(["report", str(folder)]) == 0
    assert (folder / "report.md").read_text() == "# report of seed 3\n"


def test_a_failed_rename_of_the_twin_keeps_both_old_files(
    results: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from projector.render import document

    folder = _copy(results["good"], tmp_path / "r")
    (folder / "report.html").write_text("old html")
    (folder / "report.md").write_text("old md")
    monkeypatch.setattr(document, "build", _fake_build())
    real = os.replace

    def flaky(src: str | Path, dst: str | Path) -> None:
        if str(dst).endswith("report.md"):
            raise OSError(errno.EIO, "injected failure", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    capsys.readouterr()
    assert main(["report", str(folder)]) == 3
    monkeypatch.setattr(os, "replace", real)
    assert (folder / "report.html").read_text() == "old html"
    assert (folder / "report.md").read_text() == "old md"
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")]
    assert main(["report", str(folder)]) == 0
    assert (folder / "report.html").read_text() == "<html>seed 3</html>"


def test_the_record_lists_exactly_the_files_written(results: dict[str, Path]) -> None:
    store = _store(results["good"])
    record = checksums.read_record(store)
    assert record is not None
    on_disk = sorted(
        p.relative_to(store).as_posix()
        for p in store.rglob("*")
        if p.is_file() and p.relative_to(store).as_posix() != checksums.RECORD_KEY
    )
    assert sorted(record) == on_disk
    for key, (size, digest) in record.items():
        assert ((store / key).stat().st_size, checksums._digest_file(store / key)[1]) == (
            size,
            digest,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_result(results["good"]).load()  # a good store opens quietly
