"""Epoch's 2026 export formats and ``projector data diff`` (issue 22, item 2).

Every Epoch file here is hand-made: the headers are those of Epoch's 2026 exports as
republished in public repositories, the rows are invented. The bundled side is a
hand-made bundled CSV too (patched in), so no test depends on the bundled row count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import projector.inputs.systems as systems
from projector.cli.app import main
from projector.curation.diff import KINDS, bundled_domains, csv_rows, diff, normalise_name
from projector.errors import InputError
from projector.inputs.systems import load_dataset, read_rows

from .conftest import SHARED_DATA

# Header lines of Epoch's 2026 "AI models" exports (column names only).
NOTABLE_2026 = (
    "Model,Organization,Publication date,Domain,Task,Parameters,Parameters notes,"
    "Training compute (FLOP),Training compute notes,Training dataset,"
    "Training dataset size (total),Dataset size notes,Confidence,Link,Reference,Citations,"
    "Authors,Abstract,Organization categorization,Country (of organization),"
    "Notability criteria,Notability criteria notes,Epochs,Training time (hours),"
    "Training time notes,Training hardware,Hardware quantity,Hardware utilization (MFU),"
    "Training compute cost (2023 USD),Compute cost notes,Training power draw (W),Base model,"
    "Finetune compute (FLOP),Finetune compute notes,Batch size,Batch size notes,"
    "Model accessibility,Training code accessibility,Inference code accessibility,"
    "Accessibility notes,Numerical format,Frontier model,Hardware acquisition cost,"
    "Hardware utilization (HFU),Training compute cost (cloud),Training compute cost (upfront),"
    "Open model weights?"
)
FRONTIER_2026 = (
    "Model,Publication date,Organization,Training compute (FLOP),Training compute notes,"
    "Domain,Task,Link,Parameters,Parameters notes,Authors,Notability criteria,"
    "Notability criteria notes,Model accessibility,Citations,Reference,Training dataset,"
    "Training dataset notes,Dataset size notes,Epochs,Training time (hours),"
    "Training time notes,Training hardware,Compute cost notes,Confidence,Abstract,"
    "Country (of organization),Base model,Finetune compute (FLOP),Finetune compute notes,"
    "Hardware quantity,Hardware utilization (MFU),Training data center,Batch size,"
    "Batch size notes,Training chip-hours,Training code accessibility,Accessibility notes,"
    "Training compute cost (2023 USD),Training dataset size,Utilization notes,"
    "Estimated over 1e25 FLOP,Power per GPU,Base model compute,API prices,"
    "Inference code accessibility,Numerical format,Frontier model,Training power draw (W),"
    "FLOP/$,Hardware release date,Training compute estimation method,"
    "Post-training compute (FLOP),Post-training compute notes,Model versions (benchmarks),"
    "Maybe over 1e25 FLOP,Hardware utilization (HFU),Training compute cost (cloud),"
    "Training compute cost (upfront),Training dataset size (total),Open model weights?"
)
LARGE_SCALE_2026 = (
    "Model,Domain,Task,Authors,Model accessibility,Link,Citations,Reference,Publication date,"
    "Organization,Parameters,Parameters notes,Training compute (FLOP),Training compute notes,"
    "Training dataset,Training dataset notes,(DEPRECATED) Training dataset size (datapoints),"
    "Dataset size notes,Training time (hours),Training time notes,Training hardware,"
    "Confidence,Abstract,Country (of organization),Base model,Finetune compute (FLOP),"
    "Finetune compute notes,Hardware quantity,Hardware utilization (MFU),"
    "Training code accessibility,Accessibility notes,Hardware utilization (HFU),"
    "Training compute cost (cloud),Training compute cost (upfront)"
)
ALL_2026 = (
    "Model,Domain,Task,Organization,Authors,Publication date,Reference,Link,Citations,"
    "Notability criteria,Notability criteria notes,Parameters,Parameters notes,"
    "Training compute (FLOP),Training compute notes,Training dataset size (total),"
    "Dataset size notes,Training time (hours),Training time notes,Training hardware,Approach,"
    "Confidence,Abstract,Epochs,WikiText and Penn Treebank data,Model accessibility,"
    "Country (of organization),Base model,Finetune compute (FLOP),Finetune compute notes,"
    "Hardware quantity,Hardware utilization (MFU),Last modified,Training cloud compute vendor,"
    "Training data center,Archived links,Batch size,Batch size notes,"
    "Organization categorization,Foundation model,Training compute lower bound,"
    "Training compute upper bound,Training chip-hours,Training code accessibility,"
    "Accessibility notes,Possibly over 1e23 FLOP,Training compute cost (2023 USD),"
    "Utilization notes,Numerical format,Frontier model,Training power draw (W),"
    "Training compute estimation method,Hugging Face developer id,"
    "Post-training compute (FLOP),Post-training compute notes,Hardware utilization (HFU),"
    "Open model weights?"
)
HEADERS = {
    "notable_ai_models.csv": NOTABLE_2026,
    "frontier_ai_models.csv": FRONTIER_2026,
    "large_scale_ai_models.csv": LARGE_SCALE_2026,
    "all_ai_models.csv": ALL_2026,
}

TODAY = dt.date(2026, 12, 1)


def _epoch_csv(path: Path, header: str, rows: list[dict[str, str]]) -> Path:
    """An export with ``header``'s columns; cells a row does not name are empty."""
    columns = header.split(",")
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v for k, v in row.items() if k in columns})
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _row(name: str, org: str, date: str, flop: str, domain: str, **extra: str) -> dict[str, str]:
    return {
        "Model": name,
        "Organization": org,
        "Publication date": date,
        "Training compute (FLOP)": flop,
        "Domain": domain,
        "Confidence": "Likely",
        "Notability criteria": "SOTA improvement",
        **extra,
    }


