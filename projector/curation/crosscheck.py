"""Cross-check the bundled dataset against another dataset (e.g. an Epoch export).

Dependency direction: ``data`` -> ``crosscheck`` -> ``cli``.

Systems are matched by name and date: names are compared after lower-casing and
dropping everything but letters and digits, with and without any parenthesised
part, and failing an exact match, where one name extends the other ("XLNet-Large"
and "XLNet"); a match must also lie within ``max_days`` of the bundled date.
The other dataset decides nothing by itself: a large difference is a prompt to go
back to the cited source, and a row whose figure stands carries a note saying why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from projector.inputs.systems import Systems

__all__ = ["Match", "match_systems", "spread"]


@dataclasses.dataclass(frozen=True)
class Match:
    """A bundled row and its counterpart in the other dataset."""

    system: str
    date: str
    other_name: str
    other_date: str
    log10_ours: float
    log10_other: float
    notes: str

    @property
    def log10_diff(self) -> float:
        """log10(ours / other) [OOM]."""
        return self.log10_ours - self.log10_other


def _keys(name: str) -> set[str]:
    bare = re.sub(r"\([^)]*\)", "", name)
    return {k for k in (_norm(name), _norm(bare)) if k}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def match_systems(
    records: Sequence[Mapping[str, str]], other: Systems, /, *, max_days: int = 120
) -> list[Match]:
    """Match bundled ``records`` to rows of ``other`` by name, then nearest date."""
    index: dict[str, list[int]] = {}
    for i, name in enumerate(other.name):
        for key in _keys(str(name)):
            index.setdefault(key, []).append(i)
    out = []
    for row in records:
        date = dt.date.fromisoformat(row["publication_date"])
        mine = _keys(row["system"])
        candidates = {i for key in mine for i in index.get(key, [])}
        if not candidates:  # "XLNet-Large" vs "XLNet": one name extends the other
            candidates = {
                i
                for key, rows in index.items()
                if len(key) >= 4 and any(k.startswith(key) or key.startswith(k) for k in mine)
                for i in rows
            }
        best, best_days = None, max_days + 1
        for i in candidates:
            days = abs((other.date[i].astype(dt.date) - date).days)
            if days < best_days:
                best, best_days = i, days
        if best is None:
            continue
        out.append(
            Match(
                system=row["system"],
                date=row["publication_date"],
                other_name=str(other.name[best]),
                other_date=str(other.date[best]),
                log10_ours=math.log10(float(row["training_compute_flop"])),
                log10_other=float(other.log10_compute[best]),
                notes=row.get("notes", ""),
            )
        )
    return out


def spread(matches: Sequence[Match], /) -> dict[str, float]:
    """Summary of log10(ours / other): n, median, mean |diff| and quantiles [OOM]."""
    d = np.array([m.log10_diff for m in matches])
    if d.size == 0:
        return {"n": 0.0}
    q = np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "n": float(d.size),
        "median": float(q[2]),
        "mean_abs": float(np.mean(np.abs(d))),
        "q05": float(q[0]),
        "q25": float(q[1]),
        "q75": float(q[3]),
        "q95": float(q[4]),
        "over_factor_3": float(np.sum(np.abs(d) > math.log10(3))),
        "over_half_oom": float(np.sum(np.abs(d) > 0.5)),
    }
