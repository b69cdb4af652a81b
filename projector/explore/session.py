"""What the explorer shows and changes, without the page: controls, reruns, tables, TOML.

Dependency direction: ``pipeline.run`` -> ``session`` -> ``explore.page`` (the Bokeh
document). Nothing here imports Bokeh, so the state, the validation of typed values, the
numbers shown and the saved scenario are tested without a browser.

A :class:`Session` holds the current :class:`~projector.pipeline.run.Run` (10,000 paths
by default, in memory). Each change is ``Run.rerun({key: value})`` on the current run:
validated like ``--set`` (an :class:`~projector.errors.InputError` leaves the session as
it was), computed on the warm path, summarised exactly. :func:`scenario_toml` writes the
current resolved scenario as a complete TOML file, so ``projector project FILE`` runs
the very scenario the page shows and gives the same figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projector.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

    from projector.inputs.scenario import Scenario
    from projector.pipeline.run import Run

__all__ = [
    "PATHS",
    "SAMPLE_PATHS",
    "Control",
    "Session",
    "controls",
    "fmt_compute",
    "fmt_prob",
    "fmt_year",
    "headline",
    "scenario_toml",
]

#: Paths of each rerun, and full paths kept for the sample lines of the fan chart.
PATHS = 10_000
SAMPLE_PATHS = 20
#: Quantiles of the headline table (the summary always has them).
LOW, MID, HIGH = 0.025, 0.5, 0.975


@dataclasses.dataclass(frozen=True)
class Control:
    """One input on the page: a scenario key by dotted name (``--set`` syntax).

    ``kind``: 'slider' (``low``, ``high``, ``step``), 'select' (``options``) or 'text'
    (a typed value, parsed as ``--set`` parses it). ``group`` is the page section.
    """

    key: str
    label: str
    group: str
    kind: str
    value: Any
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    options: tuple[str, ...] = ()


#: Slider ranges of reversion parameters: (low, high, step) for years after the start
#: and for calendar years; spreads (sd, sigma) are in years and need no shift.
_AFTER_START = (0.0, 40.0, 0.5)
_CALENDAR = (2020.0, 2100.0, 0.5)
_SPREAD = {"sd": (0.25, 20.0, 0.25), "sigma": (0.05, 3.0, 0.05)}
_CEILING_FACTORS = (
    "power_run",
    "energy_efficiency",
    "mfu",
    "duration_run",
    "chip_stock",
    "chip_share_run",
    "budget_run",
    "price_performance",
    "data_stock",
)


def _span(low: float, high: float, value: float) -> tuple[float, float]:
    """A slider range that holds the scenario's own value."""
    return min(low, math.floor(value)), max(high, math.ceil(value))


def controls(scen: Scenario) -> list[Control]:
    """The keys that matter, with the scenario's values: growth, the reversion story,
    the start compute, the ceilings (where the scenario has them), the anchors."""
    out = []
    dl_year = float(scen.data.dl_start.year)
    lo, hi = _span(2000.0, 2018.0, dl_year)
    what = "Deep-Learning era from (year): the DL rate's systems"
    out.append(Control("data.dl_start", what, "Growth", "slider", dl_year, lo, hi, 1.0))
    out.append(Control("growth.fit", "DL-era rate fitted on", "Growth", "select", scen.fit,
                       options=("all", "frontier")))  # fmt: skip
    m = float(scen.moore_doubling_months)
    lo, hi = _span(6.0, 60.0, m)
    out.append(Control("growth.moore_doubling_months", "Long-run doubling time (months)",
                       "Growth", "slider", m, lo, hi, 0.5))  # fmt: skip
    for c in scen.reversion:
        for name, value in c.params:
            if name in _SPREAD:
                lo, hi, step = _SPREAD[name]
            elif c.relative_to == "start" or name == "median_years_after_start":
                lo, hi, step = _AFTER_START
            else:
                lo, hi, step = _CALENDAR
            lo, hi = _span(lo, hi, value)
            what = "spread" if name in _SPREAD else "centre"
            unit = "" if name == "sigma" else (
                " (years after start)" if lo < 1000 else " (year)")  # fmt: skip
            out.append(Control(f"reversion.{c.name}.{name}", f"{c.name}: {what}, {name}{unit}",
                               "Reversion", "slider", float(value), lo, hi, step))  # fmt: skip
        out.append(Control(f"reversion.{c.name}.weight", f"{c.name}: weight", "Reversion",
                           "slider", float(c.weight), 0.0, 1.0, 0.01))  # fmt: skip
    start = scen.start_compute
    shown = start if isinstance(start, str) else f"{start:g}"
    what = "Start compute C(s): 'frontier', 'trend' or log10 FLOP"
    out.append(Control("start.compute", what, "Start", "text", shown))
    if scen.ceilings.mode != "off":
        cs = scen.ceilings
        out.append(Control("ceilings.mode", "Ceilings", "Ceilings", "select", cs.mode,
                           options=("off", "report", "clip", "saturate")))  # fmt: skip
        what = "correlation of the constraints"
        out.append(Control("ceilings.correlation", what, "Ceilings", "slider",
                           float(cs.correlation), 0.0, 1.0, 0.05))  # fmt: skip
        for name in _CEILING_FACTORS:
            v = float(getattr(cs, name))
            lo, hi = _span(0.25, 4.0, v)
            out.append(Control(f"ceilings.{name}", f"{name.replace('_', ' ')} (x table)",
                               "Ceilings", "slider", v, lo, hi, 0.05))  # fmt: skip
    for a in scen.anchors:
        lo, hi = _span(24.0, 45.0, a.log10_flop)
        out.append(Control(f"anchors.{a.name}.log10_flop", f"{a.name} (log10 FLOP)", "Anchors",
                           "slider", float(a.log10_flop), lo, hi, 0.05))  # fmt: skip
    out.append(Control("seed", "Seed", "Run", "text", str(scen.seed)))
    return out