# --- the 2026 formats ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_each_2026_export_loads_with_names_cleaned(tmp_path: Path, name: str) -> None:
    rows = [
        _row("Lapa LLM\n\n", "Uni A,Uni B", "2025-10-25", "8.64e+23", "Language,Multimodal"),
        _row(" Kestrel 2 ", "Lab K", "2026-05-01", "5.0000000000001e+26", "Multimodal,Language"),
        _row("Gap", "Lab G", "2026-05-02", "NaN", "Language"),  # pandas' empty cell
        _row("Nothing yet", "Lab G", "2026-05-03", "", "Audio"),
    ]
    path = _epoch_csv(tmp_path / name, HEADERS[name], rows)
    read = read_rows(path, today=TODAY)
    assert read.kind == "ai-models-2026"
    assert [r.name for r in read.rows] == ["Lapa LLM", "Kestrel 2", "Gap", "Nothing yet"]
    assert [math.isnan(r.compute_flop) for r in read.rows] == [False, False, True, True]
    s = load_dataset(path, today=TODAY)
    assert list(s.name) == ["Lapa LLM", "Kestrel 2"]
    assert s.log10_compute[1] == pytest.approx(26.69897, abs=1e-5)
    assert list(s.domain) == ["Language,Multimodal", "Multimodal,Language"]


