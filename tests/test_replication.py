"""The epoch-2022 replication stays put while the bundled data grows towards today.

Issue 3 moves the default scenario to the newest bundled date and asks that epoch-2022
keep its 2022-02-28 cut-off and give the same result. Two guards:

* systems published after the cut-off have no effect at all (bit-identical paths);
* the published-snapshot replication and the bundled run are pinned to the figures in
  the README's replication table. A change of the pinned bundled figures means a row
  up to 2022-02-28 was added or corrected: update the README table with them.
"""

from __future__ import annotations

import numpy as np
import pytest

from projector import engine
from projector.data import load_dataset
from projector.results import anchor_summary, compute_summary, to_dataset
from projector.scenario import load_scenario, with_overrides

from .conftest import SNAPSHOT_2022

SCEN = load_scenario("epoch-2022")


def _summaries(dataset: str) -> tuple[float, list[float], float, int]:
    """Start compute, median-anchor crossing [2.5%, 50%, 97.5%], the 2030 median and the
    clipped rate draws, read from the same summaries the README's table comes from."""
    ds = to_dataset(engine.run(SCEN, load_dataset(dataset)), SCEN)
    anchor = next(r for r in anchor_summary(ds) if r["anchor"] == "median-anchor")
    at_2030 = next(r for r in compute_summary(ds) if r["year"] == 2030)
    start = float(ds["log10_compute"].values[0, 0])
    crossing = [anchor["q0.025"], anchor["q0.5"], anchor["q0.975"]]
    return start, crossing, at_2030["q0.5"], int(ds.attrs["clipped_rate_draws"])


def test_systems_after_the_cutoff_do_not_touch_the_replication() -> None:
    scen = with_overrides(SCEN, paths=2000)
    systems = load_dataset("bundled")
    later = systems.date > np.datetime64(SCEN.data.cutoff, "D")
    assert later.sum() >= 100  # the extension to today is really there
    full = engine.run(scen, systems)
    truncated = engine.run(scen, systems.take(~later))
    np.testing.assert_array_equal(full.log10_compute, truncated.log10_compute)
    np.testing.assert_array_equal(full.crossing_year, truncated.crossing_year)


def test_bundled_replication_matches_the_readme() -> None:
    start, crossing, median_2030, clipped = _summaries("bundled")
    assert start == pytest.approx(24.0, abs=1e-9)  # ERNIE 3.0 Titan
    assert crossing == pytest.approx([2039.167, 2046.333, 2058.333], abs=0.01)
    assert median_2030 == pytest.approx(28.542, abs=0.001)
    assert clipped == 0


@pytest.mark.skipif(not SNAPSHOT_2022.is_file(), reason="../shared/data is absent")
def test_snapshot_replication_matches_the_readme() -> None:
    """On the study's own data the median anchor lands 0.2 years from the published Aug 2046."""
    start, crossing, median_2030, _ = _summaries(str(SNAPSHOT_2022))
    assert start == pytest.approx(24.146, abs=0.001)  # MT-NLG 530B
    assert crossing == pytest.approx([2038.75, 2046.75, 2061.75], abs=0.01)
    assert median_2030 == pytest.approx(28.685, abs=0.001)
