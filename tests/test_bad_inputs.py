"""A corpus of bad inputs and hostile environments: one line, the right status, nothing left.

Each case runs in-process through ``cli.main`` in a fresh folder (also the working
folder, so default outputs land there too) and asserts: the exit status (2 bad input,
3 environment), exactly one line on stderr with no traceback, the culprit named (the
file, key, row or argument), and the folder exactly as it was before (no result, no
temporary, no lock, no probe).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from projector.cli.app import main

# --- cases ----------------------------------------------------------------------------------

BASE = 'name = "t"\nextends = "default"\npaths = 20\n'


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` with ``{placeholders}``, the status and fragments expected."""

    id: str
    argv: tuple[str, ...]
    code: int
    expect: tuple[str, ...]
    files: tuple[tuple[str, str | bytes], ...] = ()  # name -> content, written beside
    needs: str = ""  # "ro": a read-only folder; "cube": a good result cube
    xfail: str = ""


def scen(
    id: str,
    text: str | bytes,
    *expect: str,
    code: int = 2,
    validate: bool = True,
    names_file: bool = True,
) -> list[Case]:
    """A bad scenario file, given to ``project`` and (where it is caught) to ``validate``."""
    files = (("s.toml", text),)
    if names_file:
        expect = ("{s.toml}", *expect)
    cases = [
        Case(
            f"project-{id}",
            ("project", "{s.toml}", "--out", "{out}"),
            code,
            expect,
            files,
        )
    ]
    if validate:
        cases.append(Case(f"validate-{id}", ("validate", "{s.toml}"), code, expect, files))
    return cases


def nested(opener: str, closer: str, depth: int) -> str:
    return f"{BASE}x = {opener * depth}1{closer * depth}\n"


REVERSION = '[[reversion]]\nname = "a"\nweight = 1.0\ndistribution = "{dist}"\n{params}\n'