def test_frontier_flag_interval_and_unknown_label(tmp_path: Path) -> None:
    rows = [
        # no notability criterion, but a frontier model: kept as notable
        _row(
            "Big One",
            "Lab F",
            "2026-09-03",
            "1.0001e27",
            "Language",
            **{
                "Notability criteria": "",
                "Frontier model": "True",
                "Training compute lower bound": "5e26",
                "Training compute upper bound": "2e27",
            },
        ),
        _row(
            "Small One",
            "Lab F",
            "2026-09-04",
            "1e22",
            "Language",
            **{
                "Notability criteria": "",
            },
        ),
        _row("Unsure", "Lab U", "2026-09-05", "1e24", "Language", Confidence="Unknown"),
    ]
    path = _epoch_csv(tmp_path / "all_ai_models.csv", ALL_2026, rows)
    s = load_dataset(path, today=TODAY)
    assert list(s.name) == ["Big One", "Unsure"]
    # the stated interval [5e26, 2e27] gives f = sqrt(4) = 2, not the label's 10
    assert s.log10_uncertainty_sd[0] == pytest.approx(math.log10(2) / 1.6449)
    assert s.log10_uncertainty_sd[1] == pytest.approx(math.log10(30) / 1.6449)
    assert len(load_dataset(path, notable_only=False, today=TODAY)) == 3
    # the large-scale view has no notability column: every row is kept
    large = _epoch_csv(tmp_path / "large_scale_ai_models.csv", LARGE_SCALE_2026, rows)
    assert len(load_dataset(large, today=TODAY)) == 3


def test_a_row_with_a_figure_still_needs_a_readable_date(tmp_path: Path) -> None:
    bad = [_row("A", "L", "soon", "1e20", "Language")]
    path = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, bad)
    with pytest.raises(InputError, match="line 2: column 'Publication date' must be a date"):
        read_rows(path, today=TODAY)
    # without a figure the date is only shown, never used: no error, no date
    path = _epoch_csv(tmp_path / "n2.csv", NOTABLE_2026, [_row("A", "L", "soon", "", "Vision")])
    assert read_rows(path, today=TODAY).rows[0].date is None


# --- the diff --------------------------------------------------------------------------------

BUNDLED_HEAD = ",".join(systems.BUNDLED_COLUMNS)


def _bundled_line(name: str, org: str, domain: str, date: str, flop: str, bound: str = "") -> str:
    return f"{name},{org},{domain},{date},{flop},,https://example.org/{name},reported,,{bound},,"


BUNDLED = (
    "\n".join(
        [
            BUNDLED_HEAD,
            _bundled_line("Alpha-1", "Lab A", "language", "2024-01-10", "1e24"),
            _bundled_line("Beta", "Lab B", "vision", "2024-02-01", "1e23"),
            _bundled_line("Gamma", "Lab C", "language", "2024-03-01", "1e25", "lower"),
            _bundled_line("Delta Large", "Lab D", "language", "2024-04-01", "2e24"),
            _bundled_line("Epsilon", "Lab E", "language", "2024-05-01", "1e22"),
            _bundled_line("Omega", "Lab O", "language", "2024-06-01", "1e23"),
            _bundled_line("Kappa (7B)", "Lab K", "language", "2024-08-01", "3e22"),
        ]
    )
    + "\n"
)

EPOCH_ROWS = [
    # the same figure, the name with trailing whitespace and a newline: no finding
    _row("Alpha-1  \n", "Lab A", "2024-01-10", "1e24", "Language"),
    # compute changed x3, the name in other case
    _row("beta", "Lab B", "2024-02-01", "3e23", "Vision"),
    # a point estimate where the bundled row is a lower bound
    _row("Gamma", "Lab C", "2024-03-01", "4e25", "Language"),
    # renamed: same organization, 2 days later, compute x1.1
    _row("Delta-Next", "Lab D,Partner U", "2024-04-03", "2.2e24", "Language"),
    # reclassified as vision
    _row("Epsilon", "Lab E", "2024-05-01", "1e22", "Vision"),
    # new, with a figure
    _row("Brand New", "Lab N", "2024-07-01", "5e24", "Multimodal,Language,Vision"),
    # new without a figure: counted, listed only on request
    _row("No Figure Yet", "Lab N", "2024-07-02", "", "Language"),
    # a frontier model without a figure is always listed
    _row("Frontier Quiet", "Lab N", "2024-07-03", "NaN", "Language", **{"Frontier model": "True"}),
    # not notable: not new unless --all-systems
    _row("Side Project", "Lab S", "2024-07-04", "1e20", "Language", **{"Notability criteria": ""}),
    # the bundled name without parentheses: the same system, figure unchanged
    _row("Kappa", "Lab K", "2024-08-02", "3e22", "Language"),
]


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(systems, "_bundled_bytes", lambda: BUNDLED.encode())


