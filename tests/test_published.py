"""The published figures and the comparison of a summary against them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from projector.errors import InputError
from projector.model.summary import anchors_passed
from projector.studies import published

ANCHORS = {
    "lifetime": 28.0,
    "nn-short-horizon": 32.0,
    "genome": 33.0,
    "median-anchor": 34.36,
    "nn-medium-horizon": 34.5,
    "nn-long-horizon": 37.0,
    "evolution": 41.0,
}


def _summary(shift: dict[float, np.ndarray], crossing: np.ndarray | None = None) -> xr.Dataset:
    """A summary shaped like ``summarize``'s: Table 1 plus ``shift[q]`` (per Table 1 year)
    at its quantiles, on a grid with more years and quantiles than Table 1 has."""
    years = np.arange(2022.0, 2101.0)
    qs = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
    cq = np.full((len(years), len(qs)), 99.0)
    pub = published.table_1()["log10_compute"]
    for k, y in enumerate(sorted(published.TABLE_1)):
        i = int(np.flatnonzero(years == y)[0])
        for q, d in shift.items():
            cq[i, int(np.flatnonzero(qs == q)[0])] = float(pub.sel(year=y, quantile=q)) + d[k]
    if crossing is None:
        crossing = np.full((len(ANCHORS), len(qs)), 2050.0)
    return xr.Dataset(
        {
            "compute_quantile": (("year", "quantile"), cq),
            "compute_quantile_mcse": (("year", "quantile"), np.full_like(cq, 0.01)),
            "crossing_quantile": (("anchor", "quantile"), crossing),
            "anchor_log10_flop": (("anchor",), np.array(list(ANCHORS.values()))),
        },
        coords={"year": years, "quantile": qs, "anchor": list(ANCHORS)},
    )


def test_rmse_of_a_known_offset() -> None:
    sign = np.array([1, -1, 1, -1, 1, -1, 1], dtype=float)
    s = _summary({0.5: 0.3 * sign, 0.025: np.zeros(7), 0.975: np.full(7, 0.6)})
    c = published.compare_table_1(s)
    assert float(c["rmse_median"]) == pytest.approx(0.3)
    # all 21 figures: 7 x 0.3^2 + 7 x 0 + 7 x 0.6^2 over 21
    assert float(c["rmse_all"]) == pytest.approx(math.sqrt((7 * 0.09 + 7 * 0.36) / 21))
    np.testing.assert_allclose(c["difference"].sel(quantile=0.5).values, 0.3 * sign)
    np.testing.assert_allclose(c["ours"] - c["published"], c["difference"])
    assert c.sizes == {"year": 7, "quantile": 3}
    assert c["difference"].attrs["units"] == "OOM"
    assert float(c["ours_mcse"].max()) == pytest.approx(0.01)


def test_anchor_count_is_the_summarys_count() -> None:
    # Put the median at each Table 1 year at chosen values: 34.4 is above the median
    # anchor (34.36) but below nn-medium-horizon (34.5), so the count is 4 of 7: every
    # anchor of the scenario counts, here as in the summary (one function computes both).
    medians = np.array([27.0, 28.0, 32.5, 34.4, 34.5, 40.0, 41.0])
    offset = medians - published.table_1()["log10_compute"].sel(quantile=0.5).values
    s = _summary({0.5: offset, 0.025: offset, 0.975: offset})
    c = published.compare_table_1(s)
    assert c["anchors_ours"].values.tolist() == [0, 1, 2, 4, 5, 6, 7]
    assert c.attrs["anchors_of"] == 7
    assert c["anchors_ours"].values.tolist() == list(
        anchors_passed(s["anchor_log10_flop"].values, medians)
    )
    assert c["anchors_published"].values.tolist() == [0, 0, 1, 3, 5, 5, 6]


def test_missing_year_or_quantile_is_an_input_error() -> None:
    s = _summary({0.5: np.zeros(7)})
    with pytest.raises(InputError, match="2080"):
        published.compare_table_1(s.isel(year=np.flatnonzero(s["year"].values < 2080)))
    with pytest.raises(InputError, match=r"quantile 0\.975"):
        published.compare_table_1(s.sel(quantile=[0.025, 0.5]))


def test_crossings_against_the_published_dates() -> None:
    crossing = np.full((len(ANCHORS), 5), 2050.0)
    crossing[list(ANCHORS).index("median-anchor"), 2] = 2046.0 + 7 / 12  # Aug 2046
    crossing[list(ANCHORS).index("evolution"), 4] = np.inf  # never, at 97.5%
    x = published.compare_crossings(_summary({0.5: np.zeros(7)}, crossing))
    assert list(x["anchor"].values) == ["lifetime", "median-anchor", "evolution"]
    assert float(x["difference"].sel(anchor="median-anchor", quantile=0.5)) == pytest.approx(0)
    assert np.isinf(float(x["difference"].sel(anchor="evolution", quantile=0.975)))
    assert float(x["published"].sel(anchor="lifetime", quantile=0.025)) == 2029.0  # Jan 2029


def test_published_figures_are_consistent() -> None:
    """A typo in the typed-in figures shows as an unordered row or a falling median."""
    t = published.table_1()["log10_compute"]
    assert (t.sel(quantile=0.025) < t.sel(quantile=0.5)).all()
    assert (t.sel(quantile=0.5) < t.sel(quantile=0.975)).all()
    assert (t.sel(quantile=0.5).diff("year") > 0).all()
    for c in published.CROSSINGS.values():
        assert c.low < c.median < c.high
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]  # fmt: skip
        for value, label in zip((c.median, c.low, c.high), c.labels, strict=True):
            month, year = label.split()
            assert value == pytest.approx(int(year) + months.index(month) / 12)
    from projector.render.document import PUBLISHED_2022

    assert PUBLISHED_2022 == {"median": 2046 + 7 / 12, "low": 2039 + 5 / 12,
                              "high": 2060 + 6 / 12}  # fmt: skip
