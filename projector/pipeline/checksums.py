"""Checksums of result stores: what a run wrote, recorded last, checked by every reader.

Dependency direction: imports ``errors`` (and ``zarr``) only; ``store`` writes and opens
every result store through it.

A finished store holds a record of every file the run wrote, with its size and its
BLAKE2b digest (128 bits), as the attributes of a small Zarr group ``checksums/``
(a group, so Zarr and xarray see a valid node rather than a stray file). It is written
after everything else, the consolidated ``zarr.json`` included, so its presence says the
store was finished, and it covers every other file.

- Writing: :class:`RecordingStore` hashes each file's bytes as Zarr writes them (no
  second read); :func:`write_record` compares the record with the files on disk (sizes)
  and hashes from disk only a file it did not see written.
- Opening (:func:`check_store`): every recorded file must exist with its recorded size,
  no other file may be there (a leftover ``.partial`` or ``.part``, a stray copy), and
  the metadata (every ``zarr.json``: names, shapes, dtypes, codecs) must match its
  digest. That is a directory walk and a few kB hashed: about a millisecond per file.
- Reading: :class:`CheckedStore` hashes each chunk file the first time it is read and
  refuses one whose digest differs (an overwritten chunk of the same size).

Damage is an :class:`~projector.errors.InputError` (exit status 2) naming the store and
the file. A store written before checksums existed (no record and no ``checksums``
attribute) opens with a :class:`UncheckedStoreWarning`.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zarr.storage import LocalStore

from projector.errors import InputError, ResourceError

__all__ = [
    "ALGORITHM",
    "RECORD_GROUP",
    "CheckedStore",
    "RecordingStore",
    "UncheckedStoreWarning",
    "check_store",
    "record_token",
    "write_record",
]

#: The group that holds the record, and the root attribute that says a store has one.
RECORD_GROUP = "checksums"
RECORD_KEY = f"{RECORD_GROUP}/zarr.json"
ATTRIBUTE = "checksums"
ALGORITHM = "blake2b-128"
#: Files checked as they are read rather than on open: the kept full paths.
LAZY = "log10_compute/c/"
_BLOCK = 1 << 20


class UncheckedStoreWarning(UserWarning):
    """A result store written before projector recorded checksums: damage is not detected."""


def _digest(data: Any) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _digest_file(path: Path) -> tuple[int, str]:
    h = hashlib.blake2b(digest_size=16)
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def _files(root: Path) -> list[str]:
    """Every file under ``root``, as store keys (``/``-separated, relative)."""
    keys = []
    for folder, _, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in names:
            keys.append(name if rel == "." else f"{Path(rel).as_posix()}/{name}")
    return sorted(keys)


class RecordingStore(LocalStore):
    """A local Zarr store that records the size and digest of every file it writes."""

    def __init__(self, root: Path | str, *, read_only: bool = False) -> None:
        super().__init__(root, read_only=read_only)
        self.written: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    async def set(self, key: str, value: Any) -> None:
        await super().set(key, value)
        view = memoryview(value.as_buffer_like()).cast("B")
        entry = (view.nbytes, _digest(view))
        with self._lock:
            self.written[key] = entry

    async def delete(self, key: str) -> None:
        await super().delete(key)
        with self._lock:
            self.written.pop(key, None)


def write_record(store: RecordingStore) -> None:
    """Write the record of every file in ``store`` (call when nothing else will be written).

    A file whose size on disk differs from what was recorded as written, or that was
    not seen written, is hashed from disk, so the record always describes the files.
    """
    root = Path(store.root)
    files: dict[str, list[Any]] = {}
    for key in _files(root):
        if key == RECORD_KEY:
            continue
        size = os.path.getsize(root / key)
        seen = store.written.get(key)
        files[key] = list(seen if seen and seen[0] == size else _digest_file(root / key))
    meta = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {"algorithm": ALGORITHM, "files": files},
    }
    (root / RECORD_GROUP).mkdir(exist_ok=True)
    tmp = root / f"{RECORD_KEY}.tmp"
    tmp.write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    os.replace(tmp, root / RECORD_KEY)


def _damaged(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}: damaged result store: {what}; refusing to read it. Run the command "
        "that wrote it again (project or sweep, with --force) to rebuild it"
    )


def _array_of(key: str) -> str:
    """``'crossing_year/c/0/0'`` -> ``"array 'crossing_year', chunk c/0/0"``."""
    head, sep, _ = key.partition("/c/")
    if sep:
        return f"array '{head}', chunk file {key}"
    if key.endswith("zarr.json"):
        node = key[: -len("zarr.json")].rstrip("/")
        return f"the metadata {key} ({f'array {node!r}' if node else 'the root group'})"
    return f"file {key}"


def read_record(path: Path) -> dict[str, tuple[int, str]] | None:
    """The record of the store at ``path``: file key -> (size, digest); None if it has none."""
    record = path / RECORD_KEY
    if not record.exists():
        return None
    try:
        meta = json.loads(record.read_text(encoding="utf-8"))
        attrs = meta["attributes"]
        if attrs["algorithm"] != ALGORITHM:
            raise ValueError(f"algorithm {attrs['algorithm']!r}")
        return {str(k): (int(v[0]), str(v[1])) for k, v in attrs["files"].items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError) as exc:
        text = " ".join(str(exc).split())[:120]
        raise _damaged(path, f"its checksum record {RECORD_KEY} is unreadable ({text})") from None


def check_store(path: Path, *, expect_record: bool) -> CheckedStore | None:
    """Check the store at ``path`` against its record; None when it has no record.

    ``expect_record``: the store's root attributes say it was written with one.
    Checks the presence and size of every file and the digest of every file but the
    kept full paths (:data:`LAZY`, possibly gigabytes), whose digests are checked as
    they are read through the :class:`CheckedStore` returned.
    """
    record = read_record(path)
    if record is None:
        if expect_record:
            raise _damaged(path, f"its checksum record {RECORD_KEY} is missing")
        return None
    present = set(_files(path)) - {RECORD_KEY}
    for key in sorted(set(record) - present):
        raise _damaged(path, f"{_array_of(key)} is missing")
    for key in sorted(present - set(record)):
        raise _damaged(path, f"{_array_of(key)} was not written by the run (a leftover?)")
    for key, (size, _) in sorted(record.items()):
        have = os.path.getsize(path / key)
        if have != size:
            raise _damaged(path, f"{_array_of(key)} is {have} bytes, the run wrote {size}")
    checked = set()
    for key, entry in sorted(record.items()):
        if key.startswith(LAZY):
            continue
        if _digest_file(path / key) != entry:
            raise _damaged(path, f"{_array_of(key)} differs from what the run wrote")
        checked.add(key)
    return CheckedStore(path, record=record, checked=checked)


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def record_token(path: Path) -> str:
    """What identifies the result at ``path`` (a store or a file) as written: the digest
    of its record, or of the store's identity on disk when it has none. A result
    replaced by another run (a new folder swapped in) gets another token."""
    p = Path(path)
    st = os.stat(p)
    parts = [str(st.st_dev), str(st.st_ino), str(st.st_mtime_ns), str(st.st_size)]
    record = p / RECORD_KEY
    if p.is_dir() and record.exists():
        parts.append(_digest_file(record)[1])
    elif p.is_dir() and (p / "zarr.json").exists():
        parts.append(str(os.stat(p / "zarr.json").st_mtime_ns))
    return _digest("|".join(parts).encode())


class CheckedStore(LocalStore):
    """A read-only local Zarr store that checks each recorded file's digest on first read.

    Zarr reads a whole chunk file, or byte ranges of a shard: the first read of a file
    hashes all of it (once; later reads of it are plain reads).
    """

    def __init__(
        self,
        root: Path | str,
        *,
        read_only: bool = True,
        record: dict[str, tuple[int, str]] | None = None,
        checked: Iterable[str] = (),
    ) -> None:
        super().__init__(root, read_only=True)
        self.record = dict(record or {})
        self._checked: set[str] = set(checked)
        self._lock = threading.Lock()
        self._identity = _identity(Path(root))

    def with_read_only(self, read_only: bool = False) -> CheckedStore:
        return self  # read-only already; the same checks and identity

    def _same_store(self) -> None:
        """Refuse to read on when another run swapped a new store in at the same path:
        what was read and what would be read would be of two runs."""
        try:
            same = _identity(Path(self.root)) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            raise ResourceError(
                errno.EBUSY,
                f"{self.root}: replaced by another run while it was being read; "
                "run the command again when that run has finished",
            )

    def _refuse(self, key: str) -> InputError:
        return _damaged(Path(self.root), f"{_array_of(key)} differs from what the run wrote")

    def _check(self, key: str, data: Any = None) -> None:
        entry = self.record.get(key)
        if entry is None or key in self._checked:
            return
        if data is None:
            try:
                size, digest = _digest_file(Path(self.root) / key)
            except FileNotFoundError:
                raise _damaged(Path(self.root), f"{_array_of(key)} is missing") from None
        else:
            view = memoryview(data.as_buffer_like()).cast("B")
            size, digest = view.nbytes, _digest(view)
        if (size, digest) != entry:
            raise self._refuse(key)
        with self._lock:
            self._checked.add(key)

    async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
        self._same_store()
        value = await super().get(key, prototype, byte_range)
        if key in self.record:
            if value is None:
                raise _damaged(Path(self.root), f"{_array_of(key)} is missing")
            if byte_range is None:
                self._check(key, value)
            else:
                await asyncio.to_thread(self._check, key)
        return value

    async def get_partial_values(
        self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]
    ) -> list[Any]:
        self._same_store()
        key_ranges = list(key_ranges)
        for key in dict.fromkeys(k for k, _ in key_ranges):
            await asyncio.to_thread(self._check, key)
        return await super().get_partial_values(prototype, key_ranges)