def _kinds(d: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in d.findings:  # type: ignore[attr-defined]
        out.setdefault(f.kind, []).append(f.system or f.epoch_name)
    return out


def test_diff_pins_each_kind(tmp_path: Path, bundled: None) -> None:
    path = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, EPOCH_ROWS)
    d = diff(systems.bundled_records(), read_rows(path, today=TODAY))
    assert _kinds(d) == {
        "new": ["Brand New", "Frontier Quiet"],
        "compute-changed": ["Beta", "Delta Large"],  # a renamed row's figure moved too
        "newly-figured": ["Gamma"],
        "renamed": ["Delta Large", "Kappa (7B)"],
        "domain-reclassified": ["Epsilon"],
        "unmatched": ["Omega"],
    }
    by = {(f.kind, f.system or f.epoch_name): f for f in d.findings}
    beta = by["compute-changed", "Beta"]
    assert (beta.bundled_flop, beta.epoch_flop, beta.epoch_name) == (1e23, 3e23, "beta")
    assert beta.ratio == pytest.approx(3.0)
    gamma = by["newly-figured", "Gamma"]
    assert gamma.ratio == pytest.approx(4.0) and gamma.note == "was a lower bound"
    delta = by["renamed", "Delta Large"]
    assert delta.epoch_name == "Delta-Next" and "same organization, 2 days apart" in delta.note
    assert by["renamed", "Kappa (7B)"].note.startswith("name without parentheses")
    assert by["domain-reclassified", "Epsilon"].epoch_domain == "Vision"
    assert by["new", "Frontier Quiet"].note == "no figure, frontier model"
    assert (d.n_bundled, d.n_matched) == (7, 6)
    assert (d.n_epoch, d.n_epoch_no_figure) == (9, 2)  # "Side Project" is not notable
    # the trailing whitespace and newline did not make "Alpha-1" new or unmatched
    assert all("Alpha-1" not in (f.system, f.epoch_name) for f in d.findings)


def test_diff_options(tmp_path: Path, bundled: None) -> None:
    path = _epoch_csv(tmp_path / "all_ai_models.csv", ALL_2026, EPOCH_ROWS)
    records, rows = systems.bundled_records(), read_rows(path, today=TODAY)
    wide = diff(records, rows, notable_only=False, unfigured=True)
    assert _kinds(wide)["new"] == ["Brand New", "No Figure Yet", "Frontier Quiet", "Side Project"]
    # --since keeps findings dated on or after it, Epoch's date where there is one
    late = diff(records, rows, since=dt.date(2024, 6, 1))
    assert _kinds(late) == {
        "new": ["Brand New", "Frontier Quiet"],
        "renamed": ["Kappa (7B)"],
        "unmatched": ["Omega"],
    }
    # a figure within the tolerance is not a change
    assert "compute-changed" not in _kinds(diff(records, rows, min_ratio=3.5))
    # a rename needs compute within the factor
    strict = diff(records, rows, rename_factor=1.05)
    assert "Delta Large" in _kinds(strict)["unmatched"]
    assert "Delta-Next" in _kinds(strict)["new"]


def test_rename_needs_the_organization_and_a_shared_word(tmp_path: Path, bundled: None) -> None:
    rows = [
        _row("Delta-Next", "Other Lab", "2024-04-02", "2e24", "Language"),  # another lab
        _row("Unrelated", "Lab D", "2024-04-02", "2e24", "Language"),  # no word in common
    ]
    path = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, rows)
    d = diff(systems.bundled_records(), read_rows(path, today=TODAY))
    assert "Delta Large" in _kinds(d)["unmatched"]
    assert sorted(_kinds(d)["new"]) == ["Delta-Next", "Unrelated"]