def current_value(scen: Scenario, key: str) -> Any:
    """The value of ``key`` (a control's) in a resolved scenario, as the control shows it."""
    parts = key.split(".")
    if parts[0] == "reversion":
        c = next(c for c in scen.reversion if c.name == parts[1])
        return float(c.weight) if parts[2] == "weight" else float(c.param(parts[2]))
    if parts[0] == "anchors":
        return float(next(a for a in scen.anchors if a.name == parts[1]).log10_flop)
    if key == "data.dl_start":
        return float(scen.data.dl_start.year)
    if key == "growth.fit":
        return scen.fit
    if key == "growth.moore_doubling_months":
        return float(scen.moore_doubling_months)
    if key == "start.compute":
        s = scen.start_compute
        return s if isinstance(s, str) else f"{s:g}"
    if key == "seed":
        return str(scen.seed)
    if parts[0] == "ceilings":
        v = getattr(scen.ceilings, parts[1])
        return v if isinstance(v, str) else float(v)
    raise KeyError(key)


def _typed(key: str, value: Any) -> Any:
    """A control's value as the scenario key takes it."""
    if key == "data.dl_start":
        return dt.date(round(float(value)), 1, 1)
    if isinstance(value, str):
        from projector.inputs.scenario import parse_set

        text = value.strip()
        if not text:
            raise InputError(f"{key}: empty; type a value")
        return parse_set(f"{key}={text}")[1]
    return value


# --- the numbers shown ------------------------------------------------------------------


def fmt_year(y: float) -> str:
    return "never" if not math.isfinite(y) else f"{y:.1f}"


def fmt_compute(v: float) -> str:
    return f"{v:.2f}"


def fmt_prob(p: float) -> str:
    return f"{p:.2f}"


def headline(summary: xr.Dataset) -> dict[str, list[list[str]]]:
    """The headline tables as text cells, from a summary (the page and the tests):
    'anchors' (anchor, log10 FLOP, median crossing, 95% interval, P(never)) and
    'compute' (report year, median log10 compute, 95% interval)."""
    q = summary["quantile"].values
    i_lo, i_mid, i_hi = (int(np.flatnonzero(np.isclose(q, v))[0]) for v in (LOW, MID, HIGH))
    cq = summary["crossing_quantile"].values
    anchors = [
        [
            str(name),
            f"{float(summary['anchor_log10_flop'].values[k]):.2f}",
            fmt_year(cq[k, i_mid]),
            f"[{fmt_year(cq[k, i_lo])}, {fmt_year(cq[k, i_hi])}]",
            fmt_prob(float(summary["p_never"].values[k])),
        ]
        for k, name in enumerate(summary["anchor"].values)
    ]
    years = summary["year"].values
    comp = summary["compute_quantile"].values
    report = [float(y) for y in summary.attrs.get("report_years", [])]
    compute = [
        [
            f"{y:g}",
            fmt_compute(comp[k, i_mid]),
            f"[{fmt_compute(comp[k, i_lo])}, {fmt_compute(comp[k, i_hi])}]",
        ]
        for k, y in enumerate(years)
        if any(abs(y - r) < 1e-9 for r in report)
    ]
    return {"anchors": anchors, "compute": compute}


# --- the saved scenario -------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise InputError(f"cannot write {v} to a scenario file")
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise InputError(f"cannot write a {type(v).__name__} to a scenario file")


