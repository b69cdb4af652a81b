"""Training-compute estimators: textbook cases, layer counts, units, CLI contract."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projector.cli.app import main
from projector.curation import estimate as est
from projector.errors import InputError


def test_gpt3_by_counting_operations() -> None:
    # Brown et al. 2020, Table D.1: 175B parameters, 300B tokens, 3.14e23 FLOP.
    flop = est.ops_dense(175e9, 300e9)
    assert flop == pytest.approx(3.15e23)
    assert math.isclose(flop, 3.14e23, rel_tol=0.01)
    assert est.flop_to_pflops_days(flop) == pytest.approx(3645.8, rel=1e-4)


def test_backward_ratio_is_exposed() -> None:
    assert est.ops_dense(1e9, 1e9, backward_ratio=0) == 2e18
    assert est.ops_dense(1e9, 1e9, backward_ratio=1) == 4e18
    assert est.ops_per_example(10.0, 3.0, epochs=2.0) == 10.0 * 3 * 3 * 2


def test_units() -> None:
    assert est.pflops_days_to_flop(1.0) == 8.64e19
    assert est.macs_to_flop(1.0) == 2.0
    assert est.flop_to_macs(est.macs_to_flop(123.0)) == 123.0


def test_alexnet_first_convolution() -> None:
    # 227x227x3 input, 96 kernels 11x11, stride 4: 55x55x96 outputs, 105.4M multiply-adds.
    conv = est.Conv2d(3, 96, 11, 227, stride=4)
    assert conv.out_size() == 55
    assert conv.forward_flop() == 2 * 55 * 55 * 96 * 11 * 11 * 3
    assert conv.params() == 96 * (11 * 11 * 3 + 1)


def test_padding_and_stride() -> None:
    assert est.Conv2d(64, 64, 3, 56, stride=1, padding=1).out_size() == 56
    assert est.Conv2d(64, 128, 3, 56, stride=2, padding=1).out_size() == 28
    with pytest.raises(InputError):
        est.Conv2d(3, 8, 7, 5).out_size()


def test_dense_layer_costs_two_flop_per_weight() -> None:
    layer = est.Dense(784, 100)
    assert layer.forward_flop() == 2 * 784 * 100
    assert layer.params() == 784 * 100 + 100


def test_recurrent_attention_embedding() -> None:
    lstm = est.parse_layer("lstm:100,200,50")
    assert isinstance(lstm, est.Recurrent) and lstm.gates == 4
    assert lstm.forward_flop() == 2 * 4 * 300 * 200 * 50
    att = est.Attention(512, 128)
    assert att.forward_flop() == 2 * (4 * 512**2 * 128 + 2 * 128 * 128 * 512)
    assert est.Embedding(50_000, 512).forward_flop() == 0.0


def test_first_layer_ratio_and_weight_update() -> None:
    layers = [est.Dense(10, 20), est.Dense(20, 5)]
    f1, f2 = layers[0].forward_flop(), layers[1].forward_flop()
    total, forward, params = est.ops_layers(layers, 100.0)
    assert total == pytest.approx((f1 * 2 + f2 * 3) * 100)
    assert forward == f1 + f2
    # Batch size 1: one SGD update (2 FLOP/param) per example.
    total_b1, _, _ = est.ops_layers(layers, 100.0, batch_size=1)
    assert total_b1 == pytest.approx(total + 2 * params * 100)


@given(
    forward=st.lists(st.integers(1, 500), min_size=1, max_size=6),
    ratio=st.floats(0, 3),
    examples=st.floats(1, 1e9),
)
def test_uniform_ratio_layer_count_equals_per_example_count(
    forward: list[int], ratio: float, examples: float
) -> None:
    layers = [est.Dense(n, 1) for n in forward]
    total, fwd, _ = est.ops_layers(
        layers, examples, backward_ratio=ratio, first_layer_backward_ratio=ratio
    )
    assert total == pytest.approx(est.ops_per_example(fwd, examples, backward_ratio=ratio))


@given(n=st.floats(1e3, 1e13), d=st.floats(1e3, 1e14), k=st.floats(0.1, 10))
def test_ops_dense_is_linear_in_params_and_tokens(n: float, d: float, k: float) -> None:
    assert est.ops_dense(k * n, d) == pytest.approx(k * est.ops_dense(n, d))
    assert est.ops_dense(n, k * d) == pytest.approx(k * est.ops_dense(n, d))


def test_gpu_time_defaults() -> None:
    flop, precision, u = est.gpu_time("A100", 1, 1)
    assert (precision, u) == ("bf16", 0.40)
    assert flop == pytest.approx(3600 * 312e12 * 0.40)
    _, _, u_llm = est.gpu_time("A100", 1, 1, llm=True)
    assert u_llm == 0.30
    flop_fp32, p32, _ = est.gpu_time("K80", 8, 24)
    assert p32 == "fp32" and flop_fp32 == pytest.approx(8 * 24 * 3600 * 8.73e12 * 0.4)


@pytest.mark.parametrize("bad", [{"count": -1}, {"hours": 0}, {"utilization": 1.5}])
def test_gpu_time_rejects_bad_numbers(bad: dict[str, float]) -> None:
    kwargs = {"count": 1.0, "hours": 1.0} | bad
    utilization = kwargs.pop("utilization", None)
    with pytest.raises(InputError):
        est.gpu_time("A100", kwargs["count"], kwargs["hours"], utilization=utilization)


def test_compute_from_inputs_all_forms() -> None:
    p = est.parse_inputs
    assert est.compute_from_inputs("ops", p("params=175e9; tokens=300e9")) == pytest.approx(3.15e23)
    assert est.compute_from_inputs(
        "ops", p("forward_flop=1e9; examples=1e6; epochs=10; backward_ratio=1")
    ) == pytest.approx(2e16)
    gpu = p("chip=V100; count=10; hours=24; precision=fp32; utilization=0.5")
    assert est.compute_from_inputs("gpu_time", gpu) == pytest.approx(10 * 24 * 3600 * 15.7e12 / 2)
    assert est.compute_from_inputs("reported", p("quote=3.14e23 FLOP")) is None
    with pytest.raises(InputError, match=r"missing 'tokens'|needs params"):
        est.compute_from_inputs("ops", p("params=1e9"))
    with pytest.raises(InputError, match="key=value"):
        p("params 1e9")


def test_a_derivative_adds_its_own_training_to_its_base() -> None:
    p = est.parse_inputs
    minerva = p("base=PaLM 540B; params=540e9; tokens=26e9")
    assert est.compute_from_inputs("ops", minerva, base_flop=2.5e24) == pytest.approx(
        2.5e24 + 6 * 540e9 * 26e9
    )
    flan = p("base=LaMDA; chip=TPUv3; count=64; hours=60; precision=bf16; utilization=0.3")
    assert est.compute_from_inputs("gpu_time", flan, base_flop=3.55e23) == pytest.approx(
        3.55e23 + 64 * 60 * 3600 * 123e12 * 0.3
    )
    # undisclosed further training: the base alone, a lower bound
    assert est.compute_from_inputs("ops", p("base=DeepSeek-V3"), base_flop=3.3e24) == 3.3e24
    with pytest.raises(InputError, match="needs the base system's compute"):
        est.compute_from_inputs("ops", minerva)


def _last_flop(capsys: pytest.CaptureFixture[str]) -> float:
    last = capsys.readouterr().out.strip().splitlines()[-1]
    number, unit = last.split()[:2]
    assert unit == "FLOP"
    return float(number)


def test_cli_last_line_is_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "ops", "--params", "175e9", "--tokens", "300e9"]) == 0
    assert _last_flop(capsys) == pytest.approx(3.15e23, rel=1e-3)
    assert main(["estimate", "gpu", "--chip", "V100", "--count", "10000", "--days", "14.8",
                 "--precision", "fp16", "--llm"]) == 0  # fmt: skip
    assert _last_flop(capsys) == pytest.approx(1e4 * 14.8 * 86400 * 125e12 * 0.3, rel=1e-3)
    assert main(["estimate", "ops", "--params", "60e6", "--examples", "1.2e6",
                 "--epochs", "90"]) == 0  # fmt: skip
    assert _last_flop(capsys) == pytest.approx(6 * 60e6 * 1.2e6 * 90, rel=1e-3)
    assert main(["estimate", "ops", "--layer", "conv:3,96,11,227,4", "--layer",
                 "dense:9216,4096", "--examples", "1.2e6", "--epochs", "90"]) == 0  # fmt: skip
    conv = 2 * 55 * 55 * 96 * 363
    assert _last_flop(capsys) == pytest.approx((conv * 2 + 2 * 9216 * 4096 * 3) * 1.2e6 * 90, 1e-3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gpu", "--chip", "Z80", "--count", "1", "--hours", "1"], "unknown chip 'Z80'"),
        (["gpu", "--chip", "K80", "--count", "1", "--hours", "1", "--precision", "bf16"],
         "K80 has no 'bf16'"),
        (["gpu", "--chip", "A100", "--count", "-4", "--hours", "1"], "--count"),
        (["ops", "--params", "-1", "--tokens", "1"], "--params"),
        (["ops", "--params", "1e9"], "needs --tokens or --examples"),
        (["ops", "--layer", "conv:3,96", "--examples", "10"], "expected conv:IN_CH"),
        (["ops", "--layer", "pool:2", "--examples", "10"], "unknown kind 'pool'"),
        (["ops", "--layer", "conv:3,96,11,227,0", "--examples", "10"], "stride must be at least 1"),
        (["ops", "--params", "1e300", "--tokens", "1e300"], "overflows"),
        (["ops", "--params", "1e400", "--tokens", "1"], "--params: expected a finite number"),
        (["ops", "--params", "inf", "--tokens", "1"], "--params: expected a finite number"),
        (["ops", "--params", "7X", "--tokens", "1"], "--params: expected a number such as"),
        (["gpu", "--chip", "A100", "--gpu-hours", "1.72M", "--count", "8"],
         "give it or --count, not both"),
        (["gpu", "--chip", "A100", "--hours", "10"], "need --count"),
        (["gpu", "--chip", "A100", "--count", "1e308", "--hours", "1e308"], "overflows"),
    ],
)  # fmt: skip
def test_cli_bad_input(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(["estimate", *argv])
    except SystemExit as exc:  # argparse type errors exit directly
        status = int(exc.code or 0)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.parametrize(
    ("text", "value"),
    [("3k", 3e3), ("1.5M", 1.5e6), ("70B", 7e10), ("2T", 2e12), ("1.4e12", 1.4e12),
     ("1,720,320", 1_720_320.0), ("2t", 2e12), ("0.5", 0.5)],
)  # fmt: skip
def test_counts_take_suffixes(text: str, value: float) -> None:
    assert est.parse_count(text) == pytest.approx(value, rel=1e-12)


def test_cli_counts_with_suffixes_and_accelerator_hours(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "ops", "--params", "70B", "--tokens", "2T"]) == 0
    assert _last_flop(capsys) == pytest.approx(6 * 70e9 * 2e12, rel=1e-3)
    # Llama 2 70B: 1,720,320 A100-hours (Touvron et al. 2023, Table 2)
    assert main(["estimate", "gpu", "--chip", "A100", "--gpu-hours", "1,720,320", "--llm"]) == 0
    assert _last_flop(capsys) == pytest.approx(1_720_320 * 3600 * 312e12 * 0.3, rel=1e-3)
    assert main(["estimate", "gpu", "--chip", "A100", "--count", "2k", "--hours", "860.16",
                 "--llm"]) == 0  # fmt: skip
    assert _last_flop(capsys) == pytest.approx(1_720_320 * 3600 * 312e12 * 0.3, rel=1e-3)


def test_zero_stride_and_overflow_are_input_errors() -> None:
    with pytest.raises(InputError, match="stride"):
        est.Conv2d(3, 96, 11, 227, stride=0)
    with pytest.raises(InputError, match="stride must be at least 1"):
        est.parse_layer("conv:3,96,11,227,0")
    with pytest.raises(InputError, match="overflows"):
        est.ops_dense(1e300, 1e300)
    with pytest.raises(InputError, match="overflows"):
        est.ops_per_example(1e300, 1e300)
    with pytest.raises(InputError, match="finite"):
        est.compute_from_inputs("ops", {"params": "inf", "tokens": "1"})


def test_cli_help_lists_chips_and_precisions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["estimate", "gpu", "--help"])
    out = capsys.readouterr().out
    assert "H100" in out and "TPUv5p" in out and "bf16" in out


#: AlexNet as Krizhevsky et al. (2012) trained it on two GPUs: conv2, conv4 and conv5 are
#: grouped in two (each half sees its own GPU's channels); the README's example.
ALEXNET = [
    "conv:3,96,11,227,4",
    "conv:96,256,5,27,1,2,2",
    "conv:256,384,3,13,1,1",
    "conv:384,384,3,13,1,1,2",
    "conv:384,256,3,13,1,1,2",
    "dense:9216,4096",
    "dense:4096,4096",
    "dense:4096,1000",
]


def test_grouped_convolution_divides_the_work_and_the_weights() -> None:
    one, two = est.Conv2d(96, 256, 5, 27, 1, 2), est.Conv2d(96, 256, 5, 27, 1, 2, groups=2)
    assert two.out_size() == one.out_size() == 27
    assert two.forward_flop() == one.forward_flop() / 2
    assert two.params() == 256 * (48 * 25 + 1)
    depthwise = est.Conv2d(32, 32, 3, 16, 1, 1, groups=32)
    assert depthwise.forward_flop() == 2 * 16 * 16 * 32 * 9


@pytest.mark.parametrize("groups", [0, 3])
def test_groups_must_divide_the_channels(groups: int) -> None:
    with pytest.raises(InputError, match="groups"):
        est.Conv2d(96, 256, 5, 27, 1, 2, groups=groups)


def test_grouped_alexnet_reproduces_the_readme_table(capsys: pytest.CaptureFixture[str]) -> None:
    """1.45e9 FLOP forward and 4.47e17 for 1.2M images x 90 epochs; ungrouped, 7.13e17."""
    layers = [arg for spec in ALEXNET for arg in ("--layer", spec)]
    assert main(["estimate", "ops", *layers, "--examples", "1.2e6", "--epochs", "90"]) == 0
    out = capsys.readouterr().out
    assert "forward = 1.449e+09 FLOP/example" in out
    assert out.strip().splitlines()[-1].startswith("4.466e+17 FLOP")
    flat = [s.replace(",1,2,2", ",1,2").replace(",1,1,2", ",1,1") for s in ALEXNET]
    ungrouped = [est.parse_layer(s) for s in flat]
    assert est.ops_layers(ungrouped, 1.2e6, epochs=90)[0] == pytest.approx(7.13e17, rel=2e-3)
