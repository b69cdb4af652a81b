"""The accelerator table: required chips, lookups and errors."""

from __future__ import annotations

import pytest

from projector.curation.hardware import PRECISIONS, accelerators, find_chip, peak_flop_per_s
from projector.errors import InputError

REQUIRED = [
    "K80", "P100", "V100", "T4", "A100", "H100", "H200", "B200",
    "TPUv2", "TPUv3", "TPUv4", "TPUv5e", "TPUv5p", "MI250X", "MI300X",
]  # fmt: skip


@pytest.mark.parametrize("chip", REQUIRED)
def test_required_chips_have_sourced_peaks(chip: str) -> None:
    acc = find_chip(chip)
    assert acc.peaks and set(acc.peaks) <= set(PRECISIONS)
    for precision, peak in acc.peaks.items():
        assert 1e12 < peak < 1e16
        assert acc.sources[precision]


def test_lookup_ignores_case_spaces_and_hyphens() -> None:
    assert find_chip("tpu v4") is find_chip("TPU-v4") is find_chip("TPUv4")
    assert peak_flop_per_s("a100", "BF16") == 312e12


def test_lower_precision_is_never_slower() -> None:
    order = {p: i for i, p in enumerate(PRECISIONS)}
    for acc in accelerators().values():
        peaks = sorted(acc.peaks.items(), key=lambda kv: order[kv[0]])
        assert peaks[0][1] == min(acc.peaks.values()), acc.chip


def test_unknown_chip_and_missing_precision() -> None:
    with pytest.raises(InputError, match=r"unknown chip 'Z9'.*known chips: .*A100"):
        find_chip("Z9")
    with pytest.raises(InputError, match=r"K80 has no 'bf16'.*it has: fp32"):
        peak_flop_per_s("K80", "bf16")
