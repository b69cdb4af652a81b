"""The package's shape (issue 18): small modules, a command line that only parses and
prints, and folders that say what kind of code they hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "projector"
MODULES = sorted(PACKAGE.rglob("*.py"))
# explore: the interactive page (issue 23), an edge like cli/ (runs go through Run)
KINDS = {"inputs", "model", "pipeline", "studies", "render", "curation", "cli", "explore"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_about_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 520


def test_every_subpackage_is_a_kind() -> None:
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert found == KINDS


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_command_line_reaches_the_model_only_through_the_pipeline(path: Path) -> None:
    """cli/ parses and prints: no kernels, engine, draws or numba; runs go through Run."""
    banned = {"numba", "projector.model.kernels", "projector.model.engine",
              "projector.model.draws", "projector.model.eras"}  # fmt: skip
    assert not _imports(path) & banned


@pytest.mark.parametrize("kind", sorted(KINDS - {"cli"}))
def test_nothing_below_the_command_line_imports_it(kind: str) -> None:
    for path in (PACKAGE / kind).rglob("*.py"):
        assert not any(m == "projector.cli" or m.startswith("projector.cli.")
                       for m in _imports(path)), path  # fmt: skip
