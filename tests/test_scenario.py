"""Scenario parsing, `extends`, and validation messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from projector.errors import InputError
from projector.inputs.scenario import PARAMS, load_scenario, scenario_dir

SHIPPED = sorted(p.stem for p in scenario_dir().glob("*.toml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_validate(name: str) -> None:
    scen = load_scenario(name)
    assert scen.name == name
    assert abs(sum(c.weight for c in scen.reversion) - 1) < 1e-9
    assert len(scen.sha256) == 64


def test_epoch_2022_is_the_study() -> None:
    s = load_scenario("epoch-2022")
    assert s.data.cutoff == dt.date(2022, 2, 28)
    assert s.start_year == 2022.0 and s.end_year == 2100.0 and s.steps_per_year == 12
    assert s.moore_units == "published-notebook" and s.weight_shape == "gaussian"
    assert [(c.name, c.weight, c.param("mean"), c.param("sd")) for c in s.reversion] == [
        ("bearish", 0.75, 2030.0, 5.0),
        ("middle", 0.2, 2034.0, 5.0),
        ("bullish", 0.05, 2040.0, 5.0),
    ]
    assert {a.name: a.log10_flop for a in s.anchors}["median-anchor"] == 34.36
    assert s.data.pre_dl_start <= dt.date(1950, 1, 1)


def test_default_is_the_calibrated_method_on_all_data() -> None:
    d, c, e = load_scenario("default"), load_scenario("calibrated"), load_scenario("epoch-2022")
    assert d.moore_units == "consistent" and d.start_year is None and d.data.cutoff is None
    assert d.reversion == c.reversion and d.anchors == e.anchors
    assert d.frontier_paths == "record-process" and d.reversion_before_start == "truncate"
    old = load_scenario("calibrated-deviations")  # calibrated before issue 19
    assert old.frontier_paths == "levels" and old.frontier_noise == "resampled"
    assert old.frontier_noise_scale == 0.8 and old.reversion == c.reversion
    # The study's stories, told relative to the start: ~8, ~12 and ~18 more years.
    assert [(r.relative_to, r.param("mean"), r.weight) for r in d.reversion] == [
        ("start", 8.0, 0.75),
        ("start", 12.0, 0.2),
        ("start", 18.0, 0.05),
    ]


def test_variant_overrides_only_weights() -> None:
    v, d = load_scenario("bullish-weights"), load_scenario("default")
    assert [c.weight for c in v.reversion] == [0.25, 0.4, 0.35]
    assert v.anchors == d.anchors and v.moore_units == d.moore_units
    assert v.sha256 != d.sha256


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


BASE = 'name = "x"\nextends = "default"\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("paths = 0\n", "key 'paths' must be an integer in [1, 10000000]"),
        ("paths = 1.5\n", "key 'paths' must be an integer"),
        ("seed = -1\n", "key 'seed'"),
        ("start_year = 'soon'\n", "key 'start_year' must be a number in [1950, 2200]"),
        ("bogus = 1\n", "unknown key 'bogus' (valid: "),
        (
            "[growth]\nmoore_units = 'log'\n",
            "key 'moore_units' must be one of 'consistent', 'published-notebook'",
        ),
        ("[growth]\nwieght_shape = 'gaussian'\n", "unknown key 'growth.wieght_shape'"),
        ("[data]\ncutoff = 'yesterday'\n", "key 'cutoff' must be an ISO date"),
        ("[data]\ncutoff = 1999-01-01\n", "key 'data.cutoff' must be after data.dl_start"),
        ("[report]\nyears = [2300]\n", "key 'report.years' has 2300"),
        ("[report]\nquantiles = [0]\n", "key 'report.quantiles'"),
        ("[start]\ncompute = 'huge'\n", "key 'compute' must be a number in [0, 60] [log10 FLOP]"),
        (
            "[[reversion]]\nname='a'\nweight=0.5\ndistribution='normal'\nmean=2030\nsd=5\n",
            "reversion weights must sum to 1, got 0.5",
        ),
        (
            "[[reversion]]\nname='a'\nweight=1\ndistribution='beta'\n",
            "key 'distribution' must be one of normal, lognormal, uniform, triangular, point",
        ),
        (
            "[[reversion]]\nname='a'\nweight=1\ndistribution='normal'\nmean=2030\n",
            "missing key 'sd' for distribution normal",
        ),
        (
            "[[reversion]]\nname='a'\nweight=1\ndistribution='normal'\nmean=2030\nsd=0\n",
            "sd must be > 0",
        ),
        (
            "[[reversion]]\nname='a'\nweight=1\ndistribution='uniform'\nlow=2030\nhigh=2020\n",
            "low must be < high",
        ),
        (
            "[[reversion]]\nname='a'\nweight=1\ndistribution='point'\nyear=2030\nsd=1\n",
            "unknown key 'sd' for point (valid: name, weight, distribution, relative_to, year)",
        ),
        ("[[anchors]]\nname='a'\nlog10_flop='big'\n", "anchors[0]: key 'log10_flop'"),
        (
            "[[anchors]]\nname='a'\nlog10_flop=30\n[[anchors]]\nname='a'\nlog10_flop=31\n",
            "anchor names must be unique",
        ),
        ("end_year = 2000\n", "key 'end_year' must be after start_year"),
    ],
)
def test_bad_values_name_the_key_and_expectation(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, BASE + body.replace("start_year = 'soon'", "start_year = 'soon'"))
    if "end_year" in body:
        path = _write(tmp_path, BASE + "start_year = 2022.0\n" + body)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    text = str(info.value)
    assert str(path) in text
    assert message in text
    assert "\n" not in text


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "name = \n"))
    with pytest.raises(InputError, match="no such scenario"):
        load_scenario("does-not-exist")
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_extends_cycle_and_missing_parent(tmp_path: Path) -> None:
    _write(tmp_path, 'name = "a"\nextends = "b.toml"\n', "a.toml")
    _write(tmp_path, 'name = "b"\nextends = "a.toml"\n', "b.toml")
    with pytest.raises(InputError, match="forms a cycle"):
        load_scenario(tmp_path / "a.toml")
    with pytest.raises(InputError, match="key 'extends'"):
        load_scenario(_write(tmp_path, 'name = "c"\nextends = "nowhere"\n', "c.toml"))


def test_dataset_path_is_relative_to_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    p = _write(sub, BASE + '[data]\ndataset = "../data.csv"\n')
    assert load_scenario(p).data.dataset == str((tmp_path / "data.csv").resolve())


def test_every_parameter_is_documented() -> None:
    for section in PARAMS.values():
        for p in section:
            assert p.help, p.key
