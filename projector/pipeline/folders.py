"""Result folders: where a run goes, whether it may be replaced, and what it holds.

Dependency direction: ``store`` -> ``folders`` -> ``run``, ``sweep``. A result folder is
written inside :func:`projector.pipeline.transaction.result_transaction`: the store, the
summaries and the figure go into a fresh temporary folder that replaces the old result
in one step when everything is written, so nothing complete-looking exists before the
run is complete.

Which folder (README, "Results you don't lose"): ``results/<name>/`` for a scenario as
written; ``results/<name>-<hash>/`` when anything was changed on the command line
(``--paths``, ``--seed``, ``--dataset``, ``--set``), ``<hash>`` being the first 8 hex
digits of the resolved scenario's sha256. A folder that holds a result made from other
inputs (scenario hash, dataset hash, seed, paths) is never replaced without ``force``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError
from projector.pipeline.fileio import atomic_path
from projector.pipeline.store import IDENTITY, STORE_NAME, Layout, open_result, read_identity

if TYPE_CHECKING:
    import xarray as xr

    from projector.inputs.scenario import Scenario
    from projector.inputs.systems import Systems

__all__ = [
    "KINDS",
    "RESULTS_DIR",
    "Held",
    "check_target",
    "folder_kind",
    "guard_file",
    "guard_output",
    "identity",
    "input_paths",
    "result_folder",
    "scenario_inputs",
    "write_fan_chart",
    "write_folder",
    "write_reports",
]

RESULTS_DIR = Path("results")


def identity(scen: Scenario, systems: Systems) -> dict[str, Any]:
    """What identifies a result's inputs (``store.IDENTITY``)."""
    return dict(zip(IDENTITY, (scen.sha256, systems.sha256, scen.seed, scen.paths), strict=True))


def result_folder(scen: Scenario, *, root: Path = RESULTS_DIR) -> Path:
    """``root/<name>/`` for a scenario as written, ``root/<name>-<hash8>/`` otherwise."""
    return root / (scen.name if not scen.overrides else f"{scen.name}-{scen.sha256[:8]}")


#: Kinds of result folder: the names that mark a folder as one (any of them), the names
#: (``fnmatch`` patterns) it may hold, and the command that writes it. ``report.html`` and
#: ``report.md`` (``projector report``) may sit in any of them.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "projection": ((STORE_NAME,), (STORE_NAME, "summary.csv", "summary.md", "*.png"), "project"),
    "sweep": ((STORE_NAME,), (STORE_NAME, "summary.csv", "summary.md", "*.png"), "sweep"),
    "trends": (
        ("trends.nc", "trends.md", "trends.csv"),
        ("trends.nc", "trends.md", "trends.csv", "trends_*.png"),
        "trends",
    ),
    "compare": (
        ("compare.csv", "compare.md"),
        ("compare.csv", "compare.md", "compare.png"),
        "compare",
    ),
    "backtest": (
        ("backtest.csv", "backtest.md"),
        ("backtest.csv", "backtest.md", "backtest.png"),
        "backtest",
    ),
    "sensitivity": (
        ("sensitivity.csv", "sensitivity.md"),
        ("sensitivity.csv", "sensitivity.md", "sensitivity.png"),
        "sensitivity",
    ),
    "counts": (
        ("counts.nc", "counts.csv", "counts.md"),
        ("counts.nc", "counts.csv", "counts.md", "counts.png"),
        "counts",
    ),
    "counts-backtest": (
        ("counts-backtest.csv", "counts-backtest.md"),
        ("counts-backtest.csv", "counts-backtest.md"),
        "counts --backtest",
    ),
    "ledger": (("ledger.csv", "ledger.md"), ("ledger.csv", "ledger.md", "ledger.png"), "ledger"),
}
# and a killed writer's temporary file (fileio.atomic_path: .NAME.PID.RANDOM.part)
_ANY_KIND = ("report.html", "report.md", ".*.part")


def _store_kind(store: Path) -> str:
    """``sweep`` for a store with a ``variant`` dimension, else ``projection`` (also for
    a store too damaged to say: only ``project --force`` may then replace it)."""
    try:
        import zarr

        attrs = dict(zarr.open_group(str(store), mode="r").attrs)
    except Exception:
        return "projection"
    return "sweep" if attrs.get("sweep") else "projection"