SCENARIOS: list[Case] = [
    *scen("toml-syntax", "name = [\n", "not valid TOML"),
    *scen("not-utf8", b'name = "\xff\xfe"\n', "not valid TOML"),
    *scen("empty", "", "missing key 'name'"),
    *scen("paths-string", BASE + 'paths = "many"\n', "paths"),
    *scen("paths-zero", 'name = "t"\nextends = "default"\npaths = 0\n', "key 'paths'"),
    *scen("paths-too-many", 'name = "t"\nextends = "default"\npaths = 10000001\n', "key 'paths'"),
    *scen("paths-float", 'name = "t"\nextends = "default"\npaths = 1.5\n', "key 'paths'"),
    *scen("paths-bool", 'name = "t"\nextends = "default"\npaths = true\n', "key 'paths'"),
    *scen("paths-nan", 'name = "t"\nextends = "default"\npaths = nan\n', "key 'paths'"),
    *scen("seed-negative", BASE + "seed = -1\n", "key 'seed'"),
    *scen("seed-huge", BASE + "seed = 9223372036854775807\nx = 1\n", "unknown key 'x'"),
    *scen("end-year-far", BASE + "end_year = 2600\n", "key 'end_year'"),
    *scen("end-year-inf", BASE + "end_year = inf\n", "key 'end_year'"),
    *scen("end-before-start", BASE + "start_year = 2030\nend_year = 2025\n", "end_year"),
    *scen("steps-zero", BASE + "steps_per_year = 0\n", "key 'steps_per_year'"),
    *scen("steps-367", BASE + "steps_per_year = 367\n", "key 'steps_per_year'"),
    *scen("start-year-word", BASE + 'start_year = "soon"\n', "key 'start_year'"),
    *scen("unknown-top-key", BASE + "pathz = 3\n", "unknown key 'pathz'"),
    *scen("unknown-growth-key", BASE + "[growth]\nspeed = 3\n", "unknown key 'growth.speed'"),
    *scen("moore-units", BASE + '[growth]\nmoore_units = "fast"\n', "key 'moore_units'"),
    *scen("weight-shape-number", BASE + "[growth]\nweight_shape = 3\n", "key 'weight_shape'"),
    *scen("growth-not-table", BASE + "growth = 3\n", "[growth] must be a table"),
    *scen("doubling-zero", BASE + "[growth]\nmoore_doubling_months = 0\n", "moore_doubling_months"),
    *scen("clip-floor-zero", BASE + "[growth]\nclip_floor = 0\n", "key 'clip_floor'"),
    *scen("logistic-width", BASE + "[growth]\nlogistic_width_years = 0\n", "logistic_width_years"),
    *scen(
        "noise-factor", BASE + "[growth]\nestimate_noise_factor = 0.5\n", "estimate_noise_factor"
    ),
    *scen("start-compute", BASE + "[start]\ncompute = 100\n", "key 'compute'"),
    *scen("start-sd", BASE + "[start]\nlog10_sd = 10\n", "key 'log10_sd'"),
    *scen("start-compute-word", BASE + '[start]\ncompute = "huge"\n', "key 'compute'"),
    *scen("reversion-empty", BASE + "reversion = []\n", "[[reversion]]"),
    *scen(
        "reversion-weights",
        BASE + REVERSION.format(dist="point", params="year = 2030").replace("1.0", "0.5"),
        "weights must sum to 1",
    ),
    *scen(
        "reversion-dist", BASE + REVERSION.format(dist="cauchy", params=""), "key 'distribution'"
    ),
    *scen(
        "reversion-sd-zero",
        BASE + REVERSION.format(dist="normal", params="mean = 2030\nsd = 0"),
        "sd must be > 0",
    ),
    *scen(
        "reversion-uniform",
        BASE + REVERSION.format(dist="uniform", params="low = 2040\nhigh = 2030"),
        "low must be < high",
    ),
    *scen(
        "reversion-triangular",
        BASE + REVERSION.format(dist="triangular", params="low = 2030\nmode = 2050\nhigh = 2040"),
        "low <= mode <= high",
    ),
    *scen(
        "reversion-missing-param",
        BASE + REVERSION.format(dist="normal", params="mean = 2030"),
        "missing key 'sd'",
    ),
    *scen(
        "reversion-unknown-key",
        BASE + REVERSION.format(dist="point", params="year = 2030\nmood = 1"),
        "unknown key 'mood'",
    ),
    *scen("reversion-not-table", BASE + "reversion = [1, 2]\n", "reversion[0] must be a table"),
    *scen(
        "reversion-weight-big",
        BASE + REVERSION.format(dist="point", params="year = 2030").replace("1.0", "2.0"),
        "key 'weight'",
    ),
    *scen(
        "reversion-dupe",
        BASE + REVERSION.format(dist="point", params="year = 2030").replace("1.0", "0.5") * 2,
        "names must be unique",
    ),
    *scen("anchor-high", BASE + '[[anchors]]\nname = "x"\nlog10_flop = 200\n', "key 'log10_flop'"),
    *scen(
        "anchor-unknown-key",
        BASE + '[[anchors]]\nname = "x"\nlog10_flop = 30\ncolour = 1\n',
        "unknown key 'colour'",
    ),
    *scen("anchor-no-name", BASE + "[[anchors]]\nlog10_flop = 30\n", "key 'name'"),
    *scen(
        "anchor-dupe",
        BASE
        + '[[anchors]]\nname = "x"\nlog10_flop = 30\n[[anchors]]\nname = "x"\nlog10_flop = 31\n',
        "anchor names must be unique",
    ),
    *scen("anchors-not-array", BASE + "anchors = 3\n", "[[anchors]]"),
    *scen("report-years-outside", BASE + "[report]\nyears = [2900]\n", "report.years"),
    *scen("report-years-empty", BASE + "[report]\nyears = []\n", "key 'years'"),
    *scen("report-quantiles", BASE + "[report]\nyears = [2030]\nquantiles = [1.5]\n", "quantiles"),
    *scen("cutoff-word", BASE + '[data]\ncutoff = "yesterday"\n', "key 'cutoff'"),
    *scen("cutoff-early", BASE + "[data]\ncutoff = 2005-01-01\n", "data.cutoff"),
    *scen("dl-before-pre-dl", BASE + "[data]\ndl_start = 1940-01-01\n", "data.dl_start"),
    *scen("notable-word", BASE + '[data]\nnotable_only = "yes"\n', "key 'notable_only'"),
    *scen(
        "dataset-missing",
        BASE + '[data]\ndataset = "nowhere.csv"\n',
        "nowhere.csv",
        validate=False,
        names_file=False,
    ),
    *scen("window-date", BASE + '[[windows]]\nname = "w"\nstart = "2020"\n', "windows[0]"),
    *scen(
        "window-unknown",
        BASE + '[[windows]]\nname = "w"\nstart = 2020-01-01\nwidth = 2\n',
        "unknown key",
    ),
    *scen("name-nul", 'name = "a\\u0000b"\nextends = "default"\n', "key 'name'", "NUL"),
    *scen("name-slash", 'name = "a/b"\nextends = "default"\n', "key 'name'", "slash"),
    *scen("name-dotdot", 'name = ".."\nextends = "default"\n', "key 'name'"),
    *scen("name-dot", 'name = "."\nextends = "default"\n', "key 'name'"),
    *scen("name-hidden", 'name = ".x"\nextends = "default"\n', "key 'name'"),
    *scen("name-empty", 'name = ""\nextends = "default"\n', "key 'name'", "empty"),
    *scen("name-blank", 'name = "   "\nextends = "default"\n', "key 'name'"),
    *scen("name-newline", 'name = "a\\nb"\nextends = "default"\n', "key 'name'", "control"),
    *scen(
        "name-too-long", f'name = "{"n" * 300}"\nextends = "default"\n', "key 'name'", "longer than"
    ),
    *scen(
        "name-multibyte-long",
        f'name = "{"é" * 150}"\nextends = "default"\n',
        "key 'name'",
        "longer than",
    ),
    *scen("name-number", 'name = 3\nextends = "default"\n', "key 'name'"),
    *scen("nested-arrays", nested("[", "]", 5000), "nested"),
    *scen("nested-inline-tables", nested("{a = ", "}", 5000), "nested"),
    *scen("nested-moderate", nested("[", "]", 40), "nested more than"),
    *scen(
        "nested-dotted-keys",
        BASE + ".".join(f"k{i}" for i in range(60)) + " = 1\n",
        "nested more than",
    ),
    *scen("too-large", BASE + "# " + "x" * (2 << 20) + "\n", "too large"),
    *scen("extends-missing", 'name = "t"\nextends = "nowhere"\n', "key 'extends'"),
    *scen("extends-number", 'name = "t"\nextends = 3\n', "key 'extends'"),
    *scen("extends-self", 'name = "t"\nextends = "s.toml"\n', "cycle"),
]


