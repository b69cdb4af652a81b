"""compare (differences = differences of the summaries) and the HTML report."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from projector.cli.app import main
from projector.model.summary import summarize
from projector.pipeline.store import open_result
from projector.studies import compare


@pytest.fixture(scope="module")
def two_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("results")
    out = []
    for name in ("default", "bullish-weights"):
        folder = root / name
        assert main(["project", name, "--paths", "1500", "--out", str(folder), "--quiet"]) == 0
        out.append(folder)
    return out[0], out[1]


def test_compare_differences_are_the_differences_of_the_summaries(
    two_results: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = (summarize(open_result(p)) for p in two_results)
    c = compare.compare([a, b])
    years = [float(y) for y in c["year"].values]
    want = b["compute_quantile"].sel(year=years) - a["compute_quantile"].sel(year=years)
    got = c["compute_quantile_difference"].sel(result="bullish-weights")
    np.testing.assert_allclose(got.values, want.sel(quantile=c["quantile"]).values)
    want_p = b["p_crossed"].sel(year=years) - a["p_crossed"].sel(year=years)
    np.testing.assert_allclose(
        c["p_crossed_difference"].sel(result="bullish-weights").values, want_p.values
    )
    dq = b["crossing_quantile"] - a["crossing_quantile"]
    got_q = c["crossing_quantile_difference"].sel(result="bullish-weights")
    np.testing.assert_allclose(got_q.values, dq.sel(quantile=c["quantile"]).values, equal_nan=True)
    assert float(c["compute_quantile_difference"].sel(result="default").max()) == 0.0
    se = c["p_crossed_difference_mcse"].sel(result="bullish-weights")
    np.testing.assert_allclose(
        se.values,
        np.sqrt(
            a["p_crossed_mcse"].sel(year=years) ** 2 + b["p_crossed_mcse"].sel(year=years) ** 2
        ).values,
    )
    # The command writes the same numbers.
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, two_results), "--out", str(out), "--quiet"]) == 0
    rows = (out / "compare.csv").read_text().splitlines()
    assert rows[0] == ",".join(compare.COLUMNS)
    assert "| 2030 |" in (out / "compare.md").read_text()
    assert (out / "compare.png").stat().st_size > 20_000


def test_compare_bad_input(
    two_results: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    assert main(["project", "default", "--paths", "200", "--set", "anchors.evolution.log10_flop=40",
                 "--out", str(other), "--quiet"]) == 0  # fmt: skip
    cases = [
        ([str(two_results[0]), str(other)], "has other anchors"),
        ([str(two_results[0]), str(tmp_path / "missing")], "no such result"),
        ([str(two_results[0])], "at least two results"),
    ]
    for args, message in cases:
        out = tmp_path / "o"
        assert main(["compare", *args, "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert not out.exists()


def _report(two_results: tuple[Path, Path], target: Path) -> str:
    assert main(["report", *map(str, two_results), "--out", str(target)]) == 0
    return target.read_text(encoding="utf-8")


def test_report_is_self_contained(two_results: tuple[Path, Path], tmp_path: Path) -> None:
    page = _report(two_results, tmp_path / "r.html")
    assert page.count("<img") >= 6 and "data:image/png;base64," in page
    for section in ("What was run", "Figures", "attribution within this run", "Comparison",
                    "What the numbers mean"):  # fmt: skip
        assert section in page
    assert 'src="http' not in page  # nothing fetched from the network
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert md.startswith("# projector report: default")
    # the caveats come first, in two lines, before what was run (issue 24)
    assert md.splitlines()[2].startswith("**Projections, not predictions**")
    assert md.splitlines()[3].startswith("**Bands** are tested only at 1-3 years")
    assert md.count("**Projections, not predictions**") == 1
    # The published study is epoch-2022's comparison only.
    assert "Against the published study" not in md and "Table 1" not in md
    assert "Three Eras" not in md  # no trends folder given


def test_epoch_2022_report_sets_the_published_figures_beside_its_own(tmp_path: Path) -> None:
    """Table 1, the three crossing dates and, with a trends folder, the Three Eras doubling
    times and Figure 1, in the Markdown and in the HTML rendered from it."""
    from projector.render.document import FIGURE_1
    from projector.studies import published

    run, trends = tmp_path / "epoch-2022", tmp_path / "trends"
    assert main(["project", "epoch-2022", "--paths", "1000", "--out", str(run), "--quiet"]) == 0
    assert main(["trends", "--cutoff", "2022-02-28", "--quantity", "compute", "--resamples",
                 "100", "--out", str(trends), "--quiet"]) == 0  # fmt: skip
    target = tmp_path / "r.html"
    assert main(["report", str(run), "--trends", str(trends), "--out", str(target)]) == 0
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    page = target.read_text(encoding="utf-8")
    c = published.compare_table_1(summarize(open_result(run)))
    rmse = f"RMSE against Table 1: **{float(c['rmse_median']):.2f} OOM**"
    assert rmse in md
    assert rmse.replace("**", "<strong>", 1).replace("**", "</strong>") in page
    for year, (median, low, high, anchors) in published.TABLE_1.items():
        ours = c["ours"].sel(year=year)
        row = (
            f"| {year} | {median:.2f} [{low:.2f}, {high:.2f}] | "
            f"{float(ours.sel(quantile=0.5)):.2f} [{float(ours.sel(quantile=0.025)):.2f}, "
            f"{float(ours.sel(quantile=0.975)):.2f}] | "
            f"{float(c['difference'].sel(year=year, quantile=0.5)):+.2f} | {anchors}/6 | "
        )
        assert row in md, row
        assert f">{median:.2f} [{low:.2f}, {high:.2f}]</td>" in page
    for name, crossing in published.CROSSINGS.items():
        assert f"| {name} (10^" in md and crossing.labels[0] in page
    assert "| pre-dl | 21.3 [17.0, 29.3], n=19 |" in md
    assert ">21.3 [17.0, 29.3], n=19</td>" in page
    assert FIGURE_1 in md and FIGURE_1.split(":")[0] in page
    assert "is not reproduced" not in md


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    _chromium() is None, reason="Chromium is not installed (.ci/run installs it from Debian)"
)
def test_report_opens_in_a_real_browser(two_results: tuple[Path, Path], tmp_path: Path) -> None:
    """Headless Chromium loads the file: every image decodes, no script error."""
    target = tmp_path / "r.html"
    _report(two_results, target)
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<!DOCTYPE html><html><body><iframe id=f src='r.html' width=1200 height=800></iframe>"
        "<script>document.getElementById('f').onload=function(){"
        "var d=this.contentDocument;var im=[...d.images];"
        "var bad=im.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).length;"
        "document.title='images='+im.length+' broken='+bad;};</script></body></html>",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'u'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    title = proc.stdout.split("<title>")[1].split("</title>")[0]
    images = int(title.split("images=")[1].split()[0])
    assert images >= 6 and "broken=0" in title, title


@pytest.mark.parametrize("kind", ["fan", "crossing", "histograms", "prior", "rates"])
def test_plot_kinds(two_results: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    target = tmp_path / f"{kind}.png"
    assert main(["plot", str(two_results[0]), "--kind", kind, "--out", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_with_attribution(
    two_results: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", str(two_results[0]), "--attribution"]) == 0
    out = capsys.readouterr().out
    assert "Which draw drives each output" in out
    assert "| crossing: median-anchor |" in out and "reversion date" in out


def test_report_takes_study_folders_read_back_in_memory(
    two_results: tuple[Path, Path], tmp_path: Path
) -> None:
    """document.build renders what folders.open_extras read: a backtest's Markdown is
    nested one level under the report's heading, its cases left out, and its figure embedded."""
    from projector.render import document
    from projector.studies.folders import Extras, Written, _outline

    text = "# Backtest of `x`\n\nintro\n\n## Summary\n\n| a |\n\n## Cases\n\n| case |\n"
    written = Written(_outline(text), {"backtest.png": b"\x89PNG"})
    md, _ = document.build([open_result(two_results[0])], extras=Extras(backtest=written))
    section = md.split("## Backtest\n")[1].split("\n## ")[0]
    assert section.startswith("\n### Backtest of `x`\n\nintro\n\n### Summary\n\n| a |\n\n")
    assert "Cases" not in section and "| case |" not in section
    assert "![Backtest: backtest.png](data:image/png;base64,iVBORw==)" in section