def folder_kind(folder: Path) -> str | None:
    """The kind of result (:data:`KINDS`) ``folder`` holds, None when it holds none."""
    if (folder / STORE_NAME).exists():
        return _store_kind(folder / STORE_NAME)
    for kind, (marks, _, _) in KINDS.items():
        if any((folder / m).exists() for m in marks):
            return kind
    return None


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def input_paths(*paths: str | Path | None) -> list[Path]:
    """The paths a command reads, for :func:`guard_output`: ``None`` and 'bundled' left out."""
    return [Path(p) for p in paths if p is not None and str(p) not in ("", "bundled")]


def scenario_inputs(scen: Scenario) -> list[Path]:
    """The files a scenario's run reads: the scenario file, its dataset, its ceilings table."""
    table = scen.ceilings.table if scen.ceilings.mode != "off" else None
    return input_paths(scen.source, scen.data.dataset, table)


def guard_output(
    target: str | Path,
    kind: str,
    *,
    inputs: Sequence[str | Path] = (),
    what: str = "--out",
) -> str | None:
    """Refuse an output folder whose replacement would lose something.

    An output never replaces (whatever ``--force`` says) a folder that is, or holds, one
    of the command's ``inputs``; a folder that holds a result of another kind; or a
    folder with files no projector command wrote there (the user's own). Whether a
    result of the same kind may be replaced is the caller's rule (``check_target``).

    Returns
    -------
    The kind of result ``target`` holds (``kind``), or None when it is missing or empty.

    Raises
    ------
    InputError
        One line naming ``target`` and why.
    """
    real = _real(target)
    for given in inputs:
        source = _real(given)
        if real == source or real in source.parents:
            role = "is" if real == source else "holds"
            raise InputError(
                f"{what} {target}: {role} this command's input {given}, which writing the "
                "output would destroy; choose another --out"
            )
        if source.is_dir() and source in real.parents:
            raise InputError(
                f"{what} {target}: lies inside this command's input {given}; "
                "choose an --out outside it"
            )
    if not os.path.lexists(real) or not real.is_dir():
        return None
    try:
        names = sorted(os.listdir(real))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    if not names:
        return None
    found = folder_kind(real)
    if found is None:
        raise InputError(
            f"{what} {target}: holds {names[0]!r} and no projector result, and the whole "
            "folder would be replaced; choose a new or empty folder"
        )
    if found != kind:
        raise InputError(
            f"{what} {target}: holds a {found} result (`projector {KINDS[found][2]}`), "
            f"not a {kind} one; --force does not replace it; choose another --out"
        )
    allowed = (*KINDS[kind][1], *_ANY_KIND)
    foreign = [n for n in names if not any(fnmatch.fnmatchcase(n, a) for a in allowed)]
    if foreign:
        raise InputError(
            f"{what} {target}: holds {foreign[0]!r} besides a {kind} result, a file no "
            "projector command wrote there, and the whole folder would be replaced; "
            "move it or choose another --out"
        )
    return found


def check_target(
    target: Path,
    wanted: dict[str, Any],
    *,
    force: bool,
    kind: str = "projection",
    inputs: Sequence[str | Path] = (),
) -> bool:
    """May ``target`` be (re)written with a result of inputs ``wanted``?

    Returns True when it already holds a result of exactly these inputs.

    Raises
    ------
    InputError
        ``target`` is or holds one of ``inputs``, holds a result of another kind or
        other files (:func:`guard_output`, ``force`` or not), or a result from other
        inputs and not ``force``.
    """
    if not target.exists():
        return False
    if not target.is_dir():
        raise InputError(f"--out {target}: exists and is not a folder")
    if guard_output(target, kind, inputs=inputs) is None:
        return False
    have = read_identity(target)
    if have is None:
        if not force:
            raise InputError(
                f"{target}: holds a {kind} result that cannot be read (damaged?); "
                "pass --force to replace it or --out to write elsewhere"
            )
        return False
    differ = [k for k in IDENTITY if have.get(k) != wanted[k]]
    if differ and not force:
        what = ", ".join(f"{k} {have.get(k)!s:.12} -> {wanted[k]!s:.12}" for k in differ)
        raise InputError(
            f"{target}: holds a result from other inputs ({what}); pass --force to "
            "replace it or --out to write elsewhere"
        )
    return not differ