def test_older_formats_diff_too(tmp_path: Path, bundled: None) -> None:
    text = (
        "System,Domain,Organization,Publication date,Training compute (FLOP),"
        "Notability criteria\n"
        "Beta,Vision,Lab B,2024-02-01,1e23,Highly cited\n"
        '"Omega\n",Language,Lab O,2024-06-01,2e23,SOTA\n'
    )
    path = tmp_path / "airtable.csv"
    path.write_text(text, encoding="utf-8")
    d = diff(systems.bundled_records(), read_rows(path, today=TODAY))
    assert d.kind == "airtable"
    assert _kinds(d)["compute-changed"] == ["Omega"]
    assert "Beta" not in str(_kinds(d).get("compute-changed"))


@given(
    st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=30),
    st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ", max_size=20),
    st.sampled_from(["", " ", "\n", "  \n\n", "\t"]),
)
def test_normalised_names_ignore_case_whitespace_and_punctuation(
    name: str, ascii_name: str, tail: str
) -> None:
    key = normalise_name(name)
    assert normalise_name(ascii_name.upper() + tail) == normalise_name(ascii_name.lower())
    assert normalise_name(f"{tail}{name}{tail}") == key
    assert normalise_name(name.replace(" ", "-")) == key
    assert all(c.isalnum() for c in key)


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(len(EPOCH_ROWS))))
def test_findings_do_not_depend_on_the_row_order(order: list[int]) -> None:
    import tempfile

    records = list(csv.DictReader(io.StringIO(BUNDLED)))
    with tempfile.TemporaryDirectory() as folder:
        base = _epoch_csv(Path(folder) / "a.csv", NOTABLE_2026, EPOCH_ROWS)
        shuffled = _epoch_csv(Path(folder) / "b.csv", NOTABLE_2026, [EPOCH_ROWS[i] for i in order])
        first = diff(records, read_rows(base, today=TODAY))
        second = diff(records, read_rows(shuffled, today=TODAY))
    strip = [{k: v for k, v in r.items() if k != "epoch_line"} for r in csv_rows(first)]
    assert strip == [{k: v for k, v in r.items() if k != "epoch_line"} for r in csv_rows(second)]


def test_domain_lists_map_to_the_bundled_vocabulary() -> None:
    assert bundled_domains("Multimodal,Language,Vision") == {"multimodal", "language", "vision"}
    assert bundled_domains("Image generation") == {"image-generation"}
    assert bundled_domains("Earth science, Medicine") == {"other"}
    assert bundled_domains("") == frozenset()


# --- the command -----------------------------------------------------------------------------