def _extends_chain(n: int) -> tuple[tuple[str, str], ...]:
    files = [("c0.toml", 'name = "c"\nextends = "default"\n')]
    files += [(f"c{i}.toml", f'name = "c"\nextends = "c{i - 1}.toml"\n') for i in range(1, n)]
    return tuple(files)


CHAIN = _extends_chain(40)
SCENARIOS += [
    Case(
        "project-extends-chain",
        ("project", "{c39.toml}", "--out", "{out}"),
        2,
        ("extends", "chain"),
        CHAIN,
    ),
    Case(
        "validate-extends-chain",
        ("validate", "{c39.toml}"),
        2,
        ("{c39.toml}", "longer than 32"),
        CHAIN,
    ),
    Case("validate-folder", ("validate", "{dir}"), 2, ("{dir}",), (("dir/x", ""),)),
    Case("validate-missing", ("validate", "{tmp}/none.toml"), 2, ("none.toml", "no such scenario")),
    Case(
        "validate-unknown-name", ("validate", "no-such-scenario"), 2, ("no-such-scenario", "known:")
    ),
    Case(
        "validate-second-bad",
        ("validate", "{s.toml}", "default"),
        2,
        ("{s.toml}",),
        (("s.toml", "name = [\n"),),
    ),
    Case(
        "validate-set-unknown",
        ("validate", "default", "--set", "growth.speed=3"),
        2,
        ("growth.speed", "unknown key"),
    ),
    Case(
        "validate-set-bad-value", ("validate", "default", "--set", "paths=-4"), 2, ("key 'paths'",)
    ),
    Case(
        "validate-set-no-equals",
        ("validate", "default", "--set", "paths"),
        2,
        ("--set", "KEY=VALUE"),
    ),
    Case(
        "validate-set-deep",
        ("validate", "default", "--set", "report.years=" + "[" * 3000 + "]" * 3000),
        2,
        ("--set", "nested"),
    ),
]

# A dataset: header plus rows; bad ones given to project, trends and data compare.
HEADER = "system,publication_date,training_compute_flop\n"
GOOD_ROWS = "".join(
    f"S{y},{y}-06-01,{10.0 ** (10 + (y - 1960) * 0.2 if y < 2010 else 20 + (y - 2015) * 0.6):.3e}\n"
    for y in range(1955, 2022)
)


def data(id: str, text: str | bytes, *expect: str, code: int = 2, xfail: str = "") -> list[Case]:
    files = (("d.csv", text),)
    return [
        Case(
            f"project-data-{id}",
            ("project", "default", "--paths", "20", "--dataset", "{d.csv}", "--out", "{out}"),
            code,
            ("{d.csv}", *expect),
            files,
            xfail=xfail,
        ),
        Case(
            f"trends-data-{id}",
            ("trends", "--dataset", "{d.csv}", "--resamples", "10", "--out", "{out}"),
            code,
            ("{d.csv}", *expect),
            files,
            xfail=xfail,
        ),
        Case(
            f"compare-data-{id}",
            ("data", "compare", "{d.csv}"),
            code,
            ("{d.csv}", *expect),
            files,
            xfail=xfail,
        ),
    ]


DATA: list[Case] = [
    *data("compute-word", HEADER + "A,2020-01-01,lots\n" + GOOD_ROWS, "line 2"),
    *data("compute-negative", HEADER + "A,2020-01-01,-5\n" + GOOD_ROWS, "line 2"),
    *data("date-word", HEADER + "A,someday,1e20\n" + GOOD_ROWS, "line 2"),
    *data("no-columns", "a,b\n1,2\n", "column"),
    *data("empty-file", "", ""),
    *data("header-only", HEADER, "no rows"),
    *data("not-utf8", HEADER.encode() + b"\xff\xfe,2020-01-01,1e20\n", "UTF-8"),
    *data("binary", b"\x00\x01\x02" * 100, ""),
    *data("cut-off-row", HEADER + GOOD_ROWS + "Z,2021-07-01", "line"),
    *data("future-date", HEADER + GOOD_ROWS + "F,2999-01-01,1e25\n", "2999"),
    *data(
        "huge-field",
        HEADER + GOOD_ROWS + "H" * 200_000 + ",2020-01-01,1e20\n",
        "field",
    ),
    *data("compute-inf", HEADER + "A,2020-01-01,inf\n" + GOOD_ROWS, "line 2"),
]

