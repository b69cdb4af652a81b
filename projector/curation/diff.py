"""What an Epoch export says that the bundled dataset does not: a curator's diff.

Dependency direction: ``errors``, ``inputs.systems`` -> ``curation.diff`` -> ``cli.data``. Nothing
here reads or writes files; :func:`diff` takes the bundled rows and the rows of an
export as read by :func:`projector.inputs.systems.read_rows`.

Matching, in order, each row used at most once:

1. **By name.** Names are compared normalised (:func:`normalise_name`: Unicode NFKC,
   case folded, everything but letters and digits dropped, so trailing whitespace,
   newlines and punctuation never block a match), with and without a parenthesised
   part ("GPT-3 175B (davinci)" and "GPT-3 175B"): the whole name first, then a bare
   one. Among several candidates the nearest date wins; a match on a bare name must lie
   within ``max_days`` of the bundled date. Failing those, one name may extend the other
   ("XLNet-Large" and "XLNet", 4 characters at least), within ``max_days`` and with
   figures within ``rename_factor``.
2. **Renames.** A bundled row left over is paired with a left-over Epoch row of the
   same organization (one organization of either list contains one of the other),
   published within ``rename_days`` and with a figure within a factor
   ``rename_factor`` of the bundled one; the closest in date, then in compute, wins.

What is reported (:data:`KINDS`): Epoch rows matched to nothing (``new``); matched
rows whose figures differ by more than ``min_ratio`` (``compute-changed``: both values
and the ratio Epoch / bundled); bundled rows that are lower bounds or have no figure
where Epoch now has one (``newly-figured``); pairs found by rule 2 (``renamed``);
matched rows whose Epoch domains do not include the bundled domain
(``domain-reclassified``); and bundled rows matched to nothing (``unmatched``).
The bundled data decide nothing by themselves and neither does the export: each line
is a prompt to go back to the cited source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from projector.errors import InputError
from projector.inputs.systems import SourceRow, SourceRows

__all__ = [
    "CSV_COLUMNS",
    "KINDS",
    "Diff",
    "Finding",
    "bundled_domains",
    "csv_rows",
    "diff",
    "normalise_name",
    "table_lines",
]

#: The kinds of finding, in the order they are listed.
KINDS = (
    "new",
    "compute-changed",
    "newly-figured",
    "renamed",
    "domain-reclassified",
    "unmatched",
)
CSV_COLUMNS = (
    "kind",
    "date",
    "system",
    "epoch_name",
    "organization",
    "bundled_flop",
    "epoch_flop",
    "ratio",
    "bundled_domain",
    "epoch_domain",
    "epoch_line",
    "note",
)
# Epoch's domain labels in the bundled vocabulary (projector/inputs/data/SCHEMA.md);
# a label not here (Mathematics, Medicine, Earth science, ...) is "other".
_DOMAIN_OF = {
    "language": "language",
    "vision": "vision",
    "games": "games",
    "speech": "speech",
    "audio": "speech",
    "multimodal": "multimodal",
    "image generation": "image-generation",
    "video": "image-generation",
    "3d modeling": "image-generation",
    "robotics": "robotics",
    "biology": "biology",
    "recommendation": "recommendation",
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of the diff: a bundled row, an Epoch row, or a pair of them."""

    kind: str
    date: dt.date | None  # Epoch's date where there is an Epoch row, else the bundled one
    system: str  # the bundled name; "" for a new row
    epoch_name: str  # the Epoch name; "" for an unmatched bundled row
    organization: str
    bundled_flop: float  # [FLOP], NaN: none
    epoch_flop: float  # [FLOP], NaN: none
    bundled_domain: str
    epoch_domain: str
    epoch_line: int | None  # the line the Epoch row starts on
    note: str = ""

    @property
    def ratio(self) -> float:
        """Epoch / bundled compute; NaN unless both have a figure."""
        if self.bundled_flop > 0 and self.epoch_flop > 0:
            return self.epoch_flop / self.bundled_flop
        return math.nan


@dataclasses.dataclass(frozen=True)
class Diff:
    """The findings, listed in a stable order, and the counts behind them."""

    label: str  # the Epoch file
    kind: str  # its format (a key of ``systems._FORMATS``)
    findings: tuple[Finding, ...]
    n_epoch: int  # Epoch rows that may be listed as new (after --since and notability)
    n_epoch_no_figure: int  # of which without a training compute
    n_bundled: int  # bundled rows compared (after --since)
    n_matched: int  # bundled rows paired with an Epoch row (by name or as renames)

    def count(self, kind: str) -> int:
        return sum(f.kind == kind for f in self.findings)


