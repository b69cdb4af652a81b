"""The published figures the replication is checked against, each held once with its source.

Dependency direction: ``summary`` -> ``published`` -> ``document``. Data and pure
functions only: the figures are typed in from the sources below (never computed), and
:func:`compare_table_1` and :func:`compare_crossings` set a summary Dataset
(:func:`projector.model.summary.summarize`) beside them.

Sources:

* :data:`SOURCE_2022`: Besiroglu, Heim & Sevilla (2022), "Projecting compute trends in
  Machine Learning", Epoch, 2022-03-07. Table 1 ("Projected FLOPs from 2025 to 2080") and
  the crossing dates in the paragraph after it.
* :data:`SOURCE_THREE_ERAS`: Sevilla, Heim, Ho, Besiroglu, Hobbhahn & Villalobos (2022),
  "Compute Trends Across Three Eras of Machine Learning", arXiv:2202.05924: the doubling
  times of :data:`THREE_ERAS`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from projector import dates
from projector.errors import InputError
from projector.model.summary import ANCHORS_COUNTED, anchors_passed

__all__ = [
    "CROSSINGS",
    "MEDIAN_ANCHOR",
    "PUBLISHED_2022",
    "SOURCE_2022",
    "SOURCE_THREE_ERAS",
    "TABLE_1",
    "TABLE_1_QUANTILES",
    "THREE_ERAS",
    "Crossing",
    "Doubling",
    "compare_crossings",
    "compare_table_1",
    "table_1",
]

SOURCE_2022 = (
    "Besiroglu, Heim & Sevilla (2022), 'Projecting compute trends in Machine Learning', "
    "Epoch, 2022-03-07, https://epochai.org/blog/projecting-compute-trends (source: GitHub "
    "epoch-research/epoch-website, _blog/2022-03-07-projecting-compute-trends.md)"
)
SOURCE_THREE_ERAS = (
    "Sevilla et al. (2022), 'Compute Trends Across Three Eras of Machine Learning', "
    "arXiv:2202.05924"
)

#: The study's "median anchor" [log10 FLOP] is a summary of Cotra's six hypotheses, not one
#: of them: Table 1's "x/6" counts the other six. This project's count
#: (:func:`projector.model.summary.anchors_passed`) counts every anchor of the scenario, the
#: median anchor included, in the summary and beside Table 1 alike.
MEDIAN_ANCHOR = "median-anchor"

#: Table 1 of :data:`SOURCE_2022`, by year: log10 FLOP of the largest training run, median
#: and its 95% interval (read as the 2.5% and 97.5% quantiles over the 10,000 paths), and
#: "Enough for how many anchor's median compute requirements?" (of Cotra's six).
TABLE_1: dict[int, tuple[float, float, float, int]] = {
    # year: (median, low, high, anchors of 6)
    2025: (25.90, 25.33, 26.14, 0),
    2030: (28.67, 26.71, 29.47, 0),
    2040: (32.42, 29.27, 34.71, 1),
    2050: (35.26, 31.78, 38.86, 3),
    2060: (38.10, 34.35, 42.49, 5),
    2070: (40.79, 36.83, 45.49, 5),
    2080: (43.32, 39.04, 48.18, 6),
}
#: The quantiles Table 1's three figures stand for, in the order of :data:`TABLE_1`.
TABLE_1_QUANTILES = (0.5, 0.025, 0.975)
TABLE_1_ANCHORS = 6


@dataclasses.dataclass(frozen=True)
class Crossing:
    """A published first-crossing date: median and 95% interval [decimal year].

    A month is its first day: Aug 2046 is 2046 + 7/12, as the engine's monthly grid has it.
    """

    what: str
    median: float
    low: float
    high: float
    labels: tuple[str, str, str]  # the months as published: median, low, high


def _month(year: int, month: int) -> float:
    return dates.grid_month(year, month)


#: The crossing dates of :data:`SOURCE_2022` (the paragraph after Table 1), keyed by the
#: anchor of ``scenarios/epoch-2022.toml`` they are about.
CROSSINGS: dict[str, Crossing] = {
    "lifetime": Crossing(
        "the most modest of Cotra's anchors",
        _month(2030, 8), _month(2029, 1), _month(2038, 5),
        ("Aug 2030", "Jan 2029", "May 2038"),
    ),
    MEDIAN_ANCHOR: Crossing(
        "the study's median anchor",
        _month(2046, 8), _month(2039, 6), _month(2060, 7),
        ("Aug 2046", "Jun 2039", "Jul 2060"),
    ),
    "evolution": Crossing(
        "the strongest of the anchors",
        _month(2072, 5), _month(2057, 1), _month(2089, 6),
        ("May 2072", "Jan 2057", "Jun 2089"),
    ),
}  # fmt: skip

#: The study's headline (its Summary): the median anchor crossed in Aug 2046 [95% CI: Jun
#: 2039, Jul 2060], as decimal years.
PUBLISHED_2022 = {
    "median": CROSSINGS[MEDIAN_ANCHOR].median,
    "low": CROSSINGS[MEDIAN_ANCHOR].low,
    "high": CROSSINGS[MEDIAN_ANCHOR].high,
}


@dataclasses.dataclass(frozen=True)
class Doubling:
    """A published doubling time [months], with its 95% interval and n where published."""

    months: float
    low: float | None = None
    high: float | None = None
    n: int | None = None


#: Doubling times of :data:`SOURCE_THREE_ERAS` by this package's window names
#: (:func:`projector.studies.trends.standard_windows`); windows the paper has no figure for are
#: absent. Intervals and n only where the README's Three Eras table quoted them from the
#: paper (this package has not re-read the paper's other intervals); the rest are point figures.
THREE_ERAS: dict[str, Doubling] = {
    "pre-dl": Doubling(21.3, 17.0, 29.3, 19),
    "dl-regular": Doubling(5.7),
    "large-scale": Doubling(9.9),
    "alexnet-alphazero": Doubling(3.7, 2.8, 6.2, 31),
}


def table_1() -> xr.Dataset:
    """Table 1 as a Dataset: ``log10_compute`` (year, quantile) and ``anchors`` (year)."""
    years = np.array(sorted(TABLE_1), dtype=np.float64)
    values = np.array([TABLE_1[int(y)][:3] for y in years], dtype=np.float64)
    anchors = np.array([TABLE_1[int(y)][3] for y in years], dtype=np.int64)
    out = xr.Dataset(
        {
            "log10_compute": (("year", "quantile"), values),
            "anchors": (("year",), anchors),
        },
        coords={"year": years, "quantile": np.array(TABLE_1_QUANTILES)},
        attrs={"source": SOURCE_2022},
    )
    out["log10_compute"].attrs.update(units="log10 FLOP", long_name="published Table 1")
    out["anchors"].attrs.update(
        units="1", long_name=f"anchors enough for, of Cotra's {TABLE_1_ANCHORS}"
    )
    return out.sortby("quantile")


def compare_table_1(summary: xr.Dataset, /) -> xr.Dataset:
    """Set a summary's log10 compute quantiles beside Table 1 of :data:`SOURCE_2022`.

    Parameters
    ----------
    summary
        From :func:`projector.model.summary.summarize`: needs ``compute_quantile`` (year,
        quantile) at Table 1's years and quantiles, and ``anchor_log10_flop`` (anchor).

    Returns
    -------
    xarray.Dataset
        Dims ``year`` (Table 1's seven) and ``quantile`` (0.025, 0.5, 0.975):
        ``published``, ``ours`` and ``difference`` = ours - published (year, quantile)
        [log10 FLOP]; ``ours_mcse`` where the summary has it; ``anchors_published`` and
        ``anchors_ours`` (year): the scenario's anchors at or below the median, counted by
        :func:`~projector.model.summary.anchors_passed` (every anchor, the median anchor
        included: ``anchors_of`` of them, against the published count of Cotra's six);
        ``rmse_median`` (over the seven medians) and ``rmse_all`` (over all 21 figures)
        [OOM]. A sweep's ``variant`` dimension is kept.
    """
    pub = table_1()
    years = pub["year"].values
    have = summary["year"].values
    missing = [f"{y:g}" for y in years if not np.any(np.isclose(have, y))]
    if missing:
        raise InputError(f"the summary has no compute quantiles for {', '.join(missing)}")
    qs = pub["quantile"].values
    absent = [f"{q:g}" for q in qs if not np.any(np.isclose(summary["quantile"].values, q))]
    if absent:
        raise InputError(f"the summary has no quantile {', '.join(absent)}")
    ours = summary["compute_quantile"].sel(year=years, quantile=qs, method="nearest")
    ours = ours.assign_coords(year=years, quantile=qs)
    diff = ours - pub["log10_compute"]
    flop = summary["anchor_log10_flop"].values
    median = ours.sel(quantile=0.5, drop=True)
    passed = xr.DataArray(anchors_passed(flop, median.values), dims=median.dims,
                          coords=median.coords)  # fmt: skip
    out = xr.Dataset(
        {
            "published": pub["log10_compute"],
            "ours": ours,
            "difference": diff,
            "anchors_published": pub["anchors"],
            "anchors_ours": passed.astype(np.int64),
            "rmse_median": np.sqrt((diff.sel(quantile=0.5, drop=True) ** 2).mean("year")),
            "rmse_all": np.sqrt((diff**2).mean(("year", "quantile"))),
        },
        attrs={"source": SOURCE_2022, "anchors_of": int(flop.size)},
    )
    if "compute_quantile_mcse" in summary:
        se = summary["compute_quantile_mcse"].sel(year=years, quantile=qs, method="nearest")
        out["ours_mcse"] = se.assign_coords(year=years, quantile=qs)
    units: dict[str, tuple[str, str]] = {
        "published": ("log10 FLOP", "Table 1 of the 2022 study"),
        "ours": ("log10 FLOP", "this run's quantile over paths"),
        "difference": ("OOM", "ours - published"),
        "anchors_published": ("1", "anchors enough for, as published (of 6)"),
        "anchors_ours": ("1", f"anchors at or below this run's median: {ANCHORS_COUNTED}"),
        "rmse_median": ("OOM", "root mean square difference of the seven medians"),
        "rmse_all": ("OOM", "root mean square difference of all 21 figures"),
    }
    for name, (unit, long_name) in units.items():
        out[name].attrs = {"units": unit, "long_name": long_name}
    return out


def compare_crossings(summary: xr.Dataset, /) -> xr.Dataset:
    """Set a summary's crossing-year quantiles beside the published crossing dates.

    Returns a Dataset with dims ``anchor`` (those of :data:`CROSSINGS` that the summary
    has) and ``quantile`` (0.025, 0.5, 0.975): ``published``, ``ours`` and ``difference``
    [decimal year; ``inf``: never within the horizon].
    """
    names = [a for a in CROSSINGS if a in summary["anchor"].values]
    if not names:
        raise InputError(f"the summary has none of the anchors {', '.join(CROSSINGS)}")
    qs = np.array(sorted(TABLE_1_QUANTILES))
    published = np.array(
        [[_by_quantile(CROSSINGS[a], q) for q in qs] for a in names], dtype=np.float64
    )
    pub = xr.DataArray(published, dims=("anchor", "quantile"),
                       coords={"anchor": names, "quantile": qs})  # fmt: skip
    ours = summary["crossing_quantile"].sel(anchor=names).sel(quantile=qs, method="nearest")
    ours = ours.assign_coords(quantile=qs)
    out = xr.Dataset(
        {"published": pub, "ours": ours, "difference": ours - pub},
        attrs={"source": SOURCE_2022},
    )
    for name in out.data_vars:
        out[name].attrs["units"] = "decimal year" if name != "difference" else "year"
    return out


def _by_quantile(c: Crossing, q: float) -> float:
    return {0.025: c.low, 0.5: c.median, 0.975: c.high}[float(q)]
