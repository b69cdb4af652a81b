"""Reversion-date families: the one table, and the ``[[reversion]]`` rows that use it.

Dependency direction: imports ``errors`` and ``params`` only (scipy lazily, where a
probability is computed); ``scenario`` validates ``[[reversion]]`` with it, ``engine``
makes the mixture's kernel inputs and ``P(R <= s)`` from it, ``plots`` draws the prior
densities from it. A new family is one row of :data:`FAMILIES` (and one branch of
``kernels.mixture_draws``, which the row's ``code`` names).

Every family's parameters are in years: calendar years, or years after the start s
when a component says ``relative_to = "start"`` (then the ``shifted`` parameters move
with s; widths such as ``sd`` do not). ``lognormal`` is always in years after s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from projector.errors import InputError
from projector.inputs.declare import Param, check_number, key, row_keys

__all__ = ["FAMILIES", "RELATIVE", "Component", "Family", "calendar_params", "components"]

Floats = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Family:
    """One reversion-date distribution: what the kernel, validation and plots need."""

    name: str
    code: int  # branch of kernels.mixture_draws (its FAMILY_CODES)
    params: tuple[str, ...]  # in the kernel's order [years]
    shifted: tuple[int, ...]  # year-valued parameters moved by s under relative_to="start"
    always_after_start: bool  # lognormal: R = s + median * exp(sigma * z) > s
    problem: Callable[[Mapping[str, float]], str]  # "" when the parameters are valid
    below: Callable[[Floats, float], float]  # P(R <= s), parameters in calendar years
    pdf: Callable[[Floats, Floats, float], Floats] | None  # density [1/year]; None: a point

    @property
    def default_relative_to(self) -> str:
        return "start" if self.always_after_start else "calendar"


def _normal_below(p: Floats, s: float) -> float:
    from scipy import special

    return float(special.ndtr((s - p[0]) / p[1]))


def _uniform_below(p: Floats, s: float) -> float:
    a, b = p[0], p[1]
    return float(np.clip((s - a) / (b - a), 0.0, 1.0))


def _triangular_below(p: Floats, s: float) -> float:
    a, b, c = p[0], p[1], p[2]
    if s <= a:
        return 0.0
    if s >= c:
        return 1.0
    if s <= b:
        return (s - a) ** 2 / ((c - a) * (b - a))
    return 1.0 - (c - s) ** 2 / ((c - a) * (c - b))


def _normal_pdf(x: Floats, p: Floats, s: float) -> Floats:
    from scipy import stats

    return stats.norm.pdf(x, p[0], p[1])


def _lognormal_pdf(x: Floats, p: Floats, s: float) -> Floats:
    from scipy import stats

    after = np.clip(x - s, 1e-9, None)
    return np.where(x > s, stats.lognorm.pdf(after, p[1], scale=p[0]), 0)


def _uniform_pdf(x: Floats, p: Floats, s: float) -> Floats:
    from scipy import stats

    return stats.uniform.pdf(x, p[0], p[1] - p[0])


def _triangular_pdf(x: Floats, p: Floats, s: float) -> Floats:
    from scipy import stats

    lo, mode, hi = p[0], p[1], p[2]
    return stats.triang.pdf(x, (mode - lo) / (hi - lo), lo, hi - lo)


def _triangular_problem(p: Mapping[str, float]) -> str:
    ok = p["low"] <= p["mode"] <= p["high"] and p["low"] < p["high"]
    return "" if ok else "need low <= mode <= high and low < high"


#: The reversion families, in the order their names are listed in messages.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "normal",
            0,
            ("mean", "sd"),
            (0,),
            False,
            lambda p: "" if p["sd"] > 0 else "sd must be > 0",
            _normal_below,
            _normal_pdf,
        ),
        Family(
            "lognormal",
            1,
            ("median_years_after_start", "sigma"),
            (),
            True,
            lambda p: (
                ""
                if p["median_years_after_start"] > 0 and p["sigma"] > 0
                else "median_years_after_start and sigma must be > 0"
            ),
            lambda p, s: 0.0,
            _lognormal_pdf,
        ),
        Family(
            "uniform",
            2,
            ("low", "high"),
            (0, 1),
            False,
            lambda p: "" if p["low"] < p["high"] else "low must be < high",
            _uniform_below,
            _uniform_pdf,
        ),
        Family(
            "triangular",
            3,
            ("low", "mode", "high"),
            (0, 1, 2),
            False,
            _triangular_problem,
            _triangular_below,
            _triangular_pdf,
        ),
        Family(
            "point",
            4,
            ("year",),
            (0,),
            False,
            lambda p: "",
            lambda p, s: 1.0 if p[0] <= s else 0.0,
            None,
        ),
    )
}
#: What a component's year parameters are counted from.
RELATIVE = ("calendar", "start")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Component:
    """One reversion-date component (a ``[[reversion]]`` row): pick with ``weight``,
    draw from ``distribution``; the family's parameters follow the declared keys."""

    name: str = key("str", "", "component name, unique in the scenario", nonempty=True)
    weight: float = key("float", "1", "probability of this component", low=0, high=1)
    distribution: str = key("choice", "", "family", choices=tuple(FAMILIES))
    params: tuple[tuple[str, float], ...] = key(
        "floats", "years", "the family's parameters (keys named by the family)", row=False
    )
    # "calendar": year parameters are calendar years; "start": years after the start s.
    # lognormal is always in years after the start.
    relative_to: str = key(
        "choice", "", "what year parameters count from", choices=RELATIVE, default="calendar",
        init_default="calendar",
    )  # fmt: skip

    def param(self, name: str) -> float:
        return dict(self.params)[name]

    @property
    def family(self) -> Family:
        return FAMILIES[self.distribution]


