"""Reading back the folders the study commands wrote, for the HTML report.

Dependency direction: ``trends`` -> ``folders`` -> ``render.document`` and ``cli``. The one
place that opens a sensitivity, backtest or trends folder: the report's renderer gets what
this module read (:class:`Extras`) and reads no file itself.

The backtest and sensitivity folders hold no Dataset (only their CSV, Markdown and figure),
so their Markdown is read as an outline of headed parts, which the report nests under its
own headings; a trends folder is also read as its Dataset (``trends.nc``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from projector.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["Extras", "Part", "Written", "open_extras", "open_folder"]


@dataclasses.dataclass(frozen=True)
class Part:
    """One headed part of a Markdown document: its heading and the lines up to the next.

    ``depth`` is the heading level (0 for the lines before the first heading); ``heading``
    is the heading line after its ``#`` marks (with the space that follows them).
    """

    depth: int
    heading: str
    lines: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Written:
    """A folder a study command wrote: its Markdown as parts, its figures as PNG bytes."""

    parts: tuple[Part, ...]
    figures: dict[str, bytes]  # file name -> PNG, in the order asked, those present
    data: xr.Dataset | None = None


@dataclasses.dataclass(frozen=True)
class Extras:
    """Optional sections of the report: folders written by other commands, read back."""

    sensitivity: Written | None = None  # sensitivity.md and sensitivity.png
    backtest: Written | None = None  # backtest.md and backtest.png
    trends: Written | None = None  # trends.md, trends_*.png and trends.nc
    ledger: Written | None = None  # ledger.md and ledger.png


def _outline(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    depth, heading, lines = 0, "", list[str]()
    for line in text.splitlines():
        if line.startswith(("# ", "##")):
            parts.append(Part(depth, heading, tuple(lines)))
            depth = len(line) - len(line.lstrip("#"))
            heading, lines = line[depth:], []
        else:
            lines.append(line)
    parts.append(Part(depth, heading, tuple(lines)))
    return tuple(parts)


def open_folder(folder: str | Path, markdown: str, figures: Sequence[str] = ()) -> Written:
    """The Markdown file ``markdown`` of ``folder`` and those of its ``figures`` it holds."""
    folder = Path(folder)
    md_path = folder / markdown
    if not md_path.is_file():
        raise InputError(f"{folder}: no {markdown} (give the folder a `projector` command wrote)")
    pngs = {name: (folder / name).read_bytes() for name in figures if (folder / name).is_file()}
    return Written(_outline(md_path.read_text(encoding="utf-8")), pngs)


def open_extras(
    sensitivity: str | Path | None = None,
    backtest: str | Path | None = None,
    trends: str | Path | None = None,
    ledger: str | Path | None = None,
) -> Extras:
    """The folders of ``projector sensitivity``, ``backtest``, ``trends`` and ``ledger``,
    read back."""
    from projector.studies.trends import open_trends

    found = {}
    if sensitivity is not None:
        found["sensitivity"] = open_folder(sensitivity, "sensitivity.md", ("sensitivity.png",))
    if backtest is not None:
        found["backtest"] = open_folder(backtest, "backtest.md", ("backtest.png",))
    if trends is not None:
        written = open_folder(trends, "trends.md", ("trends_compute.png", "trends_parameters.png"))
        found["trends"] = dataclasses.replace(written, data=open_trends(trends))
    if ledger is not None:
        found["ledger"] = open_folder(ledger, "ledger.md", ("ledger.png",))
    return Extras(**found)
