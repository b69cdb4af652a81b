"""The README's scenario-key table is the one generated from the declaration (inputs.params)."""

from __future__ import annotations

from projector.inputs.scenario import settable_keys
from projector.render.keys import BEGIN, END, key_table

from .conftest import REPO


def test_readme_key_table_is_current() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == key_table(), "run `python -m projector.render.keys` to regenerate it"
    for key in settable_keys():
        assert f"| `{key}` |" in table