PROJECT = ("project", "default", "--paths", "20")
ARGUMENTS: list[Case] = [
    Case("paths-zero", (*PROJECT[:2], "--paths", "0"), 2, ("--paths",)),
    Case("paths-negative", (*PROJECT[:2], "--paths", "-3"), 2, ("--paths",)),
    Case("paths-word", (*PROJECT[:2], "--paths", "many"), 2, ("--paths", "many")),
    Case("paths-float", (*PROJECT[:2], "--paths", "1e3"), 2, ("--paths",)),
    Case(
        "paths-over-max",
        (*PROJECT[:2], "--paths", "10000001", "--out", "{out}"),
        2,
        ("paths", "10000000"),
    ),
    Case("seed-negative", (*PROJECT, "--seed", "-1"), 2, ("--seed",)),
    Case("seed-huge", (*PROJECT, "--seed", str(2**63)), 2, ("--seed",)),
    Case("threads-zero", (*PROJECT, "--threads", "0"), 2, ("--threads",)),
    Case("chunk-zero", (*PROJECT, "--chunk-paths", "0"), 2, ("--chunk-paths",)),
    Case("out-empty", (*PROJECT, "--out", ""), 2, ("--out", "empty")),
    Case("out-blank", (*PROJECT, "--out", "  "), 2, ("--out", "empty")),
    Case("out-nul", (*PROJECT, "--out", "a\0b"), 2, ("--out", "NUL")),
    Case("out-long-name", (*PROJECT, "--out", "{tmp}/" + "x" * 300), 2, ("--out", "longer than")),
    Case(
        "out-long-path",
        (*PROJECT, "--out", "{tmp}/" + "/".join(["y" * 200] * 25)),
        2,
        ("--out", "longer than"),
    ),
    Case(
        "out-below-file",
        (*PROJECT, "--out", "{f.txt}/res"),
        2,
        ("--out", "f.txt", "not a folder"),
        (("f.txt", "x"),),
    ),
    Case(
        "out-is-file",
        (*PROJECT, "--out", "{f.txt}"),
        2,
        ("--out", "f.txt", "not a folder"),
        (("f.txt", "x"),),
    ),
    Case("out-proc", (*PROJECT, "--out", "/proc/projector-test"), 2, ("--out", "/proc")),
    Case("out-sys", (*PROJECT, "--out", "/sys/kernel/projector"), 2, ("--out", "/sys")),
    Case("out-readonly", (*PROJECT, "--out", "{ro}/res"), 3, ("--out", "read-only"), needs="ro"),
    Case(
        "out-readonly-deep",
        (*PROJECT, "--out", "{ro}/a/b/res"),
        3,
        ("--out", "read-only"),
        needs="ro",
    ),
    Case(
        "out-symlink",
        (*PROJECT, "--out", "{link}"),
        2,
        ("--out", "symbolic link"),
        (("real/x.csv", ""),),
    ),
    Case("out-current", (*PROJECT, "--out", "."), 2, ("current folder",)),
    Case("out-parent", (*PROJECT, "--out", ".."), 2, ("current folder",)),
    Case(
        "out-foreign-files",
        (*PROJECT, "--out", "{docs}"),
        2,
        ("{docs}", "letter.docx", "not a projector result"),
        (("docs/letter.docx", "dear"),),
    ),
    Case("out-root", (*PROJECT, "--out", "/"), 2, ("--out", "root")),
    Case(
        "dataset-missing",
        (*PROJECT, "--dataset", "{tmp}/none.csv", "--out", "{out}"),
        2,
        ("--dataset", "none.csv"),
    ),
    Case("dataset-folder", (*PROJECT, "--dataset", "{tmp}", "--out", "{out}"), 2, ("--dataset",)),
    Case("unknown-option", (*PROJECT, "--fast"), 2, ("--fast",)),
    Case("missing-scenario", ("project",), 2, ("scenario",)),
    Case("unknown-command", ("frobnicate",), 2, ("frobnicate",)),
    Case("no-command", (), 2, ("command",)),
    Case(
        "scenario-missing",
        ("project", "no-such", "--out", "{out}"),
        2,
        ("no-such", "no such scenario"),
    ),
    Case("scenario-nul", ("project", "a\0b", "--out", "{out}"), 2, ("a\\x00b",)),
    Case(
        "memory-chunk",
        (
            "project",
            "default",
            "--paths",
            "10000000",
            "--chunk-paths",
            "10000000",
            "--out",
            "{out}",
        ),
        3,
        ("memory", "--chunk-paths"),
    ),
]

