"""The README's ceilings figures ("Can it keep going?"), from three result folders.

Run from the repository root after
    .venv/bin/projector project default
    .venv/bin/projector project constrained --plot
    .venv/bin/projector project default --set ceilings.mode=saturate --out results/saturated
then ``.venv/bin/python docs/scripts/ceilings_figures.py``. Prints, per result, the 2030
and 2040 median and 90% band [log10 FLOP], P(above 2e29 FLOP in 2030) and, for a run with
ceilings, the share of paths held by each ceiling, the one reached first, the year growth
slows and the ceilings' medians.
"""

from __future__ import annotations

import numpy as np

import projector as pj


def _shares(da, dim: str) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{k} {float(da.sel({dim: k})):.2f}" for k in da[dim].values)


def main() -> None:
    for name in ("default", "constrained", "saturated"):
        ds = pj.open_result(f"results/{name}")
        years = list(ds.year.values)
        out = [name]
        for y in (2030, 2040):
            v = ds.log10_compute_yearly[:, years.index(y)].values
            lo, hi = np.quantile(v, [0.05, 0.95])
            out.append(f"{y}: median {np.median(v):.2f} 90% [{lo:.2f}, {hi:.2f}]")
        v30 = ds.log10_compute_yearly[:, years.index(2030)].values
        out.append(f"P(>2e29 in 2030) {np.mean(v30 > np.log10(2e29)):.3f}")
        s = pj.summarize(ds)
        if "p_bound" in s:
            for y in (2030, 2040):
                out.append(f"bound {y}: " + _shares(s.p_bound.sel(year=y), "constraint"))
            out.append("first: " + _shares(s.p_first_reached, "first"))
            slow = [float(s.slow_year_quantile.sel(quantile=q)) for q in (0.5, 0.025, 0.975)]
            out.append(
                f"slow year median {slow[0]:.1f} [{slow[1]:.1f}, {slow[2]:.1f}]; "
                f"start at ceiling {float(s.p_start_at_ceiling):.3f}"
            )
            for y in (2030, 2040):
                q = s.ceiling_quantile.sel(year=y, quantile=0.5)
                out.append(f"ceiling medians {y}: " + _shares(q, "constraint"))
        print("\n  ".join(out))


if __name__ == "__main__":
    main()
