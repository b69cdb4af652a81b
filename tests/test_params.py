"""The declaration (inputs.params, inputs.reversion) drives validation, the scenario's
fields, provenance and the result check; the one calendar (projector.dates)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector import dates
from projector.errors import InputError
from projector.inputs.declare import describe
from projector.inputs.params import PARAMS, Anchor, CeilingSpec, DataSpec, Scenario, TrendWindow
from projector.inputs.reversion import FAMILIES, Component, calendar_params
from projector.inputs.scenario import load_scenario, override, settable_keys
from projector.model import kernels
from projector.pipeline.checks import CUBE_ATTRS

from .strategies import param, values

#: Keys any value in their declared range can be set to, whatever the other keys say.
FREE = [
    k
    for k in settable_keys()
    if k.split(".")[0] in ("growth", "start", "seed", "paths", "steps_per_year")
    and param(k).kind in ("int", "float", "choice", "bool")
]


def test_every_scalar_key_is_a_field_of_the_scenario() -> None:
    attrs = (
        {f.name for f in dataclasses.fields(Scenario)}
        | {f.name for f in dataclasses.fields(DataSpec)}
        | {f.name for f in dataclasses.fields(CeilingSpec)}
    )
    for table, params in PARAMS.items():
        for p in params:
            assert p.table == table
            assert p.attr in attrs or p.key == "extends", p.dotted
            assert p.help, p.dotted


@pytest.mark.parametrize("cls", [Anchor, TrendWindow, Component])
def test_every_row_field_is_documented(cls: type) -> None:
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("projector.param")
        assert meta is None or meta.help, f.name


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_declared_value_is_accepted_and_lands_on_its_field(data: st.DataObject) -> None:
    base = load_scenario("epoch-2022")
    key = data.draw(st.sampled_from(FREE))
    value = data.draw(values(key, typical=False))
    scen = override(base, {key: value})
    assert getattr(scen, param(key).attr) == value
    assert scen.sha256 != base.sha256 or getattr(base, param(key).attr) == value


@pytest.mark.parametrize("key", [k for k in FREE if param(k).high is not None])
def test_a_value_above_the_declared_range_is_refused_naming_the_key(key: str) -> None:
    p = param(key)
    assert p.high is not None
    bad = int(p.high) + 1 if p.kind == "int" else p.high * 2 + 1
    with pytest.raises(
        InputError, match=f"key '{p.key}' must be {describe(p)}".replace("[", r"\[")
    ):
        override(load_scenario("epoch-2022"), {key: bad})


def test_result_check_reads_the_declared_attributes() -> None:
    summarized = [p.result for ps in PARAMS.values() for p in ps if p.summarized]
    assert summarized and set(summarized) <= set(CUBE_ATTRS)
    assert len(set(CUBE_ATTRS)) == len(CUBE_ATTRS)


# --- reversion families -------------------------------------------------------------


def test_family_codes_are_the_kernels() -> None:
    assert {name: f.code for name, f in FAMILIES.items()} == kernels.FAMILY_CODES


@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.pdf is not None])
@pytest.mark.parametrize("start", [2018.0, 2031.5, 2045.0])
def test_mass_before_the_start_is_the_density_integrated(name: str, start: float) -> None:
    fam = FAMILIES[name]
    raw = {
        "normal": [2030.0, 5.0],
        "lognormal": [8.0, 0.6],
        "uniform": [2025.0, 2040.0],
        "triangular": [2024.0, 2030.0, 2041.0],
    }[name]
    p = calendar_params(name, fam.default_relative_to, raw, start)
    x = np.linspace(1950.0, start, 200_001)
    assert fam.pdf is not None
    dens = fam.pdf(x, p, start)
    integral = float(np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(x)))
    assert fam.below(p, start) == pytest.approx(integral, abs=2e-4)


def test_relative_components_move_year_parameters_not_widths() -> None:
    assert calendar_params("normal", "start", [8.0, 5.0], 2022.0).tolist() == [2030.0, 5.0, 0.0]
    assert calendar_params("normal", "calendar", [2030.0, 5.0], 2022.0)[0] == 2030.0
    assert calendar_params("lognormal", "start", [8.0, 0.5], 2022.0)[0] == 8.0
    assert calendar_params("triangular", "start", [1.0, 2.0, 4.0], 2020.0).tolist() == [
        2021.0,
        2022.0,
        2024.0,
    ]


# --- the calendar -----------------------------------------------------------------


@given(day=st.integers(0, 200 * 366))
def test_a_date_survives_the_round_trip_through_a_decimal_year(day: int) -> None:
    date = dt.date(1950, 1, 1) + dt.timedelta(days=day)
    year = dates.decimal_year(date)
    assert math.floor(year) == date.year
    assert dates.date_of_decimal_year(year) == date
    assert dates.iso_date(year) == date.isoformat()


@given(year=st.floats(1950, 2200))
def test_a_decimal_year_falls_on_the_day_it_rounds_down_to(year: float) -> None:
    day = dates.date_of_decimal_year(year, nearest=False)
    assert dates.decimal_year(day) <= year + 1e-9
    assert abs((dates.date_of_decimal_year(year) - day).days) <= 1