STORES: list[Case] = [
    Case("summary-missing", ("summary", "{tmp}/none.nc"), 2, ("none.nc", "no such")),
    Case("summary-folder", ("summary", "{tmp}"), 2, ("{tmp}",)),
    Case("summary-empty", ("summary", "{e.nc}"), 2, ("{e.nc}", "not a readable"), (("e.nc", ""),)),
    Case(
        "summary-text",
        ("summary", "{e.nc}"),
        2,
        ("{e.nc}", "not a readable"),
        (("e.nc", "hello\n"),),
    ),
    Case(
        "summary-hdf5-magic-only",
        ("summary", "{e.nc}"),
        2,
        ("{e.nc}",),
        (("e.nc", b"\x89HDF\r\n\x1a\n" + b"\0" * 100),),
    ),
    *[
        Case(f"{cmd}-{kind}", (cmd, "{cube}"), 2, ("{cube}",), needs=f"cube:{kind}")
        for cmd in ("summary", "plot")
        for kind in (
            "truncated-half",
            "truncated-tail",
            "truncated-head",
            "zeroed-middle",
            "no-variable",
            "no-attribute",
            "no-report-years",
            "zero-paths",
            "no-years",
            "report-years-outside",
            "not-projector",
        )
    ],
    Case(
        "plot-out-proc",
        ("plot", "{cube}", "--out", "/proc/x.png"),
        2,
        ("--out", "/proc"),
        needs="cube:good",
    ),
    Case(
        "plot-out-folder",
        ("plot", "{cube}", "--out", "{tmp}"),
        2,
        ("--out", "folder"),
        needs="cube:good",
    ),
    Case(
        "plot-out-slash",
        ("plot", "{cube}", "--out", "{tmp}/new/"),
        2,
        ("--out", "folder"),
        needs="cube:good",
    ),
    Case(
        "plot-out-symlink",
        ("plot", "{cube}", "--out", "{link}"),
        2,
        ("--out", "symbolic link"),
        (("real/x.csv", ""),),
        needs="cube:good",
    ),
    Case(
        "plot-out-fifo",
        ("plot", "{cube}", "--out", "{fifo}"),
        2,
        ("--out", "FIFO"),
        needs="cube:good",
    ),
    Case(
        "plot-out-device",
        ("plot", "{cube}", "--out", "/dev/null"),
        2,
        ("--out", "/dev"),
        needs="cube:good",
    ),
    Case(
        "plot-out-below-file",
        ("plot", "{cube}", "--out", "{f.txt}/x.png"),
        2,
        ("--out", "f.txt"),
        (("f.txt", "x"),),
        needs="cube:good",
    ),
    Case(
        "plot-out-empty", ("plot", "{cube}", "--out", ""), 2, ("--out", "empty"), needs="cube:good"
    ),
    Case(
        "plot-out-long",
        ("plot", "{cube}", "--out", "{tmp}/" + "p" * 300 + ".png"),
        2,
        ("--out", "longer than"),
        needs="cube:good",
    ),
    Case(
        "plot-out-readonly",
        ("plot", "{cube}", "--out", "{ro}/x.png"),
        3,
        ("--out", "read-only"),
        needs="ro+cube:good",
    ),
    Case("plot-default-readonly", ("plot", "{ro}/projection.nc"), 3, ("read-only",), needs="ro"),
]

EXPORT: list[Case] = [
    Case("export-folder", ("data", "export", "{tmp}"), 2, ("folder",)),
    Case("export-slash", ("data", "export", "{tmp}/new/"), 2, ("folder",)),
    Case(
        "export-symlink",
        ("data", "export", "{link}"),
        2,
        ("{link}", "symbolic link"),
        (("real/x.csv", ""),),
    ),
    Case("export-dangling", ("data", "export", "{dangling}"), 2, ("{dangling}", "symbolic link")),
    Case("export-fifo", ("data", "export", "{fifo}"), 2, ("{fifo}", "FIFO")),
    Case("export-device", ("data", "export", "/dev/null"), 2, ("/dev",)),
    Case("export-proc", ("data", "export", "/proc/x.csv"), 2, ("/proc",)),
    Case(
        "export-below-file",
        ("data", "export", "{f.txt}/x.csv"),
        2,
        ("f.txt", "not a folder"),
        (("f.txt", "x"),),
    ),
    Case("export-empty", ("data", "export", ""), 2, ("path", "empty")),
    Case("export-long", ("data", "export", "{tmp}/" + "e" * 300 + ".csv"), 2, ("longer than",)),
    Case("export-readonly", ("data", "export", "{ro}/x.csv"), 3, ("read-only",), needs="ro"),
    Case("list-since", ("data", "list", "--since", "2020-13-01"), 2, ("--since",)),
    Case("list-domain", ("data", "list", "--domain", "cooking"), 2, ("--domain",)),
    Case("list-min-compute", ("data", "list", "--min-compute", "-1"), 2, ("--min-compute",)),
    Case("compare-missing", ("data", "compare", "{tmp}/none.csv"), 2, ("none.csv",)),
]

