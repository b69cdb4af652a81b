"""The README's commands, run as a newcomer runs them: every fenced ``sh`` block, in order,
in a temporary copy of the clone, each command depending only on the ones before it.

How it runs (so the README cannot drift from the code):

* The copy holds the clone's tracked and untracked-but-not-ignored files as they are in
  the working tree (uncommitted edits included), and a symlink to its ``.venv``, with
  ``pyproject.toml`` dated back so that ``make install`` finds the venv up to date and
  installs nothing; the venv's ``bin`` is first on PATH.
* Each block runs in ``bash -e -o pipefail`` from the copy's root: any command that exits
  non-zero fails the test, naming the block and its first line.
* Sizes are cut, not the commands: ``--paths N`` above :data:`PATHS` becomes ``--paths
  200`` and ``--samples N`` becomes ``--samples 8`` (the folders a command writes do not
  depend on either when the README names them with ``--out``, or when ``--paths`` is given
  at all: such a run writes ``results/<name>-<hash>/`` either way). Commands without
  ``--paths`` run at the scenario's own paths (10,000), as a newcomer's do.
* Blocks that cannot run on a fresh clone (``../shared`` data, a Dask scheduler, installing
  torch, the test suite itself) are ``text`` blocks in the README, not ``sh``.

The run is marked slow (several minutes on two cores; ``make test-all`` and ``.ci/run``
run it, the latter after ``make test``); the check of the blocks themselves is fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: ``--paths`` above this is cut to it; ``--samples`` is cut to :data:`SAMPLES`.
PATHS = 200
SAMPLES = 8


def sh_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, body) of every fenced block whose info string is exactly ``sh``."""
    blocks, body, start = [], None, 0
    for n, line in enumerate(text.splitlines(), start=1):
        if body is None and line.strip() == "```sh":
            body, start = [], n
        elif body is not None and line.strip() == "```":
            blocks.append((start, "\n".join(body) + "\n"))
            body = None
        elif body is not None:
            body.append(line)
    assert body is None, f"README.md: the sh block at line {start} is not closed"
    return blocks


def small(command: str) -> str:
    """The block with its ``--paths`` and ``--samples`` cut (module docstring)."""
    command = re.sub(r"--paths (\d+)", lambda m: f"--paths {min(int(m.group(1)), PATHS)}", command)
    return re.sub(r"--samples (\d+)", f"--samples {SAMPLES}", command)


def test_sh_blocks_are_found_and_cut() -> None:
    text = (
        "a\n```sh\nx --paths 100000 --samples 64\n```\n```text\ny\n```\n```sh\nz --paths 50\n```\n"
    )
    blocks = sh_blocks(text)
    assert [n for n, _ in blocks] == [2, 8]
    assert small(blocks[0][1]) == f"x --paths {PATHS} --samples {SAMPLES}\n"
    assert small(blocks[1][1]) == "z --paths 50\n"
    # every sh block of the README is run; nothing it needs comes from outside the clone
    readme = sh_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(readme) >= 5
    for n, body in readme:
        assert "../shared" not in body, f"README.md line {n}: an sh block reads ../shared"
        assert ".venv/bin/projector" not in body, f"README.md line {n}: use bare projector"


def _copy_clone(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        src = REPO / name
        if not src.is_file():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    (dest / ".venv").symlink_to(REPO / ".venv")
    os.utime(dest / "pyproject.toml", (0, 0))  # make install: the venv is up to date


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "projector").exists(), reason="no .venv")
def test_every_sh_block_of_the_readme_runs_in_order(tmp_path: Path) -> None:
    clone = tmp_path / "projector-clone"
    _copy_clone(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROJECTOR_")}
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    text = (clone / "README.md").read_text(encoding="utf-8")
    for line, body in sh_blocks(text):
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", small(body)],
            cwd=clone, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            first = body.strip().splitlines()[0]
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            pytest.fail(
                f"README.md, the sh block at line {line} ({first!r}) exited "
                f"{done.returncode}:\n{tail}"
            )
    # what the first ten minutes promise exists
    assert (clone / "results" / "default" / "report.html").is_file()
    assert (clone / "results" / "compare-12m" / "compare.md").is_file()
    assert sys.executable  # the venv this test runs in is the one the copy links
