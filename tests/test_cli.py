"""The command line end to end: outputs, exit status 2 on bad input, no leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from projector.cli.app import main

from .conftest import REPO, SNAPSHOT_2022


def test_project_writes_cube_and_summaries(
    make_scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "res"
    assert (
        main(
            [
                "project",
                str(make_scenario()),
                "--paths",
                "150",
                "--out",
                str(out),
                "--quiet",
                "--plot",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "fan_chart.png",
        "projection.zarr",
        "summary.csv",
        "summary.md",
    ]
    assert main(["summary", str(out)]) == 0
    assert "anchors passed by median" in capsys.readouterr().out
    assert main(["summary", str(out / "projection.zarr"), "--csv"]) == 0
    assert capsys.readouterr().out.startswith(
        "section,subject,year,statistic,value,mcse,quotable,paths_needed"
    )
    png = tmp_path / "chart.png"
    assert main(["plot", str(out), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    # the summaries on disk are the ones rebuilt from the store
    assert (out / "summary.md").read_text() + "\n" == _stdout_of(["summary", str(out)], capsys)


def _stdout_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_overrides_are_recorded(make_scenario: Callable[..., Path], tmp_path: Path) -> None:
    from projector.pipeline.store import open_result

    out = tmp_path / "res"
    assert (
        main(
            [
                "project",
                str(make_scenario()),
                "--paths",
                "40",
                "--seed",
                "99",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    ds = open_result(out)
    assert ds.sizes["path"] == 40 and ds.attrs["seed"] == 99


def test_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "epoch-2022", "default"]) == 0
    out = capsys.readouterr().out
    assert "epoch-2022.toml: ok" in out and "default.toml: ok" in out
    assert "ceilings:" not in out
    assert main(["validate", "constrained"]) == 0
    assert "  ceilings: clip, table constraints.csv (" in capsys.readouterr().out


BAD = [
    (["project", "no-such-scenario"], "no such scenario"),
    (["project", "{bad_toml}"], "not valid TOML"),
    (["project", "{bad_value}"], "key 'paths' must be an integer"),
    (["project", "{good}", "--dataset", "{missing}"], "--dataset"),
    (["project", "{good}", "--dataset", "{malformed}"], "line 2: column"),
    (["project", "{good}", "--dataset", "{empty_era}"], "pre-Deep-Learning era"),
    (["project", "{good}", "--paths", "0"], "argument --paths: expected a number >= 1"),
    (["project", "{good}", "--seed", "x"], "argument --seed"),
    (["project"], "required: scenario"),
    (["frobnicate"], "invalid choice"),
    (["summary", "{missing}"], "no such result file"),
    (["plot", "{bad_toml}"], "not a readable NetCDF"),
    (["project", "{good}", "--workers", "0"], "argument --workers: expected a number >= 1"),
    (["project", "{good}", "--paths", "20000000"], "key 'paths' must be an integer in"),
    (["project", "{good}", "--set", "growth.speed=3"], "--set growth.speed: unknown key"),
    (["sweep", "{good}", "--set", "growth.speed=1,2"], "--set growth.speed: unknown key"),
    (["sweep", "{good}", "--set", "seed=1,x"], "key 'seed' must be an integer"),
    (["export", "{missing}", "{missing}"], "no such result file"),
    # ceilings (issue 20): a mode that does not exist, and three bad constraints tables
    (["project", "{good}", "--set", "ceilings.mode=squash"], "key 'mode' must be one of 'off'"),
    (
        [
            "validate",
            "{good}",
            "--set",
            "ceilings.mode=report",
            "--set",
            "ceilings.table={unknown}",
        ],
        "unknown constraint 'power_grid'",
    ),
    (
        ["project", "{good}", "--set", "ceilings.mode=clip", "--set", "ceilings.table={neg_range}"],
        "line 3: column 'low': must be a finite number > 0, got '-1.0e8'",
    ),
    (
        ["project", "{good}", "--set", "ceilings.mode=clip", "--set", "ceilings.table={unknown}"],
        "line 3: column 'constraint': unknown constraint 'power_grid'",
    ),
    (
        ["project", "{good}", "--set", "ceilings.mode=clip", "--set", "ceilings.table={no_source}"],
        "line 3: column 'source_url': every row needs its source's http(s) URL",
    ),
]


@pytest.fixture
def bad_inputs(make_scenario: Callable[..., Path], tmp_path: Path) -> dict[str, str]:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("name = [\n")
    bad_value = tmp_path / "badval.toml"
    bad_value.write_text('name = "v"\nextends = "default"\npaths = "many"\n')
    malformed = tmp_path / "malformed.csv"
    malformed.write_text("system,publication_date,training_compute_flop\nA,2020-01-01,lots\n")
    empty_era = tmp_path / "dl-only.csv"
    empty_era.write_text(
        "system,publication_date,training_compute_flop\n"
        "A,2012-01-01,1e18\nB,2014-01-01,1e19\nC,2016-01-01,1e20\n"
    )
    from projector.inputs.constraints import _bundled

    table = _bundled()[0].decode().splitlines()
    tables = {
        "neg_range": table[2].replace("1.0e8,1.0e8", "-1.0e8,1.0e8", 1),
        "unknown": table[2].replace("power_run", "power_grid", 1),
        "no_source": table[2].replace("https://", "see ", 1),
    }
    for key, line in tables.items():
        (tmp_path / f"{key}.csv").write_text("\n".join([*table[:2], line, *table[3:]]) + "\n")
    return {
        **{key: str(tmp_path / f"{key}.csv") for key in tables},
        "bad_toml": str(bad_toml),
        "bad_value": str(bad_value),
        "good": str(make_scenario()),
        "missing": str(tmp_path / "missing.csv"),
        "malformed": str(malformed),
        "empty_era": str(empty_era),
    }


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    argv: list[str],
    message: str,
    bad_inputs: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    args = [a.format(**bad_inputs) for a in argv]
    if args[0] in ("project", "sweep") and len(args) > 1:
        args += ["--out", str(out)]
    code = _invoke(args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]


def _invoke(args: list[str]) -> int | str | None:
    """main()'s status; argparse's own errors arrive as SystemExit."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