ESTIMATE: list[Case] = [
    Case(
        "ops-params-zero", ("estimate", "ops", "--params", "0", "--tokens", "1e9"), 2, ("--params",)
    ),
    Case(
        "ops-params-negative",
        ("estimate", "ops", "--params", "-1", "--tokens", "1e9"),
        2,
        ("--params",),
    ),
    Case(
        "ops-params-word",
        ("estimate", "ops", "--params", "big", "--tokens", "1e9"),
        2,
        ("--params", "big"),
    ),
    Case(
        "ops-params-inf",
        ("estimate", "ops", "--params", "inf", "--tokens", "1e9"),
        2,
        ("--params",),
    ),
    Case(
        "ops-params-nan",
        ("estimate", "ops", "--params", "nan", "--tokens", "1e9"),
        2,
        ("--params",),
    ),
    Case("ops-tokens-missing", ("estimate", "ops", "--params", "1e9"), 2, ("--params", "--tokens")),
    Case("ops-nothing", ("estimate", "ops"), 2, ("--params",)),
    Case(
        "ops-tokens-and-examples",
        ("estimate", "ops", "--params", "1e9", "--tokens", "1e9", "--examples", "5"),
        2,
        ("--tokens", "--examples"),
    ),
    Case(
        "ops-layer-bad", ("estimate", "ops", "--layer", "blob:1", "--examples", "10"), 2, ("blob",)
    ),
    Case(
        "ops-layer-no-examples", ("estimate", "ops", "--layer", "dense:10,10"), 2, ("--examples",)
    ),
    Case(
        "ops-layer-and-params",
        ("estimate", "ops", "--layer", "dense:10,10", "--params", "5", "--examples", "3"),
        2,
        ("--layer",),
    ),
    Case(
        "ops-conv-zero-stride",
        ("estimate", "ops", "--layer", "conv:3,96,11,227,0", "--examples", "10"),
        2,
        ("stride",),
    ),
    Case(
        "ops-overflow",
        ("estimate", "ops", "--params", "1e300", "--tokens", "1e300"),
        2,
        ("overflow",),
    ),
    Case(
        "ops-epochs-with-tokens",
        ("estimate", "ops", "--params", "1e9", "--tokens", "1e9", "--epochs", "3"),
        2,
        ("--tokens",),
    ),
    Case(
        "gpu-chip",
        ("estimate", "gpu", "--chip", "Z9000", "--count", "8", "--hours", "10"),
        2,
        ("Z9000",),
    ),
    Case(
        "gpu-count-zero",
        ("estimate", "gpu", "--chip", "A100", "--count", "0", "--hours", "10"),
        2,
        ("--count",),
    ),
    Case(
        "gpu-both-times",
        ("estimate", "gpu", "--chip", "A100", "--count", "8", "--hours", "1", "--days", "1"),
        2,
        ("--days",),
    ),
    Case("gpu-no-time", ("estimate", "gpu", "--chip", "A100", "--count", "8"), 2, ("--hours",)),
    Case(
        "gpu-precision",
        ("estimate", "gpu", "--chip", "A100", "--count", "8", "--hours", "1", "--precision", "fp4"),
        2,
        ("--precision",),
    ),
    Case(
        "gpu-utilization-zero",
        ("estimate", "gpu", "--chip", "A100", "--count", "8", "--hours", "1", "--utilization", "0"),
        2,
        ("--utilization",),
    ),
    Case("no-method", ("estimate",), 2, ("method",)),
]

TRENDS = ("trends", "--resamples", "10")
TRENDS_CASES: list[Case] = [
    Case("window-bad", (*TRENDS, "--window", "x", "--out", "{out}"), 2, ("window", "x")),
    Case(
        "window-dates",
        (*TRENDS, "--window", "w:2020-01-01:2019-01-01", "--out", "{out}"),
        2,
        ("w",),
    ),
    Case(
        "window-dupe",
        (*TRENDS, "--window", "w:2015-01-01:", "--window", "w:2016-01-01:", "--out", "{out}"),
        2,
        ("used twice", "w"),
    ),
    Case("z-order", (*TRENDS, "--z-low", "1", "--z-high", "0", "--out", "{out}"), 2, ("--z-low",)),
    Case("cutoff-bad", (*TRENDS, "--cutoff", "2020-02-30"), 2, ("--cutoff",)),
    Case("resamples-zero", ("trends", "--resamples", "0"), 2, ("--resamples",)),
    Case("half-width-zero", (*TRENDS, "--half-width", "0"), 2, ("--half-width",)),
    Case("out-empty", (*TRENDS, "--out", ""), 2, ("--out", "empty")),
    Case(
        "out-file", (*TRENDS, "--out", "{f.txt}"), 2, ("--out", "not a folder"), (("f.txt", "x"),)
    ),
    Case("out-proc", (*TRENDS, "--out", "/proc/trends"), 2, ("--out", "/proc")),
    Case("out-readonly", (*TRENDS, "--out", "{ro}/t"), 3, ("--out", "read-only"), needs="ro"),
    Case("out-long", (*TRENDS, "--out", "{tmp}/" + "t" * 300), 2, ("--out", "longer than")),
    Case(
        "out-foreign",
        (*TRENDS, "--out", "{docs}"),
        2,
        ("letter.docx",),
        (("docs/letter.docx", "x"),),
    ),
    Case("dataset-missing", (*TRENDS, "--dataset", "{tmp}/none.csv"), 2, ("--dataset", "none.csv")),
    Case(
        "scenario-bad",
        (*TRENDS, "--scenario", "{s.toml}", "--out", "{out}"),
        2,
        ("{s.toml}",),
        (("s.toml", "name = [\n"),),
    ),
    Case(
        "scenario-name-nul",
        (*TRENDS, "--scenario", "{s.toml}", "--out", "{out}"),
        2,
        ("{s.toml}", "NUL"),
        (("s.toml", 'name = "a\\u0000"\nextends = "default"\n'),),
    ),
]

BACKTEST: list[Case] = [
    Case(
        "backtest-out-empty",
        ("backtest", "default", "--cutoffs", "2020-01-01", "--out", ""),
        2,
        ("--out", "empty"),
    ),
    Case(
        "backtest-out-proc",
        ("backtest", "default", "--cutoffs", "2020-01-01", "--paths", "20", "--out", "/proc/bt"),
        2,
        ("--out", "/proc"),
    ),
    Case(
        "backtest-out-readonly",
        ("backtest", "default", "--cutoffs", "2020-01-01", "--paths", "20", "--out", "{ro}/bt"),
        3,
        ("read-only",),
        needs="ro",
    ),
]

