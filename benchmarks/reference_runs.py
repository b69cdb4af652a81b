"""Two reference implementations of a whole run, timed end to end by bench_kernels.py.

``numpy``: the same method in plain NumPy (the twins of ``projector.model.twins``, with the
bootstrap OLS vectorised over paths instead of the twin's per-path ``np.polyfit`` loop so
that the reference is a fair one), the same random draws, the same yearly grid and
summaries (quantiles over all paths), written as an uncompressed ``.npz``.

``netcdf``: what ``projector project`` did before the streamed stores: the whole run in
memory (``Run(...).result()``, every full path kept: what ``engine.run`` and
``to_dataset`` did), its summaries, and the cube written
to NetCDF with zlib (h5netcdf), as the old ``results.write_result`` did.

Usage: ``python benchmarks/reference_runs.py {numpy,netcdf} PATHS OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

#: The scenario timed: the method default had until issue 19 (smooth paths and resampled
#: deviations), which the NumPy reference (the twins) implements; the record process that
#: default uses now has kernels of its own (``record_process``), timed by the kernel table.
BENCH_SCENARIO = "calibrated-deviations"


def _numpy(paths: int, out: Path) -> None:
    from projector.inputs.scenario import load_scenario, override
    from projector.inputs.systems import load_dataset
    from projector.model import engine, twins
    from projector.model.cube import yearly_grid, yearly_values
    from projector.model.draws import draws

    scen = override(load_scenario(BENCH_SCENARIO), {"paths": paths})
    p = engine.plan(scen, load_dataset(scen.data.dataset))
    years = yearly_grid(p.times, scen.report_years)
    parts: dict[str, list[np.ndarray]] = {"yearly": [], "crossing": [], "growth_dl": []}
    for first, stop in engine.chunk_bounds(paths, 25_000):
        d = draws(scen.seed, first, stop, len(p.t_dl), len(p.t_pre), False)
        slopes = []
        for t, y, idx in ((p.t_dl, p.y_dl, d.idx_dl), (p.t_pre, p.y_pre, d.idx_pre)):
            tb, yb = t[idx], y[idx]
            tc = tb - tb.mean(axis=1, keepdims=True)
            slopes.append((tc * (yb - yb.mean(axis=1, keepdims=True))).sum(1) / (tc * tc).sum(1))
        g_dl, g_pre = slopes
        g_moore = np.sqrt(g_pre * p.growth_ref)
        z, u = engine._truncate(p, d)
        rev, comp = np.empty(stop - first), np.empty(stop - first, dtype=np.int64)
        twins.mixture_draws(d.u_pick, z, u, p.cum_weights, p.family, p.params,
                            p.eras.start_year, rev, comp)  # fmt: skip
        c = np.empty((stop - first, p.times.size))
        twins.integrate_paths(p.times, p.eras.start_year, p.eras.log10_start, g_dl, g_moore,
                              rev, p.shape, p.width, c)  # fmt: skip
        cross = np.empty((stop - first, p.thresholds.size))
        twins.first_crossing(p.times, c, p.thresholds, cross)
        parts["yearly"].append(yearly_values(p.times, c, years).astype(np.float32))
        parts["crossing"].append(cross)
        parts["growth_dl"].append(g_dl)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    q = np.quantile(arrays["yearly"], [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
    cross = np.where(np.isnan(arrays["crossing"]), np.inf, arrays["crossing"])
    qc = np.quantile(cross, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0, method="inverted_cdf")
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "numpy_reference.npz", quantiles=q, crossing_quantiles=qc, **arrays)


def _netcdf(paths: int, out: Path) -> None:
    from projector.inputs.scenario import load_scenario, override
    from projector.model.summary import summarize
    from projector.pipeline.run import Run

    scen = override(load_scenario(BENCH_SCENARIO), {"paths": paths})
    ds = Run(scen, chunk_paths=2000).result().drop_vars("log10_compute_yearly")
    # the compute and the anchor tables, one summarize each (as the old row-dict helpers)
    summarize(ds)
    summarize(ds)
    encoding: dict[str, dict[str, object]] = {
        str(name): {"zlib": True, "complevel": 4, "shuffle": True} for name in ds.data_vars
    }
    encoding["log10_compute"]["dtype"] = "float32"
    out.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(out / "projection.nc", engine="h5netcdf", encoding=encoding)


if __name__ == "__main__":
    kind, n, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    {"numpy": _numpy, "netcdf": _netcdf}[kind](n, folder)
