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

from collections.abc import Mapping
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
    "RESULTS_DIR",
    "Held",
    "check_target",
    "identity",
    "result_folder",
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


def check_target(target: Path, wanted: dict[str, Any], *, force: bool) -> bool:
    """May ``target`` be (re)written with a result of inputs ``wanted``?

    Returns True when it already holds a result of exactly these inputs.

    Raises
    ------
    InputError
        ``target`` holds a result from other inputs, or other files, and not ``force``.
    """
    if not target.exists():
        return False
    if not target.is_dir():
        raise InputError(f"--out {target}: exists and is not a folder")
    have = read_identity(target)
    if have is None:
        if any(target.iterdir()) and not force:
            raise InputError(
                f"{target}: exists and holds no projector result; choose another --out "
                "or pass --force to replace it"
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
            fig.savefig(tmp, dpi=110, format="png")  # type: ignore[attr-defined]
    finally:
        plots.close(fig)  # type: ignore[arg-type]
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
    try:
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