CASES = [
    *SCENARIOS,
    *DATA,
    *ARGUMENTS,
    *STORES,
    *EXPORT,
    *[dataclasses.replace(c, id=f"estimate-{c.id}") for c in ESTIMATE],
    *[dataclasses.replace(c, id=f"trends-{c.id}") for c in TRENDS_CASES],
    *BACKTEST,
    # Found while building the above: names with no room for our hidden companions, mount
    # points (cannot be renamed), a bootstrap too large for memory.
    Case("out-mount-point", (*PROJECT, "--out", "{ro}"), 2, ("--out", "mount point"), needs="ro"),
    Case(
        "out-name-no-room", (*PROJECT, "--out", "{tmp}/" + "r" * 240), 2, ("--out", "longer than")
    ),
    Case(
        "trends-resamples-huge",
        ("trends", "--resamples", "1000000000000", "--out", "{out}"),
        3,
        ("--resamples", "memory"),
    ),
    *scen("dataset-device", BASE + '[data]\ndataset = "/dev/zero"\n', "data.dataset", "/dev/zero"),
    *scen("dataset-folder", BASE + '[data]\ndataset = "/tmp"\n', "data.dataset", "regular file"),
    Case("validate-name-too-long-path", ("validate", "a" * 5000), 2, ("too long",)),
    Case(
        "summary-proc-file",
        ("summary", "/proc/self/status"),
        2,
        ("/proc/self/status", "not a readable"),
    ),
    Case("summary-device", ("summary", "/dev/null"), 2, ("/dev/null",)),
    Case("validate-device", ("validate", "/dev/stdin"), 2, ("/dev/stdin",)),
    Case(
        "project-arg-dataset-device",
        (*PROJECT, "--dataset", "/dev/zero", "--out", "{out}"),
        2,
        ("--dataset", "/dev/zero"),
    ),
    Case("compare-one", ("compare", "{cube}"), 2, ("at least two",), needs="cube:good"),
    Case("compare-out-empty", ("compare", "{cube}", "{cube}", "--out", ""), 2, ("--out", "empty")),
    Case(
        "compare-out-proc",
        ("compare", "{cube}", "{cube}", "--out", "/proc/cmp"),
        2,
        ("--out", "/proc"),
        needs="cube:good",
    ),
    Case(
        "report-out-proc",
        ("report", "{cube}", "--out", "/proc/r.html"),
        2,
        ("--out", "/proc"),
        needs="cube:good",
    ),
    Case(
        "report-out-suffix",
        ("report", "{cube}", "--out", "{tmp}/r.txt"),
        2,
        ("--out", ".html"),
        needs="cube:good",
    ),
    Case(
        "result-export-proc",
        ("export", "{cube}", "/proc/x.nc"),
        2,
        ("export", "/proc"),
        needs="cube:good",
    ),
    Case("result-export-slash", ("export", "{cube}", "{tmp}/x/"), 2, ("out", "slash")),
    Case("result-export-fifo", ("export", "{cube}", "{fifo}"), 2, ("FIFO",), needs="cube:good"),
    Case(
        "sweep-out-empty",
        ("sweep", "default", "--set", "seed=1,2", "--out", ""),
        2,
        ("--out", "empty"),
    ),
    Case(
        "sweep-out-proc",
        ("sweep", "default", "--set", "seed=1,2", "--paths", "20", "--out", "/proc/sw"),
        2,
        ("--out", "/proc"),
    ),
    Case("export-name-no-room", ("data", "export", "{tmp}/" + "x" * 240), 2, ("longer than",)),
]


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert len(CASES) >= 150


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def readonly_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A read-only tmpfs (root ignores permission bits, not a read-only mount); None if we
    cannot mount. It holds a result cube for ``plot`` into it."""
    target = tmp_path_factory.mktemp("ro")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield None
        return
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(target)], capture_output=True
    )
    if proc.returncode != 0:
        yield None
        return
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture(scope="session")
def good_cube(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A result exported as one NetCDF cube (the format the corruptions below act on)."""
    out = tmp_path_factory.mktemp("cube") / "res"
    assert main(["project", "default", "--paths", "50", "--out", str(out), "--quiet"]) == 0
    cube = out.parent / "projection.nc"
    assert main(["export", str(out), str(cube)]) == 0
    return cube


@pytest.fixture(scope="session")
def ro_with_cube(readonly_dir: Path | None, good_cube: Path) -> Path | None:
    if readonly_dir is None:
        return None
    if not (readonly_dir / "projection.nc").exists():
        shutil.copy(good_cube, readonly_dir / "projection.nc")
        subprocess.run(["mount", "-o", "remount,ro", str(readonly_dir)], check=True)
    return readonly_dir