def test_cli_prints_a_table_and_writes_the_csv(
    tmp_path: Path, bundled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, EPOCH_ROWS)
    out = tmp_path / "diff.csv"
    assert main(["data", "diff", str(path), "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "2 compute-changed" in lines[0] and "1 unmatched" in lines[0]
    assert lines[-1] == f"wrote 9 findings to {out}"
    body = [ln for ln in lines[3:-1]]
    assert [ln.split()[0] for ln in body] == sorted((ln.split()[0] for ln in body), key=KINDS.index)
    assert any(ln.startswith("renamed") and "Delta Large -> Delta-Next" in ln for ln in body)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 9 and rows[0]["kind"] == "new"
    beta = next(r for r in rows if r["system"] == "Beta")
    assert (float(beta["bundled_flop"]), float(beta["epoch_flop"])) == (1e23, 3e23)
    assert float(beta["ratio"]) == pytest.approx(3.0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries
    # the same input gives the same bytes
    first = out.read_bytes()
    assert main(["data", "diff", str(path), "--csv", str(out)]) == 0
    assert out.read_bytes() == first and capsys.readouterr().out == text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "2024-13-01"], "expected a date YYYY-MM-DD, got '2024-13-01'"),
        (["--min-ratio", "0.5"], "expected a ratio >= 1"),
        (["{missing}"], "cannot read dataset"),
        (["{malformed}"], "line 2: malformed CSV"),
        (["{unknown}"], "not a recognised dataset"),
        (["--csv", "{folder}"], "is a folder"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    bundled: None,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    good = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, EPOCH_ROWS)
    (tmp_path / "malformed.csv").write_text(NOTABLE_2026 + '\n"Cut off,Lab\n', encoding="utf-8")
    (tmp_path / "unknown.csv").write_text("name,flop\nA,1\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    names = {
        "missing": str(tmp_path / "missing.csv"),
        "malformed": str(tmp_path / "malformed.csv"),
        "unknown": str(tmp_path / "unknown.csv"),
        "folder": str(tmp_path / "folder"),
    }
    args = [a.format(**names) for a in argv]
    if not any(a.endswith(".csv") and not a.startswith("-") for a in args):
        args = [str(good), *args]
    try:
        code = main(["data", "diff", *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# --- Epoch's 2025-08-07 snapshot against the bundled data ---------------------------------

SNAPSHOT_2025 = SHARED_DATA / "epoch_all_ml_systems_2025-08-07.csv"


@pytest.mark.skipif(not SNAPSHOT_2025.is_file(), reason="../shared/data is absent")
def test_snapshot_2025_lists_new_changed_and_unmatched_rows() -> None:
    records = systems.bundled_records()
    d = diff(records, read_rows(SNAPSHOT_2025))
    for kind in ("new", "compute-changed", "unmatched"):
        assert d.count(kind) > 0, kind
    # every bundled row is matched or unmatched, never both, and no Epoch row twice
    matched = [f for f in d.findings if f.kind != "new" and f.epoch_line]
    assert d.n_matched + d.count("unmatched") == d.n_bundled == len(records)
    pairs = {(f.system, f.epoch_line) for f in matched}
    lines = [line for _, line in pairs]
    assert len(lines) == len(set(lines))
    unmatched = {f.system for f in d.findings if f.kind == "unmatched"}
    assert not unmatched & {system for system, _ in pairs}
    # the snapshot ends in June 2025: rows published after it cannot be in it
    newest = max(r.date for r in read_rows(SNAPSHOT_2025).rows if r.date)
    after = [r["system"] for r in records if r["publication_date"] > newest.isoformat()]
    assert set(after) <= unmatched
    assert np.all([f.ratio > 0 for f in d.findings if f.kind == "compute-changed"])


def test_compare_and_frontier_read_a_2026_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        _row("Early\n", "Lab A", "2020-01-01", "1e22", "Language"),
        _row("Later ", "Lab B", "2021-06-01", "NaN", "Language"),  # no figure: not a record
        _row("Record", "Lab B", "2022-01-01", "3e23", "Language", **{"Frontier model": "True"}),
    ]
    path = _epoch_csv(tmp_path / "frontier_ai_models.csv", FRONTIER_2026, rows)
    assert main(["data", "frontier", "--dataset", str(path), "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "date,log10_flop,system,lower_bound",
        '2020-01-01,22.0000,"Early",0',
        '2022-01-01,23.4771,"Record",0',
    ]
    assert main(["data", "compare", str(path)]) == 0
    assert "bundled systems matched in" in capsys.readouterr().out


def test_an_unreadable_bundled_figure_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = BUNDLED_HEAD + "\n" + _bundled_line("Bad", "Lab", "language", "2024-01-01", "lots")
    monkeypatch.setattr(systems, "_bundled_bytes", lambda: (text + "\n").encode())
    path = _epoch_csv(tmp_path / "notable_ai_models.csv", NOTABLE_2026, EPOCH_ROWS)
    with pytest.raises(
        InputError, match=r"systems\.csv: Bad: training_compute_flop must be a number"
    ):
        diff(systems.bundled_records(), read_rows(path, today=TODAY))
