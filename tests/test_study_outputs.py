"""Issue 24: the counts and ledger commands never replace a folder of the user's files or
a result of another kind (the same rule as every other command's --out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from projector.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["counts", "default", "--paths", "100"],
        [
            "counts",
            "default",
            "--backtest",
            "--cutoffs",
            "2020-01-01",
            "--horizons",
            "1",
            "--paths",
            "100",
        ],
        ["ledger", "--paths", "50"],
    ],
    ids=["counts", "counts-backtest", "ledger"],
)
def test_an_out_folder_of_user_files_is_refused_and_kept(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.txt" in err
    assert (out / "notes.txt").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == [
        "notes.txt"
    ]


def test_a_counts_result_is_not_replaced_by_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c"
    assert main(["counts", "default", "--paths", "100", "--out", str(out), "--quiet"]) == 0
    assert main(["counts", "default", "--paths", "100", "--out", str(out), "--quiet"]) == 0
    assert main(["ledger", "--paths", "50", "--out", str(out), "--quiet"]) == 2
    assert "holds a counts result" in capsys.readouterr().err
    assert (out / "counts.nc").is_file()
