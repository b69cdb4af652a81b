"""Same bits: a small run of ``epoch-2022`` and ``default`` at a fixed seed gives exactly the
arrays and ``summary.csv`` that the pre-refactor package gave (issue 18).

The digests cover every array of the store, decoded (so the codec may change), in name
order, with its dtype. A deliberate change of the method or of the bundled data changes
them: rerun this file with ``PROJECTOR_PRINT_DIGESTS=1`` and update them in the same
commit, saying why.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import zarr

from projector.cli import main

PINNED = {
    "epoch-2022": (
        "960202f69ce11b549b4aaeb3c3d6bada5ff3e9d180af40dc9465dcff4703e30d",
        "907f26eb40754527",
    ),
    # calibrated before issue 19 (issue 19 made the record process calibrated's and so
    # default's method); re-pinned for issue 22's data (GPT-6 Astra and the systems to
    # 2026-09): the data of main gave the previous digests, 70d08686... and f5fab44f...
    "calibrated-deviations": (
        "fa9e031b4d7cfc9c7659ee27b7c91059afd7749c0cd892fb90741d768e0611e8",
        "05d00a9fbfb03b47",
    ),
    # the record process (issue 19), deliberately: the method of calibrated changed; its
    # fit rounded to 1e-9 (record_process._FIT_DECIMALS) so SciPy builds and machines
    # agree (the pin before, fdc85dcb..., was not reproduced on another machine even at
    # its own commit); re-pinned for issue 22's data (GPT-6 Astra the start)
    "default": (
        "ef832798373ea19bd79f9cc1db7c4868191ebb148288626de56f1e1c181c7730",
        "712d49e0114f704b",
    ),
}


def store_digest(folder: Path) -> str:
    group = zarr.open_group(str(folder / "projection.zarr"), mode="r")
    h = hashlib.sha256()
    for name in sorted(group.array_keys()):
        a = np.ascontiguousarray(np.asarray(group[name][...]))
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("scenario", sorted(PINNED))
def test_small_run_is_bit_identical_to_the_pinned_one(scenario: str, tmp_path: Path) -> None:
    out = tmp_path / scenario
    args = ["project", scenario, "--paths", "3000", "--seed", "7", "--out", str(out), "--quiet"]
    assert main(args) == 0
    got = (store_digest(out), hashlib.sha256((out / "summary.csv").read_bytes()).hexdigest()[:16])
    if os.environ.get("PROJECTOR_PRINT_DIGESTS"):
        print(scenario, got)
    assert got == PINNED[scenario]