_PARAM = Param("", "", "float", "years", "")  # every family parameter: a finite number [years]


def calendar_params(
    distribution: str, relative_to: str | None, values: Sequence[float], start_year: float
) -> Floats:
    """A component's parameters as the kernel takes them: (3,) in calendar years
    (padded with zeros), the year-valued ones moved by the start under ``relative_to =
    "start"``."""
    fam = FAMILIES[distribution]
    out = np.zeros(3)
    out[: len(values)] = values
    if relative_to == "start" and not fam.always_after_start:
        for i in fam.shifted:
            out[i] += start_year
    return out


def components(where: str, raw: Any) -> tuple[Component, ...]:
    """Validate ``[[reversion]]``: at least one row, unique names, weights summing to 1."""
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{where}: [[reversion]] must list at least one component")
    decl = {p.key: p for p in row_keys(Component)}
    comps = []
    for i, item in enumerate(raw):
        at = f"{where}: reversion[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{at} must be a table")
        dist = item.get("distribution")
        if dist not in FAMILIES:
            raise InputError(
                f"{at}: key 'distribution' must be one of {', '.join(FAMILIES)}, got {dist!r}"
            )
        fam = FAMILIES[dist]
        for k in item:
            if k not in decl and k not in fam.params:
                valid = ", ".join((*decl, *fam.params))
                raise InputError(f"{at}: unknown key '{k}' for {dist} (valid: {valid})")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{at}: key 'name' must be a non-empty string")
        weight = check_number(at, decl["weight"], item.get("weight"), float)
        params = []
        for k in fam.params:
            if k not in item:
                raise InputError(f"{at}: missing key '{k}' for distribution {dist}")
            params.append((k, check_number(at, dataclasses.replace(_PARAM, key=k), item[k], float)))
        problem = fam.problem(dict(params))
        if problem:
            raise InputError(f"{at}: {dist}: {problem}")
        relative = item.get("relative_to", fam.default_relative_to)
        if relative not in RELATIVE or (fam.always_after_start and relative != "start"):
            valid = f"'start' ({dist} is in years after the start)"
            if not fam.always_after_start:
                valid = "one of " + ", ".join(repr(r) for r in RELATIVE)
            raise InputError(f"{at}: key 'relative_to' must be {valid}, got {relative!r}")
        comps.append(
            Component(
                name=name,
                weight=weight,
                distribution=dist,
                params=tuple(params),
                relative_to=relative,
            )
        )
    names = [c.name for c in comps]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: reversion component names must be unique, got {names}")
    total = sum(c.weight for c in comps)
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"{where}: reversion weights must sum to 1, got {total:.6g}")
    return tuple(comps)
