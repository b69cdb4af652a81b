"""Executors: serial, threaded and Dask runs write the same bits; bad clusters fail fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from projector.cli.app import main
from projector.errors import InputError
from projector.pipeline import store
from projector.pipeline.executors import SerialExecutor, chunk_size, connect, threads
from projector.pipeline.run import Run


def _run(scen_path: Path, folder: Path, client: object = None, chunk: int = 1000) -> Path:
    Run(scen_path, store=folder, client=client, chunk_paths=chunk).execute()
    return folder / store.STORE_NAME


def _assert_same_store(a: Path, b: Path) -> None:
    x, y = store.open_result(a), store.open_result(b)
    assert set(x.data_vars) == set(y.data_vars)
    for name in x.data_vars:
        np.testing.assert_array_equal(x[name].values, y[name].values, err_msg=str(name))
    # the chunk files themselves are byte-identical
    for f in sorted(a.rglob("c/*")):
        if f.is_file():
            assert f.read_bytes() == (b / f.relative_to(a)).read_bytes(), f


def test_chunk_size_is_a_multiple_of_the_rng_block() -> None:
    assert chunk_size(10_000_000) == 25_000
    assert chunk_size(2_500, 1_700) == 1_000
    assert chunk_size(300) == 300
    assert chunk_size(5_000, 7) == 7


def test_serial_threads_and_background_writer_agree(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    scen = make_scenario(paths=3500)
    ref = _run(scen, tmp_path / "serial", SerialExecutor())
    _assert_same_store(ref, _run(scen, tmp_path / "writer"))  # compute thread + writer
    with threads(2) as pool:
        _assert_same_store(ref, _run(scen, tmp_path / "threads", pool))


def test_local_dask_cluster_gives_identical_store(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    scen = make_scenario(paths=2500)
    ref = _run(scen, tmp_path / "serial", SerialExecutor())
    with connect(workers=2) as client:
        _assert_same_store(ref, _run(scen, tmp_path / "dask", client))


def test_unreachable_scheduler_is_one_line_not_a_hang(
    make_scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InputError, match=r"connection refused \(no Dask scheduler listens"):
        with connect(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    out = tmp_path / "out"
    argv = ["project", str(make_scenario()), "--out", str(out), "--scheduler",
            "tcp://127.0.0.1:9", "--timeout", "1"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("projector: --scheduler tcp://127.0.0.1:9: connection refused")
    assert err.count("\n") == 1
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
