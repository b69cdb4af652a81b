"""The fan chart returns a Figure with bands, paths and one line per anchor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from projector import engine, plots, results
from projector.data import load_dataset
from projector.scenario import load_scenario


def test_fan_chart_on_given_axes(make_scenario: Callable[..., Path]) -> None:
    scen = load_scenario(make_scenario(paths=50))
    ds = results.to_dataset(engine.run(scen, load_dataset(scen.data.dataset)), scen)
    fig, ax = plt.subplots()
    try:
        out = plots.fan_chart(ds, ax=ax, n_paths=5)
        assert out is fig and isinstance(out, Figure)
        labels = [t.get_text() for t in ax.texts]
        assert any(label.startswith("low") for label in labels)
        assert any(label.startswith("high") for label in labels)
        assert len(ax.lines) == 5 + 1 + 2  # sample paths, median, anchors
        assert ax.get_ylabel() == "log10 training compute [FLOP]"
    finally:
        plt.close(fig)