@dataclasses.dataclass(frozen=True)
class _Bundled:
    name: str
    organization: str
    domain: str
    date: dt.date
    flop: float  # NaN: no figure
    censored: bool


def normalise_name(name: str) -> str:
    """A name as compared: NFKC, case folded, letters and digits only ("GPT-4o " -> "gpt4o")."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _bare(name: str) -> str:
    return normalise_name(re.sub(r"\([^)]*\)", "", name))


def bundled_domains(epoch_domain: str) -> frozenset[str]:
    """Epoch's comma-separated domain list as bundled domains ("Language,Vision")."""
    labels = [d.strip().lower() for d in epoch_domain.split(",") if d.strip()]
    return frozenset(_DOMAIN_OF.get(d, "other") for d in labels)


def _same_domain(bundled: str, epoch_domain: str) -> bool:
    """Whether Epoch's list allows the bundled label: an empty list says nothing, and
    a system Epoch files under two or more domains may be bundled as multimodal."""
    mapped = bundled_domains(epoch_domain)
    if not mapped or bundled in mapped:
        return True
    if bundled == "image-generation" and "vision" in mapped:  # Epoch's label until 2024
        return True
    return bundled == "multimodal" and len(mapped) >= 2


# Words two different systems' names share without being the same system.
_GENERIC = frozenset(
    "the and for with from via model models network networks net neural deep learning "
    "large base small big language vision image".split()
)


def _name_tokens(name: str) -> set[str]:
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", name).casefold())
    return {w for w in words if (len(w) >= 3 or any(c.isdigit() for c in w)) and w not in _GENERIC}


def _organizations(text: str) -> set[str]:
    return {k for k in (normalise_name(o) for o in re.split(r"[;,]", text)) if len(k) >= 2}


def _same_organization(a: str, b: str) -> bool:
    return any(x in y or y in x for x in _organizations(a) for y in _organizations(b))


def _days(a: dt.date | None, b: dt.date | None) -> float:
    return abs((a - b).days) if a is not None and b is not None else math.inf


def _bundled(records: Sequence[Mapping[str, str]]) -> list[_Bundled]:
    out = []
    for r in records:
        text = (r.get("training_compute_flop") or "").strip()
        try:
            flop = float(text) if text else math.nan
        except ValueError:
            raise InputError(
                f"systems.csv: {r['system']}: training_compute_flop must be a number, got {text!r}"
            ) from None
        out.append(
            _Bundled(
                name=r["system"],
                organization=r.get("organization", ""),
                domain=r.get("domain", ""),
                date=dt.date.fromisoformat(r["publication_date"]),
                flop=flop,
                censored=(r.get("compute_bound") or "").strip() == "lower",
            )
        )
    return out


def _match_by_name(
    ours: list[_Bundled], theirs: list[SourceRow], *, max_days: int, factor: float
) -> dict[int, tuple[int, str]]:
    """Bundled index -> (Epoch index, how), by whole, bare, then extended names."""
    keyings: tuple[tuple[Callable[[str], str], Callable[[str], str], float, str], ...] = (
        (normalise_name, normalise_name, math.inf, ""),  # the same name, at any date
        (_bare, normalise_name, max_days, "name without parentheses"),  # "PaLM (540B)"
        (normalise_name, _bare, max_days, "name without parentheses"),
        (_bare, _bare, max_days, "name without parentheses"),
    )
    pairs: dict[int, tuple[int, str]] = {}
    used: set[int] = set()

    def take(i: int, free: list[int], limit: float, how: str) -> None:
        b = ours[i]
        j = min(free, key=lambda j: (_days(b.date, theirs[j].date), j))
        if _days(b.date, theirs[j].date) <= limit:
            pairs[i] = (j, how)
            used.add(j)

    for mine, other, limit, how in keyings:
        index: dict[str, list[int]] = {}
        for j, row in enumerate(theirs):
            key = other(row.name)
            if key and j not in used:
                index.setdefault(key, []).append(j)
        for i, b in enumerate(ours):
            free = [j for j in index.get(mine(b.name), []) if j not in used]
            if i not in pairs and free:
                take(i, free, limit, how)
    # "XLNet-Large" ~ "XLNet": one name extends the other (at least 4 characters shared)
    bares = [_bare(e.name) for e in theirs]
    for i, b in enumerate(ours):
        bare = _bare(b.name)
        if i in pairs or len(bare) < 4:
            continue
        free = [
            j
            for j, e in enumerate(theirs)
            if j not in used and _extends(bare, bares[j]) and _near(b.flop, e, factor)
        ]
        if free:
            take(i, free, max_days, "one name extends the other")
    return pairs


