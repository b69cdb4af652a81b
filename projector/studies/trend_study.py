"""The Three Eras analysis as the command line and ``projector.trends`` run it.

Dependency direction: ``inputs``, ``studies.trends`` and ``pipeline.budget`` ->
``trend_study`` -> ``cli``, ``facade``. It assembles the inputs (the dataset, the
cut-off and extra windows of a scenario, windows given on the line), checks them and the
memory the bootstrap needs, and fits every window (``studies.trends.analyse``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError
from projector.inputs.systems import BUNDLED, Systems, load_dataset
from projector.studies import trends

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["TrendStudy", "figures", "study"]


@dataclasses.dataclass(frozen=True)
class TrendStudy:
    """A fitted analysis and what it was fitted on."""

    analysis: trends.TrendAnalysis
    systems: Systems
    cutoff: dt.date | None
    label: str  # the default folder name: trends, trends-<scenario>, trends-<dataset>

    @property
    def lower_bounds(self) -> int:
        """Systems up to the cut-off whose figure is a lower bound (never fitted)."""
        return int(self.systems.until(self.cutoff).censored.sum())


def inputs(
    *,
    scenario: str | Path | None = None,
    dataset: str | Path | None = None,
    cutoff: dt.date | None = None,
    quantity: str = "both",
    windows: Sequence[str] = (),
) -> tuple[str, dt.date | None, list[trends.Window], str]:
    """(dataset, cut-off, windows, label): the paper's windows for ``quantity``, a
    scenario's data, cut-off and ``[[windows]]``, then ``dataset``, ``cutoff`` and the
    ``NAME:START:END[:SCALE]`` specs given; window names must be distinct."""
    data, when, found = BUNDLED, None, trends.standard_windows(quantity)
    label = "trends"
    if scenario:
        from projector.inputs.scenario import load_scenario

        scen = load_scenario(str(scenario))
        data, when = scen.data.dataset, scen.data.cutoff
        found += [trends.Window(w.name, w.start, w.end, w.scale) for w in scen.windows]
        label = f"trends-{scen.name}"
    if dataset and str(dataset) != BUNDLED:
        if not Path(dataset).is_file():
            raise InputError(f"--dataset {dataset}: no such file")
        data, label = str(dataset), f"trends-{Path(dataset).stem}"
    if cutoff:
        when = cutoff
    found += [trends.parse_window(spec) for spec in windows]
    names = [w.name for w in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"window name(s) used twice: {', '.join(dupes)}")
    return data, when, found, label


def study(
    data: str,
    cutoff: dt.date | None,
    windows: list[trends.Window],
    label: str,
    *,
    rule: trends.ScaleRule | None = None,
    resamples: int = 1000,
    noise: bool = False,
    seed: int = 0,
) -> TrendStudy:
    """Load ``data``, check that the bootstrap fits in memory, fit every window."""
    from projector.pipeline import budget

    rule = rule or trends.ScaleRule()
    systems = load_dataset(data)
    if cutoff is not None and len(systems) and not len(systems.until(cutoff)):
        raise InputError(
            f"cut-off {cutoff}: no system of {systems.label} is published on or before it "
            f"(the first is from {np.datetime_as_string(systems.date.min(), unit='D')}); "
            "give a later --cutoff (or data.cutoff)"
        )
    # Bootstrap draws: an index and (with --noise) a shift per resample and system.
    room = budget.available_memory() - budget.BASE_MEMORY
    budget.check_memory(
        budget.BASE_MEMORY + 3 * 8 * resamples * len(systems),
        f"--resamples {resamples} over {len(systems)} systems",
        f"use at most about {budget.round_down(room / (24 * len(systems) or 1)):,}"
        if room > 24 * len(systems)
        else "free memory or raise the memory limit (ulimit -v)",
    )
    analysis = trends.analyse(
        systems,
        cutoff=cutoff,
        windows=windows,
        rule=rule,
        resamples=resamples,
        noise=noise,
        seed=seed,
    )
    return TrendStudy(analysis, systems, cutoff, label)


def figures(ds: xr.Dataset, quantity: str) -> dict[str, Any]:
    """The figures of a trends folder: compute and/or parameters (file name -> Figure)."""
    from projector.render import study_plots

    out = {}
    if quantity in ("compute", "both"):
        out["trends_compute.png"] = study_plots.trends_figure(ds, quantity="compute")
    if quantity in ("parameters", "both"):
        out["trends_parameters.png"] = study_plots.trends_figure(
            ds, quantity="parameters", windows=("params-pre-dl", "params-dl-all",
                                                "params-2018-present-language")
        )  # fmt: skip
    return out
