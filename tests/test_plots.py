"""The fan chart returns a Figure with bands, paths and one line per anchor."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from projector.inputs.scenario import load_scenario
from projector.inputs.systems import load_dataset
from projector.render import plots

from .conftest import run_in_memory


def test_fan_chart_on_given_axes(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario(paths=50))
    ds, _ = run_in_memory(scen, load_dataset(scen.data.dataset))
    fig, ax = plt.subplots()
    try:
        out = plots.fan_chart(ds, ax=ax, n_paths=5)
        assert out is fig and isinstance(out, Figure)
        labels = [t.get_text() for t in ax.texts]
        assert any(label.startswith("low") for label in labels)
        assert any(label.startswith("high") for label in labels)
        # sample paths, median, anchors, and the history: frontier steps and the start line
        assert len(ax.lines) == 5 + 1 + 2 + 2
        # anchor labels sit in the right margin, apart from each other
        spots = sorted(t.get_position()[1] for t in ax.texts)
        assert all(t.get_position()[0] > 1.0 for t in ax.texts)
        assert all(b - a > 0 for a, b in itertools.pairwise(spots))
        assert ax.get_ylabel() == "log10 training compute [FLOP]"
    finally:
        plt.close(fig)


def test_crossing_probability_has_the_weighted_curve() -> None:
    import numpy as np

    from projector.inputs.scenario import load_scenario, override
    from projector.inputs.systems import load_dataset
    from projector.render import plots

    scen = override(load_scenario("default"), {"paths": 500})
    ds, _ = run_in_memory(scen, load_dataset(scen.data.dataset))
    fig = plots.crossing_probability(ds)
    lines = fig.axes[0].get_lines()
    assert len(lines) == ds.sizes["anchor"] + 1
    years = lines[0].get_xdata()
    p = plots._crossing_cdf(ds, years)
    np.testing.assert_allclose(lines[-1].get_ydata(), ds["anchor_weight"].values @ p)
    # P(crossed by year) never decreases with the year, and is ordered by threshold.
    assert np.all(np.diff(p, axis=1) >= 0)
    order = np.argsort(ds["anchor_log10_flop"].values)
    assert np.all(np.diff(p[order], axis=0) <= 1e-12)
    for name in ("crossing_histograms", "reversion_prior", "rate_distributions"):
        fig = getattr(plots, name)(ds)
        assert fig.axes and all(ax.has_data() for ax in fig.axes if ax.axison)
        plots.close(fig)