def _extends(a: str, b: str) -> bool:
    return len(b) >= 4 and (a.startswith(b) or b.startswith(a))


def _near(flop: float, e: SourceRow, factor: float) -> bool:
    """Figures within ``factor`` of each other, or one of them missing."""
    if not (flop > 0 and e.compute_flop > 0):
        return True
    return abs(math.log10(e.compute_flop / flop)) <= math.log10(factor) + 1e-12


def _match_renames(
    ours: list[_Bundled],
    theirs: list[SourceRow],
    taken: dict[int, tuple[int, str]],
    *,
    rename_days: int,
    rename_factor: float,
) -> dict[int, tuple[int, str]]:
    used = {j for j, _ in taken.values()}
    pairs: dict[int, tuple[int, str]] = {}
    log_f = math.log10(rename_factor)
    for i, b in enumerate(ours):
        if i in taken or not b.flop > 0:
            continue
        best, best_key = None, (math.inf, math.inf)
        for j, e in enumerate(theirs):
            if j in used or not e.compute_flop > 0:
                continue
            days = _days(b.date, e.date)
            gap = abs(math.log10(e.compute_flop / b.flop))
            if days > rename_days or gap > log_f + 1e-12:
                continue
            if not _same_organization(b.organization, e.organization):
                continue
            if not _name_tokens(b.name) & _name_tokens(e.name):  # "RETRO" is not "Student of Games"
                continue
            if (days, gap) < best_key:
                best, best_key = j, (days, gap)
        if best is not None:
            days, gap = best_key
            pairs[i] = (best, f"same organization, {days:.0f} days apart, x{10**gap:.2g} compute")
            used.add(best)
    return pairs


def diff(
    records: Sequence[Mapping[str, str]],
    epoch: SourceRows,
    /,
    *,
    since: dt.date | None = None,
    notable_only: bool = True,
    unfigured: bool = False,
    min_ratio: float = 1.01,
    max_days: int = 183,
    rename_days: int = 7,
    rename_factor: float = 3.0,
) -> Diff:
    """Compare the bundled ``records`` with the rows of an Epoch export.

    Parameters
    ----------
    records
        The bundled rows (:func:`projector.inputs.systems.bundled_records`).
    epoch
        The export's rows (:func:`projector.inputs.systems.read_rows`).
    since
        Only findings dated on or after this (Epoch's date where there is an Epoch row,
        else the bundled date); undated Epoch rows are left out.
    notable_only
        List as new only Epoch's notable rows (as ``load_dataset`` keeps them); a
        bundled row is matched against every row whatever this says.
    unfigured
        List new rows without a figure too (always listed when Epoch flags them as
        frontier models: a frontier release without a figure is a censored row to add);
        they are counted either way.
    min_ratio
        A figure counts as changed when Epoch / bundled is above this or below its
        inverse (default 1.01: anything beyond the rounding of a 3-digit figure).
    max_days, rename_days, rename_factor
        The date windows [days] of a bare-name match and of a rename, and the factor
        within which a rename's figures must agree.

    Returns
    -------
    Diff
        Findings sorted by kind (:data:`KINDS`), date, then names.
    """
    ours = _bundled(records)
    theirs = list(epoch.rows)
    by_name = _match_by_name(ours, theirs, max_days=max_days, factor=rename_factor)
    renames = _match_renames(
        ours, theirs, by_name, rename_days=rename_days, rename_factor=rename_factor
    )
    findings: list[Finding] = []

    def add(kind: str, b: _Bundled | None, e: SourceRow | None, note: str = "") -> None:
        findings.append(
            Finding(
                kind=kind,
                date=e.date if e is not None else (b.date if b is not None else None),
                system=b.name if b else "",
                epoch_name=e.name if e else "",
                organization=(e.organization if e else "") or (b.organization if b else ""),
                bundled_flop=b.flop if b else math.nan,
                epoch_flop=e.compute_flop if e else math.nan,
                bundled_domain=b.domain if b else "",
                epoch_domain=e.domain if e else "",
                epoch_line=e.line if e else None,
                note=note,
            )
        )

    log_tol = math.log10(min_ratio)
    pairs = {**by_name, **renames}
    for i, (j, how) in sorted(pairs.items()):
        b, e = ours[i], theirs[j]
        moved = f"date {b.date} -> {e.date}" if e.date and e.date != b.date else ""
        if normalise_name(b.name) != normalise_name(e.name):
            add("renamed", b, e, "; ".join(filter(None, (how, moved))))
            moved = ""  # said once
        if e.compute_flop > 0:
            if b.censored or not b.flop > 0:
                was = "was a lower bound" if b.censored else "had no figure"
                add("newly-figured", b, e, was)
            elif abs(math.log10(e.compute_flop / b.flop)) > log_tol + 1e-12:
                add("compute-changed", b, e, moved)
        if not _same_domain(b.domain, e.domain):
            add("domain-reclassified", b, e)
    matched_epoch = {j for j, _ in pairs.values()}
    listed = [e for e in theirs if e.notable or not notable_only]
    for j, e in enumerate(theirs):
        if j in matched_epoch or not (e.notable or not notable_only):
            continue
        if e.compute_flop > 0:
            add("new", None, e)
        elif unfigured or e.frontier:
            add("new", None, e, "no figure" + (", frontier model" if e.frontier else ""))
    newest = max((e.date for e in theirs if e.date is not None), default=None)
    for i, b in enumerate(ours):
        if i not in pairs:
            notes = ["lower bound" if b.censored else ""]
            if newest is not None and b.date > newest:
                notes.append(f"after the export's newest date {newest}")
            add("unmatched", b, None, "; ".join(filter(None, notes)))

    def kept(f: Finding) -> bool:
        return since is None or (f.date is not None and f.date >= since)

    findings = sorted(filter(kept, findings), key=_order)
    in_window = [e for e in listed if since is None or (e.date is not None and e.date >= since)]
    return Diff(
        label=epoch.label,
        kind=epoch.kind,
        findings=tuple(findings),
        n_epoch=len(in_window),
        n_epoch_no_figure=sum(not e.compute_flop > 0 for e in in_window),
        n_bundled=sum(since is None or b.date >= since for b in ours),
        n_matched=sum(since is None or ours[i].date >= since for i in pairs),
    )