def _toml(tree: dict[str, Any]) -> str:
    """A scenario's raw tree as TOML: scalars, then tables, then arrays of tables."""
    lines: list[str] = []
    tables = {k: v for k, v in tree.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in tree.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for k, v in tree.items():
        if k not in tables and k not in arrays:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in tables.items():
        lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, rows in arrays.items():
        for row in rows:
            lines += ["", f"[[{k}]]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in row.items()]
    return "\n".join(lines) + "\n"


def scenario_toml(scen: Scenario, name: str | None = None) -> str:
    """The resolved scenario (every key, ``extends`` already merged, paths absolute) as a
    complete scenario file, named ``name``: ``projector project`` on it runs this scenario."""
    raw = json.loads(json.dumps(scen.raw, default=lambda o: {"__date__": o.isoformat()}))

    def dates(obj: Any) -> Any:
        if isinstance(obj, dict):
            if set(obj) == {"__date__"}:
                return dt.date.fromisoformat(obj["__date__"])
            return {k: dates(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [dates(v) for v in obj]
        return obj

    raw = dates(raw)
    raw["name"] = name or scen.name
    was = f"saved by projector explore from {scen.source}"
    changes = ", ".join(f"{k}={v}" for k, v in scen.overrides) or "none"
    head = [f"# {was}", f"# changes: {changes}"]
    return "\n".join(head) + "\n" + _toml(raw)


# --- the session --------------------------------------------------------------------------


class Session:
    """The explorer's state: the current run, its summary and what the page shows."""

    def __init__(
        self, scenario: str | Path | Scenario | None = None, *, paths: int = PATHS,
        run: Run | None = None,
    ) -> None:  # fmt: skip
        from projector.pipeline.run import Run

        if run is None:
            if scenario is None:
                raise InputError("Session: give a scenario or a run")
            run = Run(scenario, paths=paths, keep_paths=SAMPLE_PATHS)
        self.run: Run = run
        self.seconds = 0.0
        self.count = 0
        self._compute()
        self.controls = controls(self.run.resolve())

    def fork(self) -> Session:
        """A new session from this one's first run (one per browser tab)."""
        out = Session(run=self.run)
        out.seconds = self.seconds
        return out

    @property
    def scenario(self) -> Scenario:
        return self.run.resolve()

    def _compute(self, t0: float | None = None) -> None:
        t0 = time.perf_counter() if t0 is None else t0
        self.dataset = self.run.result()
        self.summary = self.run.summary()
        self.seconds = time.perf_counter() - t0
        self.count += 1

    def change(self, key: str, value: Any) -> None:
        """Rerun with ``key`` set to ``value``; an InputError leaves the session as it was."""
        t0 = time.perf_counter()
        nxt = self.run.rerun({key: _typed(key, value)})
        nxt.result()  # the plan's checks and the run: errors leave self.run as it was
        self.run = nxt
        self._compute(t0)

    def set_text(self, text: str) -> None:
        """A ``KEY=VALUE`` typed in the page's free box (any scalar key, as ``--set``)."""
        from projector.inputs.scenario import parse_set

        t0 = time.perf_counter()
        key, value = parse_set(text)
        nxt = self.run.rerun({key: value})
        nxt.result()
        self.run = nxt
        self._compute(t0)

    def values(self) -> dict[str, Any]:
        """Each control's value in the current scenario (after weights were shared out)."""
        return {c.key: current_value(self.scenario, c.key) for c in self.controls}

    def save(self, path: str | Path, name: str | None = None) -> Path:
        """The current scenario as a TOML file at ``path`` (written to a temporary name and
        renamed); ``name`` defaults to the file's stem."""
        from projector.pipeline.fileio import atomic_path

        target = Path(path).expanduser()
        if target.suffix != ".toml":
            raise InputError(f"{target}: a scenario file name must end in .toml")
        text = scenario_toml(self.scenario, name or target.stem)
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return target.resolve()

    def fan(self) -> dict[str, np.ndarray]:
        """The fan chart's bands (year, the quantiles 2.5/25/50/75/97.5 %)."""
        s = self.summary
        q = s["quantile"].values
        cq = s["compute_quantile"].values
        out = {"year": s["year"].values.astype(float)}
        for label, v in (("lo95", 0.025), ("lo50", 0.25), ("mid", 0.5), ("hi50", 0.75),
                         ("hi95", 0.975)):  # fmt: skip
            out[label] = cq[:, int(np.flatnonzero(np.isclose(q, v))[0])].astype(float)
        return out

    def samples(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The kept full paths (x, y lists) for thin lines behind the bands."""
        ds = self.dataset
        t = ds["time"].values
        full = ds["log10_compute"].values[:SAMPLE_PATHS].astype(float)
        return [t] * full.shape[0], list(full)

    def crossing(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(year, anchor names, P(crossed by year) (anchor, year))."""
        s = self.summary
        return (
            s["year"].values.astype(float),
            [str(a) for a in s["anchor"].values],
            s["p_crossed"].values.astype(float),
        )
