"""Dataset loaders: three formats, one normalised table, clear errors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from projector.errors import InputError
from projector.inputs.systems import decimal_year, load_dataset

from .conftest import SHARED_DATA, SNAPSHOT_2022

SHEET = """System,Domain,Organization(s),Publication date,Reference,Parameters,Training compute (FLOPs)
A,Vision,Lab,15/06/2012,Paper A,6.0E+07,4.7E+17
A-small,Vision,Lab,15/06/2012,Paper A,1.0E+07,1.0E+16
B,Language,Lab2,01/01/2000,Paper B,,1.0E+12
C,Language,Lab2,01/01/2001,Paper C,,
"""

AIRTABLE = """Model,Domain,Organization,Publication date,Reference,Parameters,Training compute (FLOP),Notability criteria
A,Vision,Lab,2012-06-15,Paper A,6.0E+07,4.7E+17,Highly cited
B,Language,Lab2,2000-01-01,Paper B,,1.0E+12,
C,Language,Lab2,2020-01-01,Paper C,,3e20,SOTA
"""


def _write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_decimal_year() -> None:
    assert decimal_year(dt.date(2020, 1, 1)) == 2020.0
    assert decimal_year(dt.date(2021, 7, 2)) == pytest.approx(2021 + 182 / 365)
    assert decimal_year(dt.date(2020, 12, 31)) == pytest.approx(2020 + 365 / 366)


def test_sheet_format_and_one_per_paper(tmp_path: Path) -> None:
    s = load_dataset(_write(tmp_path, SHEET))
    assert len(s) == 3  # C has no compute
    one = s.one_per_paper()
    assert sorted(one.name) == ["A", "B"]
    assert one.log10_compute[one.name == "A"][0] == pytest.approx(np.log10(4.7e17))
    assert s.date[0] == np.datetime64("2000-01-01")


def test_airtable_format_notable_only(tmp_path: Path) -> None:
    path = _write(tmp_path, AIRTABLE)
    notable = load_dataset(path)
    assert sorted(notable.name) == ["A", "C"]
    assert len(load_dataset(path, notable_only=False)) == 3


def test_until_and_between(tmp_path: Path) -> None:
    s = load_dataset(_write(tmp_path, AIRTABLE), notable_only=False)
    assert len(s.until(dt.date(2012, 6, 15))) == 2
    assert list(s.between(dt.date(2010, 1, 1), None).name) == ["A", "C"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", "not a recognised dataset"),
        (
            SHEET.replace("4.7E+17", "lots"),
            "line 2: column 'Training compute (FLOPs)' must be a number",
        ),
        (
            SHEET.replace("15/06/2012,Paper A,6", "2012-06-15,Paper A,6"),
            "line 2: column 'Publication date' must be a date DD/MM/YYYY",
        ),
        (SHEET.replace("4.7E+17", "-1"), "must be a finite number > 0"),
        (
            SHEET.replace("4.7E+17", "inf"),
            "line 2: column 'Training compute (FLOPs)' must be a finite",
        ),
        (
            SHEET.replace("4.7E+17", "1e400"),
            "line 2: column 'Training compute (FLOPs)' must be a finite",
        ),
        (SHEET.replace("6.0E+07", "1e999"), "line 2: column 'Parameters' must be a finite number"),
        (
            SHEET.replace("15/06/2012,Paper A,6", "15/06/2999,Paper A,6"),
            "line 2: column 'Publication date' is 2999-06-15, after today",
        ),
        (SHEET.rstrip("\n").rsplit(",", 2)[0] + "\n", "line 5: 5 field(s) where the header has 7"),
        (SHEET + 'D,Vision,"Lab,01/01/2003,Paper D,,1e12\n', "line 6: malformed CSV"),
        (
            SHEET + "E,Vision,Lab,01/01/2003,Paper E,," + "9" * 200_000 + "\n",
            "line 6: malformed CSV (field larger than field limit",
        ),
        ("System,Training compute (FLOPs)\nA,1e10\n", "missing column(s) 'Publication date'"),
        (SHEET.splitlines()[0] + "\n", "no rows with a training compute"),
    ],
)
def test_bad_files_name_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_dataset(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_bundled_format_reads_uncertainty_and_bounds(tmp_path: Path) -> None:
    head = "system,publication_date,training_compute_flop,source,uncertainty_factor,compute_bound\n"
    text = head + "A,2020-01-01,1e20,s1,10,\nB,2021-01-01,1e21,s2,,lower\nC,2022-01-01,1e22,s3,,\n"
    s = load_dataset(_write(tmp_path, text))
    assert s.log10_uncertainty_sd[0] == pytest.approx(1 / 1.6449)
    assert np.isnan(s.log10_uncertainty_sd[1:]).all()
    assert list(s.censored) == [False, True, False]
    assert list(s.uncensored().name) == ["A", "C"]
    assert list(s.take(np.array([1])).censored) == [True]
    with pytest.raises(
        InputError, match="line 2: uncertainty_factor must be empty or a number >= 1"
    ):
        load_dataset(_write(tmp_path, head + "A,2020-01-01,1e20,s1,0.5,\n"))


def test_epoch_confidence_labels_give_the_uncertainty(tmp_path: Path) -> None:
    text = AIRTABLE.replace("Notability criteria", "Notability criteria,Confidence")
    text = text.replace("Highly cited", "Highly cited,Confident").replace(
        "SOTA", "SOTA,Speculative"
    )
    text = text.replace("1.0E+12,", "1.0E+12,,")
    s = load_dataset(_write(tmp_path, text))
    assert s.log10_uncertainty_sd == pytest.approx([np.log10(3) / 1.6449, np.log10(30) / 1.6449])
    assert not s.censored.any()
    assert np.isnan(load_dataset(_write(tmp_path, SHEET)).log10_uncertainty_sd).all()


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read dataset"):
        load_dataset(tmp_path / "missing.csv")
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        load_dataset(bad)


def test_bundled_dataset_loads_and_covers_the_2022_span() -> None:
    s = load_dataset("bundled")
    assert s.label == "bundled" and len(s.sha256) == 64
    span = s.until(dt.date(2022, 2, 28)).one_per_paper()
    assert len(span) >= 120  # issue 2: the span of the 2022 study
    assert s.year.min() < 1960
    assert np.isfinite(s.log10_compute).all()


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("path", sorted(SHARED_DATA.glob("*.csv")) if SHARED_DATA.is_dir() else [])
def test_reference_snapshots_load(path: Path) -> None:
    s = load_dataset(path)
    assert len(s) > 90
    assert np.isfinite(s.year).all() and np.isfinite(s.log10_compute).all()


@pytest.mark.skipif(not SNAPSHOT_2022.is_file(), reason="../shared/data is absent")
def test_2022_snapshot_has_124_papers_at_the_study_cutoff() -> None:
    # The data README counts 135 rows with compute up to 2022-02-28, 124 after dedup by paper.
    s = load_dataset(SNAPSHOT_2022).until(dt.date(2022, 2, 28))
    assert len(s) == 135
    assert len(s.one_per_paper()) == 124


def test_bundled_schema_checks_the_new_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled file's own checks: compute_bound vocabulary, factor range, cut-off rows."""
    import projector.inputs.systems as data

    head = ",".join(data.BUNDLED_COLUMNS)
    good = "A,Lab,vision,2000-01-01,1e12,,s1,ops,,,params=1e5; tokens=1e6,n"
    cases = {
        good.replace("ops,,,", "ops,,upper,"): "line 2: compute_bound must be empty or 'lower'",
        good.replace("ops,,,", "ops,0.3,,"): "line 2: uncertainty_factor must be empty or a number",
        good.rsplit(",", 3)[0]: "line 2: 9 field(s) where the header has 12",
    }
    for row, message in cases.items():
        text = f"{head}\n{row}\n".encode()
        monkeypatch.setattr(data, "_bundled_bytes", lambda text=text: text)
        with pytest.raises(InputError, match=re.escape(message)):
            data.bundled_records()
