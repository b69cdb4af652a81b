"""Hostile environments: closed or full streams, odd encodings, bad environment values.

Each gets one line on stderr (when there is a stderr) and its documented status, never a
traceback (issue 24's third corpus).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(
    *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "projector", *args], env=full, timeout=120, **kw
    )


def _no_traceback(err: bytes) -> None:
    assert b"Traceback" not in err, err.decode()


def test_stdout_closed_is_one_line_status_3() -> None:
    proc = _run(
        "data",
        "list",
        stdout=None,
        stderr=subprocess.PIPE,
        close_fds=True,
        preexec_fn=lambda: os.close(1),
    )
    _no_traceback(proc.stderr)
    assert proc.returncode == 3
    lines = proc.stderr.decode().strip().splitlines()
    assert lines == [lines[0]] and "standard output is closed" in lines[0]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_stdout_full_is_one_line_status_3() -> None:
    with open("/dev/full", "wb") as full:
        proc = _run("data", "list", stdout=full, stderr=subprocess.PIPE)
    _no_traceback(proc.stderr)
    assert proc.returncode == 3
    message = proc.stderr.decode().strip()
    assert message.startswith("projector: standard output:") and "\n" not in message


def test_stderr_closed_bad_input_still_exits_2() -> None:
    proc = _run(
        "validate",
        "no-such-scenario",
        stdout=subprocess.PIPE,
        stderr=None,
        preexec_fn=lambda: os.close(2),
    )
    assert proc.returncode == 2


def test_ascii_output_encoding_escapes_marks() -> None:
    proc = _run("data", "list", env={"PYTHONIOENCODING": "ascii"}, capture_output=True)
    _no_traceback(proc.stderr)
    assert proc.returncode == 0
    proc.stdout.decode("ascii")  # every byte is ASCII


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_bad_lock_wait_is_input_error(value: str, tmp_path: object) -> None:
    proc = _run(
        "project",
        "default",
        "--paths",
        "100",
        "--quiet",
        "--out",
        str(tmp_path),
        env={"PROJECTOR_LOCK_WAIT": value},
        capture_output=True,
    )
    _no_traceback(proc.stderr)
    assert proc.returncode == 2
    assert "PROJECTOR_LOCK_WAIT" in proc.stderr.decode().strip().splitlines()[-1]
