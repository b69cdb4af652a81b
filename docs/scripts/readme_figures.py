"""Print the README's figures from the code, so they can be rerun when the data change.

Run from the repository root: ``python docs/scripts/readme_figures.py`` (a minute or two:
two runs of 10,000 paths in memory, the scenarios' own seeds). Prints, section by
section of the README:

* the rates each shipped scenario resolves to on the bundled data (what ``projector
  validate`` prints): the Deep-Learning and pre-DL OLS fits (n, years, slope, doubling)
  and the long-run rate, derived or set;
* "The replication": epoch-2022's start, median-anchor crossing and 2030 / 2050 medians,
  and its Table 1 comparison (medians and 95% intervals beside the published ones,
  differences, anchors passed by the median counted as the summary counts them, RMSEs);
* with Epoch's 2022 snapshot in ``../shared/data`` (skipped without it), the rates and
  the replication on the study's own data;
* "today's default": its start, 2030 and 2050 medians with 95% intervals, and P(median
  anchor by 2050) with the median crossing.

Every figure is printed with the precision the README quotes it at.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import projector as pj
from projector.model.engine import long_run_rate
from projector.model.summary import ANCHORS_COUNTED
from projector.pipeline.run import Run
from projector.render.report import rate_text
from projector.studies import published

PATHS = 10_000


def rates(name: str, dataset: Path | None = None) -> None:
    run = Run(name, dataset=dataset)
    p, scen = run.plan(), run.resolve()
    dl = float(np.polyfit(p.t_dl, p.y_dl, 1)[0])
    pre = float(np.polyfit(p.t_pre, p.y_pre, 1)[0])
    fixed = long_run_rate(scen)
    long_run = math.sqrt(pre * p.growth_ref) if fixed is None else fixed
    how = f"sqrt({pre:.3f} x {p.growth_ref:.3f})" if fixed is None else "set"
    print(f"{name}: Deep-Learning n={len(p.t_dl)} from {p.t_dl.min():.1f}: {rate_text(dl)}")
    print(f"{name}: pre-DL n={len(p.t_pre)} from {p.t_pre.min():.1f}: {rate_text(pre)}")
    print(f"{name}: long-run {how} ({scen.moore_units}): {rate_text(long_run)}")


#: Epoch's 2022 snapshot, where the clone sits beside ../shared (not part of the repository).
SNAPSHOT = Path("../shared/data/epoch_pcd_notable_ml_systems_2022-09-01.csv")


def replication(dataset: Path | None = None) -> None:
    run = Run("epoch-2022", paths=PATHS, dataset=dataset)
    if dataset is not None:
        print(f"--- epoch-2022 on {dataset}")
    s = run.summary()
    ds = run.result()
    print(f"epoch-2022: start 10^{ds.attrs['log10_start_compute']:.2f} "
          f"({ds.attrs['start_compute_source']}); systems pre-DL {ds.attrs['n_systems_pre_dl']}, "
          f"DL {ds.attrs['n_systems_dl']}")  # fmt: skip
    x = s["crossing_quantile"].sel(anchor=published.MEDIAN_ANCHOR)
    print("epoch-2022: median-anchor crossing "
          f"{float(x.sel(quantile=0.5)):.1f} [{float(x.sel(quantile=0.025)):.1f}, "
          f"{float(x.sel(quantile=0.975)):.1f}]")  # fmt: skip
    t = published.compare_table_1(s)
    print(f"Table 1 (anchors passed by the median: {ANCHORS_COUNTED}, of {t.attrs['anchors_of']};"
          " published: of Cotra's six)")  # fmt: skip
    recount = published_recount(s, t)
    for k, y in enumerate(t["year"].values):
        o, p = t["ours"].sel(year=y), t["published"].sel(year=y)
        print(
            f"| {y:g} | {float(p.sel(quantile=0.5)):.2f} | {float(o.sel(quantile=0.5)):.2f} "
            f"[{float(o.sel(quantile=0.025)):.2f}, {float(o.sel(quantile=0.975)):.2f}] | "
            f"{float(t['difference'].sel(year=y, quantile=0.5)):+.2f} | anchors published "
            f"{int(t['anchors_published'].sel(year=y))}/6, published medians on our thresholds "
            f"{recount[k]}/{t.attrs['anchors_of']}, ours {int(t['anchors_ours'].sel(year=y))}/"
            f"{t.attrs['anchors_of']} |"
        )
    print(f"RMSE: medians {float(t['rmse_median']):.2f}, all 21 {float(t['rmse_all']):.2f}")


def published_recount(s: object, t: object) -> list[int]:
    from projector.model.summary import anchors_passed

    flop = s["anchor_log10_flop"].values  # type: ignore[index]
    return [int(n) for n in anchors_passed(flop, t["published"].sel(quantile=0.5).values)]  # type: ignore[index]


def default() -> None:
    run = Run("default", paths=PATHS)
    s = run.summary()
    ds = run.result()
    print(f"default: start {ds.attrs['start_date']} at 10^{ds.attrs['log10_start_compute']:.2f} "
          f"({ds.attrs['start_compute_source']})")  # fmt: skip
    for y in (2030, 2050):
        q = s["compute_quantile"].sel(year=y)
        lo, mid, hi = (float(q.sel(quantile=v)) for v in (0.025, 0.5, 0.975))
        print(f"default: {y} median 10^{mid:.2f} [95%: {lo:.2f}, {hi:.2f}]")
    p = float(s["p_crossed"].sel(anchor=published.MEDIAN_ANCHOR, year=2050))
    x = float(s["crossing_quantile"].sel(anchor=published.MEDIAN_ANCHOR, quantile=0.5))
    print(f"default: P(median anchor by 2050) {p:.2f}, median crossing {x:.1f}")


def main() -> None:
    for name in ("epoch-2022", "default"):
        rates(name)
    replication()
    default()
    if SNAPSHOT.is_file():
        rates("epoch-2022", SNAPSHOT)
        replication(SNAPSHOT)
    print(f"projector {pj.__version__}")


if __name__ == "__main__":
    main()