def _corrupt(src: Path, dst: Path, kind: str) -> None:
    import h5py
    import xarray as xr

    blob = src.read_bytes()
    if kind == "good":
        dst.write_bytes(blob)
    elif kind == "truncated-half":
        dst.write_bytes(blob[: len(blob) // 2])
    elif kind == "truncated-tail":
        dst.write_bytes(blob[:-200])
    elif kind == "truncated-head":
        dst.write_bytes(blob[:4096])
    elif kind == "zeroed-middle":
        n = len(blob)
        dst.write_bytes(blob[: n // 3] + b"\0" * (n // 3) + blob[2 * n // 3 :])
    else:
        with xr.open_dataset(src, engine="h5netcdf") as ds:
            cube = ds.load()
        if kind == "no-variable":
            cube = cube.drop_vars("crossing_year")
        elif kind == "no-attribute":
            del cube.attrs["start_date"]
        elif kind == "no-report-years":
            del cube.attrs["report_years"]
        elif kind == "zero-paths":
            cube = cube.isel(path=slice(0, 0))
        elif kind == "no-years":
            cube = cube.isel(year=slice(0, 0))
        elif kind == "report-years-outside":
            cube.attrs["report_years"] = [2999.0]
        elif kind == "not-projector":
            cube = xr.Dataset({"x": ("y", [1.0, 2.0])})
        cube.to_netcdf(dst, engine="h5netcdf")
        assert h5py.is_hdf5(dst)


def _fill(text: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        text = text.replace("{" + name + "}", value)
    return text


def _tree(root: Path) -> list[tuple[str, int]]:
    """Every entry under ``root`` with its size (folders 0); hidden files included."""
    out = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            out.append((str(p.relative_to(root)), 0 if p.is_dir() else os.lstat(p).st_size))
    return sorted(out)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=pytest.mark.xfail(strict=False, reason=c.xfail))
        if c.xfail
        else pytest.param(c, id=c.id)
        for c in CASES
    ],
)
def test_bad_input(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    names: dict[str, str] = {"tmp": str(work), "out": str(work / "out")}
    for name, content in case.files:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        names[name] = str(path)
        names[name.split("/")[0]] = str(work / name.split("/")[0])
    if "{link}" in " ".join(case.argv):
        (work / "link").symlink_to(work / "real")
        names["link"] = str(work / "link")
    if "{dangling}" in " ".join(case.argv):
        (work / "dangling").symlink_to(work / "nowhere")
        names["dangling"] = str(work / "dangling")
    if "{fifo}" in " ".join(case.argv):
        os.mkfifo(work / "fifo")
        names["fifo"] = str(work / "fifo")
    if "ro" in case.needs.split("+"):
        ro = request.getfixturevalue("ro_with_cube")
        if ro is None:
            pytest.skip("needs root and a tmpfs mount for a read-only folder")
        names["ro"] = str(ro)
    for need in case.needs.split("+"):
        if need.startswith("cube:"):
            cube = work / "cube" / "projection.nc"
            cube.parent.mkdir()
            _corrupt(request.getfixturevalue("good_cube"), cube, need.removeprefix("cube:"))
            names["cube"] = str(cube)
    argv = [_fill(a, names) for a in case.argv]
    expect = [_fill(e, names) for e in case.expect]
    before = _tree(work)
    ro_before = _tree(Path(names["ro"])) if "ro" in names else None

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err

    assert code == case.code, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("projector"), err
    for fragment in expect:
        assert fragment in err, (fragment, err)
    assert _tree(work) == before  # no result, no temporary, no lock, no probe left
    if ro_before is not None:
        assert _tree(Path(names["ro"])) == ro_before


def test_internal_errors_say_so_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real bug is not dressed up as bad input: exit 70, 'please report', one line."""
    from projector.cli import data as cli_data

    def broken(args: object) -> list[str]:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(cli_data, "_cmd_data_list", broken)
    assert main(["data", "list"]) == 70
    err = capsys.readouterr().err
    assert (
        err
        == "projector: internal error, please report: ZeroDivisionError: float division by zero\n"
    )
    assert main(["--debug", "data", "list"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("float division by zero\n")


@pytest.mark.parametrize(
    ("exc", "code", "fragment"),
    [
        (MemoryError(), 3, "out of memory"),
        (RecursionError(), 2, "nested too deeply"),
        (OSError(28, "No space left on device", "/x/y"), 3, "/x/y: no space left"),
        (PermissionError(13, "Permission denied", "/x/y"), 3, "/x/y: permission denied"),
        (OSError(30, "Read-only file system", "/x"), 3, "read-only file system"),
        (FileNotFoundError(2, "No such file", "/x"), 2, "/x: no such file"),
        (OSError(36, "File name too long", "/x"), 2, "too long"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (OSError(5, "I/O error"), 3, "input/output error"),
        (OSError(999, "weird"), 70, "internal error"),
        (KeyError("attr"), 70, "internal error, please report: KeyError"),
        (ValueError("line one\nline two"), 70, "line one line two"),
    ],
)
def test_every_failure_maps_to_one_line_and_a_status(
    exc: BaseException,
    code: int,
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from projector.cli import data as cli_data

    def failing(args: object) -> list[str]:
        raise exc

    monkeypatch.setattr(cli_data, "_cmd_data_list", failing)
    assert main(["data", "list"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err


def test_interrupted_signal_maps_to_128_plus_signal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from projector.cli import data as cli_data

    def killed(args: object) -> list[str]:
        os.kill(os.getpid(), signal.SIGTERM)
        return ["not reached"]

    monkeypatch.setattr(cli_data, "_cmd_data_list", killed)
    assert main(["data", "list"]) == 143
    assert capsys.readouterr().err == (
        "projector: interrupted (SIGTERM); the previous result is unchanged\n"
    )
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_broken_pipe_is_a_quiet_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``projector data list | head``: the reader goes away; no traceback, status 0."""
    import io
    import sys

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["data", "list"]) == 0
    assert err.getvalue() == ""