def guard_file(
    target: str | Path,
    suffixes: tuple[str, ...],
    *,
    inputs: Sequence[str | Path] = (),
    what: str = "--out",
) -> None:
    """Refuse an output file that is, or lies inside, one of ``inputs``, or that would
    replace a file of another kind (a name not ending in ``suffixes``; a NetCDF file
    that is not a projector export).
    """
    real = _real(target)
    for given in inputs:
        source = _real(given)
        if real == source or source in real.parents:
            where = "is" if real == source else "lies inside"
            raise InputError(
                f"{what} {target}: {where} this command's input {given}, which writing the "
                "output would destroy; write elsewhere"
            )
    if not os.path.lexists(real):
        return
    if not real.name.lower().endswith(suffixes):
        raise InputError(
            f"{what} {target}: exists and is not a {'/'.join(suffixes)} file this command "
            "writes; it would be replaced; write elsewhere"
        )
    if real.name.lower().endswith(".nc") and real.is_file() and read_identity(real) is None:
        raise InputError(
            f"{what} {target}: exists and is not a NetCDF file `projector export` wrote "
            "(another kind of file would be replaced); write elsewhere"
        )


class Held:
    """What a summary reads of a run, kept as the chunks stream (``Layout.bytes_held``).

    The arrays are those written to the store, so a summary made from them is the
    summary of the store (a test compares them).
    """

    NAMES = ("log10_compute_yearly", "crossing_year")

    def __init__(self, lay: Layout) -> None:
        self.on = lay.bytes_held() > 0
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self.NAMES}

    def add(self, arrays: Mapping[str, np.ndarray]) -> None:
        if self.on:
            for name in self.NAMES:
                self.parts[name].append(arrays[name])

    def apply(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds`` (a store opened lazily) with the held arrays in place of its own."""
        if not self.on or not self.parts[self.NAMES[0]]:
            return ds
        held = {n: (ds[n].dims, np.concatenate(self.parts[n])) for n in self.NAMES}
        return ds.assign(held)


def write_fan_chart(ds: xr.Dataset, target: Path, *, summary: xr.Dataset | None = None) -> Path:
    """The fan chart of ``ds`` as a PNG at ``target`` (written atomically)."""
    from projector.render import plots

    fig = plots.fan_chart(ds, summary=summary)
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=130, format="png")
    finally:
        plots.close(fig)
    return target


def write_ceilings_chart(ds: xr.Dataset, summary: xr.Dataset, target: Path) -> Path:
    """The ceilings figure of ``ds`` (a run with ceilings) as a PNG at ``target``."""
    from projector.render import plots
    from projector.render.ceiling_plots import ceilings_chart

    fig = ceilings_chart(ds, summary)
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plots.close(fig)
    return target


def write_reports(
    folder: Path, *, plot: bool = False, held: Held | None = None
) -> tuple[xr.Dataset, list[Path]]:
    """Summarise the store in ``folder`` and write summary.csv, summary.md (and the chart);
    ``held``: the run's arrays kept in memory, read instead of the store's copy."""
    from projector.model.summary import summarize
    from projector.render.report import summary_csv, summary_markdown

    ds = open_result(folder / STORE_NAME)
    if held is not None:
        ds = held.apply(ds)
    s = summarize(ds)
    written = []
    for name, text in (("summary.csv", summary_csv(s)), ("summary.md", summary_markdown(s))):
        with atomic_path(folder / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(folder / name)
    if plot and "variant" not in ds.dims:
        written.append(write_fan_chart(ds, folder / "fan_chart.png", summary=s))
        if "log10_ceiling" in ds:
            written.append(write_ceilings_chart(ds, s, folder / "ceilings.png"))
    written.append(folder / STORE_NAME)
    return s, written


def write_folder(
    out_dir: Path, texts: Mapping[str, str], figures: Mapping[str, Any] | None = None
) -> list[Path]:
    """A study's folder (texts and PNG figures) written as a whole in one atomic step
    (``result_transaction``); the figures are closed after. Returns the files written."""
    from projector.pipeline.transaction import result_transaction

    figures = dict(figures or {})
    kind = Path(next(iter(texts))).stem if texts else ""
    try:
        if kind in KINDS:
            guard_output(out_dir, kind)
        with result_transaction(out_dir) as tmp:
            for name, text in texts.items():
                (tmp / name).write_text(text, encoding="utf-8")
            for name, fig in figures.items():
                fig.savefig(tmp / name, dpi=130, format="png")
    finally:
        if figures:
            from projector.render import plots

            for fig in figures.values():
                plots.close(fig)
    return [out_dir / name for name in (*texts, *figures)]
