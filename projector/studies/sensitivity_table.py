"""The sensitivity indices as one table a reader finishes (issue 24): outputs x keys, the
outputs that never vary listed once, and the indices whose interval is wider than the index.

Dependency direction: reads a :class:`~projector.studies.sensitivity.Sensitivity` only;
``sensitivity.to_markdown`` and the command line print what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from projector.studies.sensitivity import Sensitivity

__all__ = [
    "WIDE_INTERVAL_FLOOR",
    "constant_outputs",
    "matrix_markdown",
    "wide_interval_warning",
    "wide_intervals",
]

#: An index is flagged when its 95% interval's half-width exceeds the index itself and
#: this much (an interval of +-0.05 about 0 still says "negligible").
WIDE_INTERVAL_FLOOR = 0.05


def constant_outputs(sens: Sensitivity, /) -> list[str]:
    """Outputs that took one value in every run: no key moves them, so no index is shown."""
    return [o for o, y in sens.results.items() if np.ptp(np.asarray(y, dtype=float)) == 0]


def wide_intervals(sens: Sensitivity, /) -> list[tuple[str, str, str, float, float]]:
    """(output, key, index name, index, half-width) of every index whose 95% interval is
    wider than the index itself (:data:`WIDE_INTERVAL_FLOOR`): too few ``--samples``."""
    names = ("S1", "ST") if sens.method == "sobol" else ("mu_star",)
    constant = set(constant_outputs(sens))
    out = []
    for r in sens.rows:
        if r["output"] in constant:
            continue
        for name in names:
            v, conf = float(r[name]), float(r[f"{name}_conf"])
            if conf > max(abs(v), WIDE_INTERVAL_FLOOR):
                out.append((r["output"], r["key"], name, v, conf))
    return out


def wide_interval_warning(sens: Sensitivity, /) -> str:
    """One line about :func:`wide_intervals`, or '' when there are none."""
    wide = wide_intervals(sens)
    if not wide:
        return ""
    output, key, name, v, conf = max(wide, key=lambda t: t[4] - abs(t[3]))
    return (
        f"{len(wide)} sensitivity index(es) have a 95% interval wider than the index itself "
        f"(e.g. {name} {v:.2f} ± {conf:.2f} for {key} on {output}): they are not settled by "
        f"{sens.design.shape[0]} runs; rerun with more --samples"
    )


def matrix_markdown(sens: Sensitivity, /) -> list[str]:
    """The indices as one matrix: outputs x keys (S1 and ST with their 95% intervals, or
    mu* and sigma), outputs that never vary listed once below it, wide intervals flagged."""
    keys = [f.key for f in sens.factors]
    constant = constant_outputs(sens)
    wide = {(o, k, n) for o, k, n, _, _ in wide_intervals(sens)}
    by = {(r["output"], r["key"]): r for r in sens.rows}

    def mark(o: str, k: str, name: str) -> str:
        return " ‡" if (o, k, name) in wide else ""

    what = "S1 / ST" if sens.method == "sobol" else "mu* (sigma)"
    lines = [
        f"| output ({what}) | " + " | ".join(f"`{k}`" for k in keys) + " | range over runs |",
        "|---|" + "---:|" * (len(keys) + 1),
    ]
    for output, y in sens.results.items():
        if output in constant:
            continue
        cells = []
        for k in keys:
            r = by.get((output, k))
            if r is None:
                cells.append("")
            elif sens.method == "sobol":
                cells.append(
                    f"{r['S1']:.2f} ± {r['S1_conf']:.2f}{mark(output, k, 'S1')} / "
                    f"{r['ST']:.2f} ± {r['ST_conf']:.2f}{mark(output, k, 'ST')}"
                )
            else:
                cells.append(
                    f"{r['mu_star']:.3g} ± {r['mu_star_conf']:.2g}{mark(output, k, 'mu_star')} "
                    f"({r['sigma']:.3g})"
                )
        rng = f"{float(np.min(y)):.4g} to {float(np.max(y)):.4g}"
        lines.append(f"| `{output}` | " + " | ".join(cells) + f" | {rng} |")
    if constant:
        lines += [
            "",
            f"Outputs that took the same value in every run (no key varied here moves them, "
            f"so they have no indices): {', '.join(f'`{o}`' for o in constant)}.",
        ]
    warning = wide_interval_warning(sens)
    if warning:
        lines += ["", f"‡ {warning}."]
    return lines