def _order(f: Finding) -> tuple[int, str, str, str, int]:
    return (
        KINDS.index(f.kind),
        f.date.isoformat() if f.date else "9999",
        f.system.casefold(),
        f.epoch_name.casefold(),
        f.epoch_line or 0,
    )


def _flop(x: float) -> str:
    return f"{x:.3g}" if x > 0 else "-"


def table_lines(d: Diff, /, *, width: int = 40) -> list[str]:
    """The diff as a plain-text table: a summary line, then one line per finding."""
    head = (
        f"{'kind':<19}  {'date':<10}  {'system (bundled -> Epoch)':<{width}}  "
        f"{'bundled':>9}  {'Epoch':>9}  {'ratio':>7}  note"
    )
    lines = [
        f"{d.label} ({d.kind}): {d.n_epoch} Epoch rows ({d.n_epoch_no_figure} without a "
        f"figure), {d.n_bundled} bundled, {d.n_matched} matched; "
        + ", ".join(f"{d.count(k)} {k}" for k in KINDS),
        head,
        "-" * len(head),
    ]
    for f in d.findings:
        if f.system and f.epoch_name and f.system != f.epoch_name:
            name = f"{f.system} -> {f.epoch_name}"
        else:
            name = f.system or f.epoch_name
        if len(name) > width:
            name = name[: width - 3] + "..."
        note = f.note
        if f.kind == "domain-reclassified":
            note = f"{f.bundled_domain} -> {f.epoch_domain}"
        ratio = f"{f.ratio:.3g}" if math.isfinite(f.ratio) else "-"
        date = f.date.isoformat() if f.date else "-"
        lines.append(
            f"{f.kind:<19}  {date:<10}  {name:<{width}}  {_flop(f.bundled_flop):>9}  "
            f"{_flop(f.epoch_flop):>9}  {ratio:>7}  {note}".rstrip()
        )
    return lines


def csv_rows(d: Diff, /) -> list[dict[str, str]]:
    """The findings as rows of :data:`CSV_COLUMNS` (numbers in full, empty where none)."""

    def num(x: float) -> str:
        return repr(x) if math.isfinite(x) else ""

    return [
        {
            "kind": f.kind,
            "date": f.date.isoformat() if f.date else "",
            "system": f.system,
            "epoch_name": f.epoch_name,
            "organization": f.organization,
            "bundled_flop": num(f.bundled_flop),
            "epoch_flop": num(f.epoch_flop),
            "ratio": num(f.ratio),
            "bundled_domain": f.bundled_domain,
            "epoch_domain": f.epoch_domain,
            "epoch_line": str(f.epoch_line) if f.epoch_line else "",
            "note": f.note,
        }
        for f in d.findings
    ]
