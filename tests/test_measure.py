"""Measured FLOP and backward-forward ratios (issue 13): counts, cross-check, CLI contract.

Counts only: nothing here asserts a time. Models are small so the file runs in seconds.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from projector.cli.app import main
from projector.curation import measure
from projector.errors import InputError

from .conftest import REPO

try:
    import torch
except ImportError:  # pragma: no cover - `make install` installs torch==2.13.0 (CPU)
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None,
    reason="PyTorch (the 'measure' extra) is not installed; `make install` installs "
    "torch==2.13.0 (CPU) where pip can get it",
)


def _row(
    arch: str, depth: int, batch: int, **kw: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row, layers, _ = measure.measure_model(arch, depth, batch, **kw)
    return row, layers


def _layer(layers: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [r for r in layers if r["layer"] == name]
    return found


# --- counts and ratios -------------------------------------------------------------------


@needs_torch
def test_flop_counter_unit_is_two_flop_per_multiply_add() -> None:
    assert measure.flop_per_counted_unit() == 1.0


@needs_torch
def test_mlp_ratio_rises_with_depth_from_one_towards_two() -> None:
    ratios = []
    for depth in (1, 2, 4, 8, 16):
        row, layers = _row("mlp", depth, 64, width=64)
        ratios.append(row["ratio"])
        # the analytic count: first layer 1:1, every other dense layer 2:1
        assert row["estimate_ratio"] == pytest.approx((1 + 2 * (depth - 1)) / depth)
        assert row["ratio"] == pytest.approx(row["estimate_ratio"], rel=0.01)
        assert row["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
        assert row["backward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
        assert not row["mismatch"]
        # the first layer alone: no gradient for the input, so 1:1
        assert _layer(layers, "Sequential.0")["ratio"] == 1.0
        assert row["first_layer_ratio"] == 1.0
    assert ratios[0] == 1.0
    assert ratios == sorted(ratios)
    assert 1.9 < ratios[-1] < 2.0


@needs_torch
def test_dense_layers_after_the_first_are_two_to_one_and_relu_one_to_one() -> None:
    _, layers = _row("mlp", 3, 8, width=32)
    assert [r["ratio"] for r in layers if r["kind"] == "Linear"] == [1.0, 2.0, 2.0]
    assert [r["ratio"] for r in layers if r["kind"] == "ReLU"] == [1.0, 1.0]


@needs_torch
def test_small_batches_shift_the_ratio_through_the_weight_update() -> None:
    small, _ = _row("mlp", 8, 1, width=64)
    large, _ = _row("mlp", 8, 64, width=64)
    # the matrix products scale with the batch on both passes: same ratio
    assert small["ratio"] == pytest.approx(large["ratio"], rel=1e-3)
    # SGD's update is 2 FLOP per parameter per step, whatever the batch
    for row in (small, large):
        assert row["optimizer_flop"] == 2 * row["params"]
        assert row["optimizer_vs_estimate"] == 1.0
    assert small["ratio_with_update"] > large["ratio_with_update"] + 0.5
    assert 1.0 < large["ratio_with_update"] < small["ratio_with_update"] < 3.0


@needs_torch
def test_deep_cnn_and_transformer_block_are_near_two_to_one() -> None:
    cnn, cnn_layers = _row("cnn", 8, 4, width=8)
    block, block_layers = _row("transformer", 1, 2, width=32, seq_len=16)
    for row in (cnn, block):
        assert abs(row["ratio"] - 2.0) <= 0.2
        assert not row["mismatch"]
    assert _layer(cnn_layers, "Sequential.0")["ratio"] == 1.0  # the first convolution
    assert _layer(cnn_layers, "Sequential.2")["ratio"] == 2.0
    # pooling and GELU: one backward element per forward element
    assert _layer(cnn_layers, "Sequential.16")["ratio"] == 1.0
    assert _layer(block_layers, "Net.blocks.0.act")["ratio"] == 1.0
    # the block's input comes from a trained embedding, so it is not a "first layer"
    attn = _layer(block_layers, "Net.blocks.0.attn")
    assert attn["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
    assert attn["backward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)


@needs_torch
def test_first_recurrent_layer_is_between_one_and_two() -> None:
    # The first layer's input projection needs no input gradient (1:1) but its
    # recurrent product does, except at the first step: (3T - 1) / 2T of the estimate's
    # ratio-1 backward count. The estimator's first-layer rule undercounts, and is flagged.
    steps = 8
    row, layers = _row("rnn", 2, 4, width=16, seq_len=steps)
    first = _layer(layers, "Net.rnn.0")
    assert first["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
    assert first["backward_vs_estimate"] == pytest.approx((3 * steps - 1) / (2 * steps))
    assert first["mismatch"] and row["mismatch"]
    # later layers: input projection 2:1, recurrent product 2:1 but at the first step
    second = _layer(layers, "Net.rnn.1")
    assert second["backward_vs_estimate"] == pytest.approx((4 * steps - 1) / (4 * steps))
    assert not second["mismatch"]


@needs_torch
def test_fused_lstm_is_missed_by_the_framework_and_flagged() -> None:
    unrolled, _ = _row("lstm", 1, 2, width=16, seq_len=4)
    fused, _ = _row("lstm-fused", 1, 2, width=16, seq_len=4)
    assert unrolled["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
    assert fused["estimate_forward_flop"] == unrolled["estimate_forward_flop"]
    # only the dense head is counted: the fused kernel is invisible to FlopCounterMode
    assert fused["forward_vs_estimate"] < 0.1
    assert fused["mismatch"]


@needs_torch
def test_depthwise_convolution_forward_agrees_and_a_backward_miscount_is_flagged() -> None:
    row, layers = _row("dwcnn", 2, 2, width=8)
    depthwise = _layer(layers, "Sequential.2")
    assert depthwise["spec"] == "conv:1,8,3,32,1,1"
    assert depthwise["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)
    off = abs(depthwise["backward_vs_estimate"] - 1.0) > measure.TOLERANCE
    assert depthwise["mismatch"] == off
    if torch is not None and torch.__version__.startswith("2.13"):
        # torch 2.13's conv_backward_flop ignores groups: the weight gradient of a
        # depthwise convolution is counted channels (8) times over: 1 + 8 against 2
        assert depthwise["backward_vs_estimate"] == pytest.approx(4.5)
        assert row["mismatch"]


@needs_torch
@pytest.mark.parametrize("arch", ["mlp", "cnn", "transformer"])
def test_compiled_graph_counts_agree_with_the_counter(arch: str) -> None:
    row, _ = _row(arch, 2, 2, width=8, seq_len=4, graph=True)
    assert row["graphs"] >= 2  # a forward and a backward graph at least
    assert row["graph_forward_flop"] > 0
    assert row["graph_forward_vs_counter"] == pytest.approx(1.0, abs=1e-12)
    assert row["graph_backward_vs_counter"] == pytest.approx(1.0, abs=1e-12)


# --- forward counts against `projector estimate ops --layer` --------------------------------


def _estimate_forward(spec: str, capsys: pytest.CaptureFixture[str]) -> float:
    assert main(["estimate", "ops", "--layer", spec, "--examples", "1"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("forward = "))
    return float(line.split()[2])


@needs_torch
@pytest.mark.parametrize(
    ("spec", "make"),
    [
        ("dense:300,70", lambda: (torch.nn.Linear(300, 70), (300,))),
        (
            "conv:3,8,5,17,2,1",
            lambda: (torch.nn.Conv2d(3, 8, 5, stride=2, padding=1), (3, 17, 17)),
        ),
        ("conv:16,4,1,9", lambda: (torch.nn.Conv2d(16, 4, 1), (16, 9, 9))),
    ],
)
def test_measured_forward_matches_the_estimate_cli(
    spec: str, make: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    module, shape = make()
    batch = 3
    built = measure.Built(
        "custom", 1, module, lambda b: torch.randn(b, *shape), ((type(module).__name__, spec, 1),)
    )
    m = measure.count_step(built, batch)
    expected = _estimate_forward(spec, capsys)
    assert m.forward_flop / batch == pytest.approx(expected, rel=0.05)
    assert m.forward_flop / batch == pytest.approx(
        measure.estimate.parse_layer(spec).forward_flop(), rel=1e-12
    )
    assert m.backward_flop == pytest.approx(m.forward_flop)  # the only layer: 1:1


@needs_torch
def test_measured_attention_matches_the_estimate_cli(capsys: pytest.CaptureFixture[str]) -> None:
    batch, d, seq = 2, 32, 24
    _, layers = _row("transformer", 1, batch, width=d, seq_len=seq)
    attn = _layer(layers, "Net.blocks.0.attn")
    expected = _estimate_forward(f"attention:{d},{seq}", capsys)
    # the attention module also holds a scaling multiply (element-wise, not in the estimate)
    assert attn["forward_flop"] / batch == pytest.approx(expected, rel=0.05)
    assert attn["forward_vs_estimate"] == pytest.approx(1.0, abs=1e-12)


# --- peaks -------------------------------------------------------------------------------


def test_chip_for_device_name() -> None:
    assert measure.chip_for_device_name("NVIDIA A100-SXM4-40GB") == "A100"
    assert measure.chip_for_device_name("Tesla V100-SXM2-16GB") == "V100"
    assert measure.chip_for_device_name("NVIDIA H100 80GB HBM3") == "H100"
    assert measure.chip_for_device_name("AMD EPYC 7B13") is None


@needs_torch
def test_table_peak_is_used_for_a_known_chip() -> None:
    peak = measure.measure_peak(chip="A100")
    assert peak.flop_per_s == 19.5e12
    assert "A100 fp32" in peak.source
    cpu = measure.measure_peak(size=64, repeats=1)
    assert cpu.flop_per_s > 0 and cpu.source.startswith("measured: best of 1 fp32 torch.mm 64x64")


# --- the command line ---------------------------------------------------------------------


@needs_torch
def test_ratio_command_writes_csv_markdown_and_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m"
    args = ["measure", "ratio", "--arch", "mlp,cnn", "--depth", "1,2", "--batch", "2"]
    assert main([*args, "--width", "8", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "ratio.csv",
        "ratio.md",
        "ratio.png",
        "ratio_layers.csv",
    ]
    header = (out / "ratio.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == [
        "arch",
        "depth",
        "batch",
        "params",
        "forward_flop",
        "backward_flop",
        "ratio",
    ]
    assert len((out / "ratio.csv").read_text().splitlines()) == 1 + 4
    assert (out / "ratio.png").read_bytes()[:4] == b"\x89PNG"
    assert "one multiply-add = 2 FLOP" in (out / "ratio.md").read_text()
    capsys.readouterr()
    assert main([*args, "--width", "8", "--out", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["depth"] for r in rows] == [1, 2, 1, 2]
    assert rows[0]["ratio"] == 1.0
    assert {"forward_flop", "backward_flop", "ratio"} <= rows[0].keys()
    assert "seconds" not in rows[0]


@needs_torch
def test_utilization_json_has_the_timing_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["measure", "utilization", "--arch", "mlp", "--depth", "2", "--batch", "1,4"]
    extra = ["--width", "8", "--repeats", "1", "--peak-size", "64", "--device", "cpu"]
    assert main([*args, *extra, "--out", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    for r in rows:
        for key in ("seconds", "flop_per_s", "peak_flop_per_s", "utilization"):
            assert r[key] > 0
        step = r["forward_flop"] + r["backward_flop"] + r["optimizer_flop"]
        assert r["flop_per_s"] == pytest.approx(step / r["seconds"])
        assert r["utilization"] == pytest.approx(r["flop_per_s"] / r["peak_flop_per_s"])
        est_step = r["estimate_forward_flop"] + r["estimate_backward_flop"] + 2 * r["params"]
        assert r["estimate_utilization"] == pytest.approx(
            est_step / r["seconds"] / r["peak_flop_per_s"]
        )
        assert r["peak_source"].endswith("interleaved with the steps")
        assert r["seconds_median"] >= r["seconds"]
    assert (tmp_path / "utilization.png").is_file() and (tmp_path / "utilization.md").is_file()
    assert not list(tmp_path.glob("*.part"))


@needs_torch
def test_model_command_flags_a_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["measure", "model", "lstm-fused", "--depth", "1", "--batch", "2", "--width", "8"])
        == 0
    )
    out = capsys.readouterr().out
    assert "MISMATCH: measured and analytic layer counts differ" in out
    assert "| MISMATCH |" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["measure", "ratio", "--arch", "resnet"],
        ["measure", "ratio", "--depth", "0,2"],
        ["measure", "ratio", "--batch", "0"],
        ["measure", "model", "mlp", "--depth", "0"],
        ["measure", "model", "gan"],
        ["measure", "utilization", "--batch", "-1"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1


@needs_torch
def test_bad_sizes_raise_input_error() -> None:
    with pytest.raises(InputError, match="unknown architecture 'resnet'"):
        measure.build_model("resnet", 2)
    with pytest.raises(InputError, match="depth must be a whole number >= 1"):
        measure.build_model("mlp", 0)
    with pytest.raises(InputError, match="width must be a whole number >= 1, got 0"):
        measure.build_model("mlp", 2, width=0)
    with pytest.raises(InputError, match="batch must be"):
        measure.sweep(["mlp"], [1], [0])


def test_missing_extra_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for argv in (["measure", "model", "mlp"], ["measure", "ratio"], ["measure", "peak"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "pip install 'projector[measure]'" in err and err.startswith("projector: ")


def test_import_does_not_import_torch() -> None:
    code = (
        "import sys, projector, projector.cli.app, projector.curation.measure, projector.cli.measure; "
        "projector.cli.app.build_parser(); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_report_json_has_no_nan() -> None:
    from projector.curation.measure_report import rows_json

    assert json.loads(rows_json([{"ratio": math.nan, "x": 1.5}])) == [{"ratio": None, "x": 1.5}]
