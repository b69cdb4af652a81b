"""Where a scenario named on the command line is found: the shipped scenarios and the user's.

Dependency direction: imports ``errors`` only; ``inputs.scenario`` calls it.

The scenarios live in the repository's top-level ``scenarios/`` (users edit them there)
and travel in the wheel as package data, ``projector/inputs/scenarios/`` (a symbolic
link to ``../../scenarios`` in the checkout, copied as files by setuptools). A name is
looked up, first match wins:

1. a path as given (a ``.toml`` file, or any existing path);
2. ``./scenarios/NAME.toml`` relative to the working directory;
3. the checkout's ``scenarios/`` (next to the package, when run from a checkout);
4. the copy packaged with the installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from projector.errors import InputError

__all__ = ["find_scenario", "scenario_dir", "scenario_dirs"]

_PACKAGE = Path(__file__).resolve().parent  # projector/inputs


def _packaged() -> Path:
    return _PACKAGE / "scenarios"


def _checkout() -> Path:
    return _PACKAGE.parents[1] / "scenarios"


def scenario_dir() -> Path:
    """The shipped scenarios: the checkout's ``scenarios/``, else the wheel's copy."""
    checkout = _checkout()
    return checkout if checkout.is_dir() else _packaged()


def scenario_dirs() -> list[Path]:
    """Folders searched for a scenario name, in order (see the module docstring)."""
    dirs: list[Path] = []
    seen: set[Path] = set()
    for d in (Path("scenarios"), _checkout(), _packaged()):
        try:
            real = d.resolve()
        except OSError:
            continue
        if real not in seen and d.is_dir():
            seen.add(real)
            dirs.append(d)
    return dirs


def find_scenario(name_or_path: str) -> Path:
    """Resolve a scenario name or a path to a file (the first match of the order above).

    Raises
    ------
    InputError
        No such file, or no such name (the message lists the known names).
    """
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise InputError(f"{name_or_path}: no such scenario file")
        return p
    dirs = scenario_dirs()
    for d in dirs:
        candidate = d / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate
    known = sorted({f.stem for d in dirs for f in d.glob("*.toml")})
    raise InputError(f"{name_or_path}: no such scenario (known: {', '.join(known)})")
