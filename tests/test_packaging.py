"""What a user installs: the wheel (scenarios and data inside), the extras, a light --version.

The wheel is built from this checkout, installed with ``pip --target`` and run from a
folder outside the repository with the venv's dependencies but the wheel's projector.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from projector.errors import InputError, MissingExtra
from projector.extras import require

from .conftest import REPO

SCENARIOS = sorted(p.name for p in (REPO / "scenarios").glob("*.toml"))
DATA = ["SCHEMA.md", "accelerators.csv", "systems.csv"]


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # no build isolation: the venv's setuptools, so no index is needed
    _pip("wheel", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(out))
    (found,) = out.glob("projector-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    _pip("install", "--no-deps", "--no-compile", "--target", str(target), str(wheel))
    return target


def _from_wheel(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd`` (outside the checkout) with the wheel's projector."""
    env = dict(os.environ, PYTHONPATH=str(installed), PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_wheel_carries_the_scenarios_and_the_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert SCENARIOS and {f"projector/inputs/scenarios/{n}" for n in SCENARIOS} <= names
    assert {f"projector/inputs/data/{n}" for n in DATA} <= names
    assert "projector/py.typed" in names
    with zipfile.ZipFile(wheel) as zf:  # copies of the files, not the checkout's symlink
        shipped = zf.read("projector/inputs/scenarios/default.toml")
    assert shipped == (REPO / "scenarios" / "default.toml").read_bytes()


def test_the_installed_wheel_finds_its_scenarios(installed: Path, tmp_path: Path) -> None:
    code = "from projector.inputs.scenario import find_scenario as f; print(f('default'))"
    proc = _from_wheel(installed, tmp_path, "-c", code)
    assert proc.returncode == 0, proc.stderr
    found = Path(proc.stdout.strip())
    assert (
        found.is_relative_to(installed)
        and found.read_bytes() == (REPO / "scenarios" / "default.toml").read_bytes()
    )
    # ./scenarios/NAME.toml in the working folder comes first
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mine.toml").write_text('name = "mine"\nextends = "default"\n')
    proc = _from_wheel(installed, tmp_path, "-c", code.replace("'default'", "'mine'"))
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == Path("scenarios/mine.toml")


def test_project_and_backtest_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The issue's check: both commands work from a wheel, outside the repository."""
    proc = _from_wheel(
        installed, tmp_path, "-m", "projector", "project", "default", "--paths", "1000",
        "--out", "X", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "X").iterdir()) == [
        "projection.zarr",
        "summary.csv",
        "summary.md",
    ]
    proc = _from_wheel(
        installed, tmp_path, "-m", "projector", "backtest", "epoch-2022", "--cutoffs",
        "2016-01-01", "--horizons", "1", "--paths", "500", "--out", "Y", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "Y").iterdir()) == [
        "backtest.csv",
        "backtest.md",
        "backtest.png",
    ]
    assert str(installed) in (tmp_path / "Y" / "backtest.md").read_text()  # the wheel's copy


# --- extras ------------------------------------------------------------------------------

EXTRA_PACKAGES = ["matplotlib", "SALib", "scoringrules", "markdown", "dask", "distributed"]


def _block(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` (and its submodules) unimportable, as if not installed."""
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


@pytest.mark.parametrize(
    ("module", "extra", "what"),
    [
        ("matplotlib.figure", "plot", "plots"),
        ("SALib.analyze.sobol", "studies", "sensitivity analyses"),
        ("scoringrules", "studies", "backtest scores (CRPS)"),
        ("markdown", "studies", "HTML reports"),
        ("distributed", "dask", "--workers/--scheduler"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str, what: str
) -> None:
    assert require(module, extra, what).__name__ == module  # installed here: imported
    _block(monkeypatch, module.split(".")[0])
    with pytest.raises(MissingExtra) as info:
        require(module, extra, what)
    assert isinstance(info.value, InputError)  # exit status 2 through the error boundary
    assert str(info.value) == f"{what} need the '{extra}' extra: pip install 'projector[{extra}]'"


def test_a_broken_extra_is_not_reported_as_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An extra that is installed but fails inside is a real error, not 'install it'."""
    (tmp_path / "brokenextra").mkdir()
    (tmp_path / "brokenextra" / "__init__.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as info:
        require("brokenextra", "plot", "plots")
    assert not isinstance(info.value, MissingExtra)
    assert info.value.name == "no_such_dependency_xyz"


def test_plot_without_the_plot_extra_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from projector.cli.app import main

    out = tmp_path / "res"
    assert main(["project", "default", "--paths", "200", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    _block(monkeypatch, "matplotlib")
    assert main(["plot", str(out), "--out", str(tmp_path / "fan.png")]) == 2
    assert capsys.readouterr().err == (
        "projector: plots need the 'plot' extra: pip install 'projector[plot]'\n"
    )
    assert not (tmp_path / "fan.png").exists()


_WITHOUT_EXTRAS = textwrap.dedent(
    """
    import sys
    for name in sys.argv[1].split(","):
        sys.modules[name] = None  # as if not installed
    from projector.cli.app import main
    status = main(sys.argv[2:])
    loaded = [m for m in sys.argv[1].split(",") if sys.modules.get(m) is not None]
    print("loaded:", loaded)
    sys.exit(status)
    """
)


def test_a_plain_run_needs_no_extra(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, ",".join(EXTRA_PACKAGES), "project", "default",
         "--paths", "300", "--out", str(tmp_path / "res"), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "loaded: []" in proc.stdout
    assert (tmp_path / "res" / "summary.csv").is_file()


# --- process state and import weight -----------------------------------------------------


def test_plots_switch_no_backend_and_touch_no_pyplot_state(tmp_path: Path) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    import projector as pj

    backend = matplotlib.get_backend()
    figures = plt.get_fignums()
    from projector.render import plots

    ds = pj.run("default", paths=200)
    fig = plots.fan_chart(ds)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    plots.close(fig)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == backend
    assert plt.get_fignums() == figures  # not registered with pyplot


def test_version_imports_no_heavy_module() -> None:
    """``projector --version`` answers without numba, scipy, xarray, Dask and the rest."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "projector", "--version"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.startswith("projector "), proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "projector.cli.app" in imported  # the listing is the real one
    heavy = {"numba", "scipy", "xarray", "dask", "distributed", "matplotlib", "zarr", "pandas"}
    assert not {m.split(".")[0] for m in imported} & heavy


def test_a_script_beside_a_clone_named_projector_imports_the_package(tmp_path: Path) -> None:
    """A clone in ``projector/`` next to a user's script is not an empty namespace package.

    The Makefile installs the repository by a path entry (``editable_mode=compat``): with
    setuptools' import hook, the folder beside the script shadowed it (issue 24).
    """
    import projector

    root = Path(projector.__file__).resolve().parent.parent
    (tmp_path / "projector").symlink_to(root, target_is_directory=True)
    script = tmp_path / "mine.py"
    script.write_text("import projector\nprint(projector.open_result.__module__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "projector.pipeline.store"
