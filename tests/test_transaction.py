"""result_transaction: old result or new one, never a mix; locks; killed runs cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from projector.errors import InputError, Interrupted, ResourceError
from projector.pipeline import transaction
from projector.pipeline.transaction import result_transaction, temporaries_of

from .conftest import REPO


def _old_result(target: Path) -> None:
    target.mkdir(parents=True)
    (target / "a.txt").write_text("old a")
    (target / "b.txt").write_text("old b")


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _beside(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir())


def test_new_target_is_created_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "res"
    with result_transaction(target) as tmp:
        assert tmp.parent == target.parent and tmp.is_dir() and not any(tmp.iterdir())
        assert not target.exists()
        (tmp / "a.txt").write_text("new a")
    assert _contents(target) == {"a.txt": "new a"}
    assert _beside(target) == ["res"]


@pytest.mark.parametrize("atomic_exchange", [True, False])
def test_old_result_is_replaced_as_a_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atomic_exchange: bool
) -> None:
    if not atomic_exchange:
        monkeypatch.setattr(transaction, "exchange", lambda a, b: False)
    target = tmp_path / "res"
    _old_result(target)
    with result_transaction(target) as tmp:
        (tmp / "a.txt").write_text("new a")
        assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}  # intact until the swap
    assert _contents(target) == {"a.txt": "new a"}  # b.txt of the old result is gone
    assert _beside(target) == ["res"]


def test_exception_keeps_the_old_result(tmp_path: Path) -> None:
    target = tmp_path / "res"
    _old_result(target)
    with pytest.raises(RuntimeError, match="boom"), result_transaction(target) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    assert _beside(target) == ["res"]


def test_failure_removes_the_folders_it_created(tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "res"
    with pytest.raises(RuntimeError), result_transaction(target):
        raise RuntimeError("boom")
    assert not (tmp_path / "x").exists()


def test_swallowed_signal_still_aborts(tmp_path: Path) -> None:
    from projector.cli.signals import interrupts_raise

    target = tmp_path / "res"
    _old_result(target)
    with pytest.raises(Interrupted) as info, interrupts_raise(), result_transaction(target) as tmp:
        (tmp / "a.txt").write_text("new a")
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Interrupted:
            pass  # a library that swallows it must not make the run commit
    assert info.value.signum == signal.SIGTERM
    assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    assert _beside(target) == ["res"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler restored


@pytest.mark.parametrize("kind", ["file", "symlink", "fifo", "dangling"])
def test_target_that_is_not_a_folder_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "res"
    if kind == "file":
        target.write_text("keep me")
    elif kind == "symlink":
        (tmp_path / "real").mkdir()
        target.symlink_to(tmp_path / "real")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(tmp_path / "nowhere")
    before = os.lstat(target)
    with pytest.raises(InputError, match="not a plain folder"), result_transaction(target):
        pass
    assert os.lstat(target) == before


def test_leftovers_of_killed_runs_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "res"
    _old_result(target)
    stale = tmp_path / ".res.tmp-99999-abcd"
    stale.mkdir()
    (stale / "projection.nc").write_bytes(b"\0" * 100)
    (tmp_path / ".res.old-99999-abcd").mkdir()
    (tmp_path / "other").mkdir()  # not ours: kept
    assert len(temporaries_of(target)) == 2
    with result_transaction(target) as tmp:
        assert temporaries_of(target) == [tmp]
        (tmp / "a.txt").write_text("new")
    assert _beside(target) == ["other", "res"]


def test_result_set_aside_by_a_crash_is_put_back(tmp_path: Path) -> None:
    target = tmp_path / "res"
    _old_result(tmp_path / ".res.old-1-ab")  # the fallback's crash window: target missing
    with pytest.raises(RuntimeError), result_transaction(target):
        raise RuntimeError("boom")
    assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    assert _beside(target) == ["res"]


_CHILD = textwrap.dedent(
    """
    import contextlib, sys, time
    from pathlib import Path
    from projector.cli.signals import interrupts_raise
    from projector.errors import Interrupted
    from projector.pipeline.transaction import result_transaction

    target = Path(sys.argv[1])
    # "cli": the command line's handlers; "plain": a library user's process, untouched
    handlers = interrupts_raise() if sys.argv[2] == "cli" else contextlib.nullcontext()
    try:
        with handlers, result_transaction(target, wait=0) as tmp:
            (tmp / "a.txt").write_text("new a")
            with (tmp / "big.part").open("wb") as fh:
                fh.write(b"x" * 1_000_000)
                fh.flush()
                print("ready", flush=True)
                sys.stdin.readline()  # hold the transaction open until told
    except Interrupted as exc:
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:  # Python's own SIGINT handler
        sys.exit(130)
    """
)


def _child(target: Path, handlers: str = "cli") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(target), handlers],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize(
    ("sig", "handlers"),
    [
        (signal.SIGKILL, "plain"),
        (signal.SIGTERM, "cli"),
        (signal.SIGINT, "cli"),
        (signal.SIGINT, "plain"),  # no handler of ours: KeyboardInterrupt, try/finally
    ],
)
def test_signal_mid_write_keeps_the_old_result(tmp_path: Path, sig: int, handlers: str) -> None:
    target = tmp_path / "res"
    _old_result(target)
    proc = _child(target, handlers)
    assert len(temporaries_of(target)) == 1  # it is writing beside the target
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.stdout is not None
    proc.stdout.close()
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 128 + sig)
    assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    if sig != signal.SIGKILL:
        assert _beside(target) == ["res"]  # it cleaned up after itself
    with result_transaction(target) as tmp:  # the next run removes what kill -9 left
        (tmp / "a.txt").write_text("next")
    assert _beside(target) == ["res"]
    assert _contents(target) == {"a.txt": "next"}


def test_second_run_on_the_same_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "res"
    _old_result(target)
    proc = _child(target)
    try:
        with pytest.raises(ResourceError, match="another projector run"):
            with result_transaction(target, wait=0.2):
                pytest.fail("entered a locked transaction")
        assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    finally:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stdout is not None
        proc.stdout.close()
    assert (target / "big.part").stat().st_size == 1_000_000
    assert _beside(target) == ["res"]


def test_the_lock_of_a_killed_run_is_released(tmp_path: Path) -> None:
    target = tmp_path / "res"
    proc = _child(target)
    proc.kill()
    proc.wait(timeout=60)
    for stream in (proc.stdin, proc.stdout):
        assert stream is not None
        stream.close()
    with result_transaction(target, wait=0) as tmp:
        (tmp / "a.txt").write_text("after")
    assert _contents(target) == {"a.txt": "after"}
    assert _beside(target) == ["res"]


def test_signal_swallowed_before_the_transaction_still_aborts_it(tmp_path: Path) -> None:
    """E.g. Ctrl-C while the cube is encoded, swallowed by a library: no commit, no exit 0."""
    from projector.cli.signals import interrupts_raise

    target = tmp_path / "res"
    _old_result(target)
    with interrupts_raise(), pytest.raises(Interrupted):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except Interrupted:
            pass  # swallowed
        with result_transaction(target) as tmp:
            (tmp / "a.txt").write_text("new a")
    assert _contents(target) == {"a.txt": "old a", "b.txt": "old b"}
    assert _beside(target) == ["res"]


def test_the_library_installs_no_signal_handler(tmp_path: Path) -> None:
    """A notebook's Ctrl-C stays its own: transactions, single files and a whole run."""
    import projector
    from projector.pipeline.fileio import atomic_path

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    seen: list[object] = []
    try:
        signal.signal(signal.SIGTERM, mine)
        with result_transaction(tmp_path / "res") as tmp:
            seen.append(signal.getsignal(signal.SIGTERM))
            (tmp / "a.txt").write_text("a")
        with atomic_path(tmp_path / "f.txt") as tmp_file:
            seen.append(signal.getsignal(signal.SIGTERM))
            tmp_file.write_text("f")
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        with pytest.deprecated_call():  # pj.project: the deprecated alias of pj.run
            projector.project("default", paths=200, store=tmp_path / "run")
        assert {s: signal.getsignal(s) for s in handlers} == handlers
        assert seen == [mine, mine]
    finally:
        for s, h in before.items():
            signal.signal(s, h)