def _run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "projector", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_subprocess_bad_input_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\nextends = "default"\n[growth]\nmoore_units = "fast"\n')
    proc = _run_cli("project", str(bad), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"projector: {bad}: key 'moore_units' must be one of")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_subprocess_default_scenario_small(tmp_path: Path) -> None:
    proc = _run_cli("project", "default", "--paths", "300", "--out", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    assert "## log10 training compute" in proc.stdout
    assert (tmp_path / "d" / "projection.zarr" / "zarr.json").is_file()


@pytest.mark.skipif(not SNAPSHOT_2022.is_file(), reason="../shared/data is absent")
def test_epoch_2022_on_the_2022_snapshot(tmp_path: Path) -> None:
    from projector.pipeline.store import open_result

    from .conftest import compute_summary

    out = tmp_path / "e"
    assert (
        main(
            ["project", "epoch-2022", "--dataset", str(SNAPSHOT_2022), "--out", str(out), "--quiet"]
        )
        == 0
    )
    ds = open_result(out)
    assert ds.attrs["n_systems_pre_dl"] + ds.attrs["n_systems_dl"] == 124
    assert "Megatron-Turing NLG 530B" in ds.attrs["start_compute_source"]
    assert ds.sizes["path"] == 10_000
    medians = {r["year"]: r["q0.5"] for r in compute_summary(ds)}
    # Sanity bounds; test_replication pins this run against the published Table 1.
    assert 27.5 < medians[2030] < 30 and medians[2030] < medians[2040] < medians[2080]


def test_summary_into_a_closed_pipe_is_quiet(
    make_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "res"
    assert main(["project", str(make_scenario()), "--out", str(out), "--quiet"]) == 0
    proc = subprocess.run(
        # `true` exits at once, so every write meets a closed pipe (as `| head` does later)
        f"{sys.executable} -m projector summary {out} --csv | true; "
        f"{sys.executable} -m projector summary {out} --csv | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    assert proc.stdout.startswith("section,")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
