"""``projector explore`` (issue 23): the command's bad input, the session without a page,
and the page in a real browser (Playwright driving Debian's Chromium): it loads offline,
a slider move redraws the figure and the table, and the saved TOML reproduces the
page's headline numbers through ``projector project``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from projector.cli import main
from projector.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- the command line, without a browser -----------------------------------------------


@pytest.mark.parametrize("bad", ["0", "65536", "abc", "-3"])
def test_a_bad_port_is_one_line_and_status_2(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["explore", "default", f"--port={bad}"])
    assert exit_.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert "--port" in line and "1 to 65535" in line


def test_without_the_extra_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "bokeh" or m.startswith("bokeh.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "bokeh", None)  # as if not installed
    assert main(["explore", "default"]) == 2
    assert capsys.readouterr().err == (
        "projector: projector explore and its page need the 'explore' extra: "
        "pip install 'projector[explore]'\n"
    )


def test_version_and_other_commands_do_not_import_bokeh() -> None:
    code = (
        "import sys\nfrom projector.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "main(['validate', 'default'])\n"
        "print('bokeh' in sys.modules, 'projector.explore.page' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_a_port_in_use_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bokeh")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["explore", "default", "--port", str(port), "--paths", "500"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--port {port}: already in use" in line


def test_a_bad_scenario_stops_before_the_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bokeh")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nextends = "default"\npaths = 0\n', encoding="utf-8")
    assert main(["explore", str(bad), "--port", str(_free_port())]) == 2
    assert "paths" in _one_line(capsys.readouterr().err)


# --- the session, without a page ------------------------------------------------------


def test_a_bad_value_leaves_the_session_as_it_was() -> None:
    from projector.explore.session import Session, headline

    s = Session("default", paths=1000)
    before, table = s.run, headline(s.summary)
    for key, value in [
        ("growth.moore_doubling_months", 5000.0),
        ("start.compute", "abc"),
        ("reversion.bearish.sd", -1.0),
        ("seed", "1.5"),
    ]:
        with pytest.raises(InputError):
            s.change(key, value)
        assert s.run is before and headline(s.summary) == table
    with pytest.raises(InputError):
        s.set_text("growth.no_such_key=3")
    s.change("reversion.bearish.weight", 0.5)
    values = s.values()
    assert values["reversion.bearish.weight"] == 0.5
    # the others share what is left in their proportions (0.20 : 0.05)
    assert values["reversion.middle.weight"] == pytest.approx(0.4)
    assert headline(s.summary) != table


def test_every_control_of_the_shipped_scenarios_reads_back() -> None:
    from projector.explore.session import controls, current_value
    from projector.inputs.scenario import load_scenario

    for name in ("default", "constrained", "epoch-2022", "other-families"):
        scen = load_scenario(name)
        for c in controls(scen):
            assert current_value(scen, c.key) == c.value, (name, c.key)
            if c.kind == "slider":
                assert c.low <= c.value <= c.high, (name, c.key)


def test_the_saved_scenario_runs_to_the_session_numbers(tmp_path: Path) -> None:
    from projector.explore.session import Session, headline
    from projector.model.summary import summarize
    from projector.pipeline.store import open_result

    s = Session("constrained", paths=1000)
    s.change("ceilings.budget_run", 2.5)
    s.change("anchors.genome.log10_flop", 31.5)
    s.change("data.dl_start", 2012.0)
    saved = s.save(tmp_path / "mine.toml")
    assert main(["project", str(saved), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert headline(summarize(open_result(tmp_path / "out"))) == headline(s.summary)
    with pytest.raises(InputError, match=r"\.toml"):
        s.save(tmp_path / "mine.txt")


# --- the page in a real browser -----------------------------------------------------------


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def _server(port: int, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    log = cwd / "server.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "projector", "explore", "default", "--port", str(port)],
            cwd=cwd,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _cells(page: object, table: str) -> list[list[str]]:
    rows = page.locator(f"#{table} tr")  # type: ignore[attr-defined]
    out = []
    for i in range(1, rows.count()):
        out.append([c.strip() for c in rows.nth(i).locator("td").all_inner_texts()])
    return out


def test_the_page_in_a_real_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the explore extra's test")
    pytest.importorskip("bokeh")
    from projector.explore.session import headline
    from projector.model.summary import summarize
    from projector.pipeline.store import open_result

    port = _free_port()
    local = f"http://127.0.0.1:{port}/"
    outside: list[str] = []
    with _server(port, tmp_path) as proc, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1800})

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if url.startswith(local) or url.startswith(f"ws://127.0.0.1:{port}/"):
                r.continue_()  # type: ignore[attr-defined]
            else:
                outside.append(url)
                r.abort()  # type: ignore[attr-defined]

        page.route("**/*", route)
        page.goto(local)
        page.wait_for_selector("#ok", timeout=60_000)
        assert "10,000 paths" in page.locator("#ok").inner_text()
        anchors, compute = _cells(page, "anchors"), _cells(page, "compute")
        fan = page.locator(".bk-Figure").first
        fan_before = fan.screenshot()

        # a bad value typed into a box: a message on the page, the server carries on
        box = page.locator(".bk-TextInput", has_text="Start compute").locator("input")
        box.fill("99")
        box.press("Enter")
        page.wait_for_selector("#error", timeout=30_000)
        assert "compute" in page.locator("#error").inner_text()
        assert proc.poll() is None

        # move the long-run doubling time's slider: drag its handle to the left
        slider = page.locator(".bk-Slider", has_text="Long-run doubling")
        handle = slider.locator(".noUi-handle")
        box_ = handle.bounding_box()
        assert box_ is not None
        x, y = box_["x"] + box_["width"] / 2, box_["y"] + box_["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - 40, y, steps=5)
        t0 = time.perf_counter()
        page.mouse.up()
        ok = page.locator("#ok")
        page.wait_for_selector("#ok[data-run='2']", timeout=120_000)
        seconds = time.perf_counter() - t0
        print(f"\nexplorer: slider move to updated page in {seconds * 1e3:.0f} ms "
              f"({ok.inner_text()})")  # fmt: skip
        assert int(ok.get_attribute("data-run") or 0) > 1
        after = _cells(page, "anchors")
        assert after != anchors and _cells(page, "compute") != compute
        assert fan.screenshot() != fan_before

        # save, and run the saved file
        target = tmp_path / "saved.toml"
        page.locator(".bk-TextInput", has_text="Save as").locator("input").fill(str(target))
        page.locator(".bk-TextInput", has_text="Save as").locator("input").press("Enter")
        page.locator(".bk-Button", has_text="Save scenario").locator("button").click()
        page.wait_for_selector("#saved", timeout=120_000)
        shown = {"anchors": after, "compute": _cells(page, "compute")}
        browser.close()
    assert not outside, f"the page asked for outside resources: {outside[:5]}"
    assert target.is_file()
    out = tmp_path / "run"
    assert main(["project", str(target), "--out", str(out), "--quiet"]) == 0
    assert headline(summarize(open_result(out))) == shown
