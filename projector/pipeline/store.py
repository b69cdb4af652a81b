"""Result stores: streamed Zarr (v3) stores, reading, NetCDF export, and their size.

Dependency direction: ``cube`` -> ``store`` -> ``folders``, ``run``, ``sweep``. The one
module that reads and writes result files (the result folder's atomic swap is
``transaction``'s).

A result folder holds ``projection.zarr`` (this module), ``summary.csv`` and
``summary.md`` (``report``) and optionally ``fan_chart.png``. The store is created
empty with every variable's shape, then each chunk of paths is written as soon as it
is computed, so memory is bounded by the chunk size, not by the number of paths.

Layout: one Zarr chunk per chunk of paths (the chunk size is a multiple of the RNG
block, independent of the executor, so serial, threaded and distributed runs write
byte-identical stores). ``log10_compute_yearly`` is sharded: one file per chunk of
paths, inner chunks of 8 years, so a summary reads a block of years at a time. Codec: Blosc
(lz4, level 5, byte shuffle), multi-threaded: it writes a 100,000-path store in about
half the time of zstd level 3 for a store about 15% larger (benchmarks/, 2026-11-26).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from projector.errors import InputError
from projector.model.cube import (
    ANCHOR,
    CEILING_VARIABLES,
    COMPONENT,
    CONSTRAINT,
    PATH,
    PATH_VARIABLES,
    TIME,
    VARIABLES,
    VARIANT,
    YEAR,
    describe,
)
from projector.pipeline import checks, checksums
from projector.pipeline.budget import BASE_MEMORY
from projector.pipeline.fileio import atomic_path

if TYPE_CHECKING:
    from projector.studies.trends import TrendAnalysis

__all__ = [
    "STORE_NAME",
    "Layout",
    "StoreWriter",
    "export_netcdf",
    "find_store",
    "open_result",
    "read_identity",
    "write_trends",
]

STORE_NAME = "projection.zarr"
#: Years per inner chunk of ``log10_compute_yearly`` (the unit a summary reads).
YEARS_PER_READ = 8
LEGACY_NAME = "projection.nc"
#: A run whose yearly grid and crossing years take at most this much memory keeps them
#: while its chunks stream, so that its summary does not read the store back.
HOLD_BYTES = 200e6
#: Provenance keys that identify the inputs of a result (a re-run must match all of them).
IDENTITY = ("scenario_sha256", "dataset_sha256", "seed", "paths")


@dataclasses.dataclass(frozen=True)
class Layout:
    """Shapes of a result store. ``variants`` is 0 for a single projection."""

    paths: int
    chunk: int  # paths per store chunk = per computed chunk
    times: npt.NDArray[np.float64]  # (time,); empty when no full paths are kept
    years: npt.NDArray[np.float64]  # (year,)
    keep: int  # full paths kept: rows [0, keep) of log10_compute
    anchors: tuple[str, ...]
    components: tuple[str, ...]
    variants: int = 0
    constraints: tuple[str, ...] = ()  # the ceilings stored (none when ceilings are off)

    @property
    def variables(self) -> dict[str, str]:
        """The per-path variables of the store and their dtypes."""
        return {**PATH_VARIABLES, **(CEILING_VARIABLES if self.constraints else {})}

    def shape(self, name: str) -> tuple[int, ...]:
        dims = VARIABLES[name][0]
        size = {
            PATH: self.paths,
            TIME: len(self.times),
            YEAR: len(self.years),
            ANCHOR: len(self.anchors),
            COMPONENT: len(self.components),
            CONSTRAINT: len(self.constraints),
        }
        lead = (self.variants,) if self.variants and dims[0] == PATH else ()
        return lead + tuple(size[d] for d in dims)

    def bytes_on_disk(self) -> float:
        """Upper bound of the store's size (uncompressed) [bytes]."""
        per_path = 4 * len(self.years) + 8 * len(self.anchors) + 7 * 8 + 2
        k = len(self.constraints)
        per_path += k * (4 * len(self.years) + 8) + len(self.years)
        total = self.paths * per_path + self.keep * 4 * len(self.times)
        return float(total * max(self.variants, 1))

    def bytes_in_memory(self, in_flight: int, n_systems: int) -> float:
        """Peak resident memory of a run writing this store [bytes].

        Per chunk in flight (computed path by path, no (path, time) array): the bootstrap
        indices (twice while concatenated), the yearly grid and crossings, the kept full
        rows (float32). Then the summary: a block of years of every path and two years'
        working copies, and the arrays a small run holds (:data:`HOLD_BYTES`).
        """
        per_path = 16 * n_systems + 12 * len(self.years) + 8 * len(self.anchors) + 200
        # ceilings: the knots (float64) and the yearly ceilings (float64, then float32)
        per_path += len(self.constraints) * (8 * (len(self.years) + 2) + 12 * len(self.years))
        kept = min(self.keep, self.chunk) * 4 * len(self.times)
        chunk = (self.chunk * per_path + kept) * in_flight
        summary = min(4 * len(self.years) * self.paths, 400e6) + 24 * self.paths
        return BASE_MEMORY + chunk + summary + self.bytes_held()

    def bytes_held(self) -> float:
        """The yearly grid and crossing years a run keeps in memory while it streams, so
        that its summary need not read the store back: 0 for a sweep or a run whose
        arrays would take more than :data:`HOLD_BYTES` [bytes]."""
        size = self.paths * (4 * len(self.years) + 8 * len(self.anchors))
        return 0.0 if self.variants or size > HOLD_BYTES else float(size)


def _codec() -> Any:
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


#: Largest chunk of kept full paths [bytes]: Blosc refuses buffers over 2 GiB, and a daily
#: grid to 2100 is 27,000 steps, so 25,000 rows of it would be 5.4 GB (issue 23).
FULL_PATH_CHUNK_BYTES = 64 * 2**20


def _full_path_rows(chunk: int, keep: int, rest: tuple[int, ...], itemsize: int) -> int:
    """Rows per Zarr chunk of the kept full paths (``log10_compute``).

    No more rows than are kept (the rest are fill), at most
    :data:`FULL_PATH_CHUNK_BYTES` per chunk, and a divisor of the path chunk, so a
    chunk of paths written at once never shares a Zarr chunk with another.
    """
    row_bytes = itemsize * max(1, math.prod(rest))
    limit = max(1, min(chunk, keep, FULL_PATH_CHUNK_BYTES // row_bytes))
    parts = -(-chunk // limit)
    while chunk % parts:
        parts += 1
    return chunk // parts


class StoreWriter:
    """A Zarr store created with every variable's full shape; chunks written as they come."""

    def __init__(
        self,
        path: Path,
        layout: Layout,
        attrs: dict[str, Any],
        static: dict[str, np.ndarray],
        variant_data: dict[str, np.ndarray] | None = None,
        systems: np.ndarray | None = None,
    ) -> None:
        import zarr

        self.path = Path(path)
        self.layout = layout
        self._threads: cf.ThreadPoolExecutor | None = None
        # every file's size and digest recorded as it is written (``checksums``)
        self.store = checksums.RecordingStore(self.path)
        self.group = zarr.open_group(self.store, mode="w-", zarr_format=3)
        lay = layout
        coords: dict[str, np.ndarray] = {
            PATH: np.arange(lay.paths, dtype=np.int64),
            YEAR: np.asarray(lay.years, dtype=np.float64),
            ANCHOR: np.array(lay.anchors, dtype=str),
            COMPONENT: np.array(lay.components, dtype=str),
        }
        if len(lay.times):
            coords[TIME] = np.asarray(lay.times, dtype=np.float64)
        if lay.constraints:
            coords[CONSTRAINT] = np.array(lay.constraints, dtype=str)
        if lay.variants:
            coords[VARIANT] = np.arange(lay.variants, dtype=np.int64)
        if systems is not None:
            coords["system"] = np.asarray(systems).astype(str)
        for name, values in coords.items():
            self._array(name, values, (name,), describe(name))
        for name, values in static.items():
            self._array(name, values, VARIABLES[name][0], describe(name))
        for name, values in (variant_data or {}).items():
            self._array(name, values, (VARIANT,), {})
        self.arrays: dict[str, Any] = {}
        for name, dtype in lay.variables.items():
            if name == "log10_compute" and (lay.keep == 0 or not len(lay.times)):
                continue
            shape = lay.shape(name)
            dims = ((VARIANT,) if lay.variants else ()) + VARIABLES[name][0]
            lead = (1,) if lay.variants else ()
            rest = shape[len(lead) + 1 :]
            kwargs: dict[str, Any] = {}
            if name == "log10_compute_yearly":
                # one file per chunk of paths; inner chunks of YEARS_PER_READ years, so a
                # summary reads a block of years of every path without the others
                inner = min(YEARS_PER_READ, rest[0])
                kwargs["shards"] = (*lead, lay.chunk, -(-rest[0] // inner) * inner)
                kwargs["chunks"] = (*lead, lay.chunk, inner)
            elif name == "log10_compute":
                kwargs["chunks"] = (
                    *lead,
                    _full_path_rows(lay.chunk, lay.keep, rest, np.dtype(dtype).itemsize),
                    *rest,
                )
            else:
                kwargs["chunks"] = (*lead, lay.chunk, *rest)
            fill = np.nan if dtype.startswith("float") else 0
            arr = self.group.create_array(
                name,
                shape=shape,
                dtype=dtype,
                fill_value=fill,
                compressors=[_codec()],
                dimension_names=list(dims),
                attributes=dict(describe(name)),
                **kwargs,
            )
            self.arrays[name] = arr
        self.group.attrs.update({k: _jsonable(v) for k, v in attrs.items()})
        self.group.attrs.update({"complete": False, checksums.ATTRIBUTE: checksums.ALGORITHM})

    def _array(
        self, name: str, values: np.ndarray, dims: tuple[str, ...], attrs: dict[str, Any]
    ) -> None:
        values = np.asarray(values)
        dtype: Any = str if values.dtype.kind in "US" else values.dtype
        arr = self.group.create_array(
            name,
            shape=values.shape,
            dtype=dtype,
            dimension_names=list(dims),
            attributes=attrs,
            compressors=None if dtype is str else [_codec()],
        )
        if values.size:
            arr[...] = values

    def write(
        self, first: int, stop: int, arrays: dict[str, np.ndarray], variant: int = -1
    ) -> None:
        """Write the arrays of paths ``[first, stop)`` (of ``variant`` in a sweep).

        The arrays go to their files at once (one thread each): a write spends most of
        its time waiting for Zarr's I/O loop and the codec, which release the GIL.
        """

        def put(item: tuple[str, np.ndarray]) -> None:
            name, values = item
            rows = slice(first, first + values.shape[0])
            if self.layout.variants:
                self.arrays[name][variant, rows] = values
            else:
                self.arrays[name][rows] = values

        # a sweep stores ceilings only when every variant has them
        for _ in self._pool().map(put, [(k, v) for k, v in arrays.items() if k in self.arrays]):
            pass

    def _pool(self) -> cf.ThreadPoolExecutor:
        if self._threads is None:
            self._threads = cf.ThreadPoolExecutor(
                max_workers=len(self.layout.variables), thread_name_prefix="store"
            )
        return self._threads

    def finish(self, attrs: dict[str, Any]) -> None:
        """Record the final attributes (e.g. clipped draws), mark the store complete, and
        write the record of its files (last: ``checksums``)."""
        if self._threads is not None:
            self._threads.shutdown()
            self._threads = None
        self.group.attrs.update({k: _jsonable(v) for k, v in attrs.items()})
        self.group.attrs["complete"] = True
        _consolidate(self.store)
        checksums.write_record(self.store)


def _consolidate(path: Any) -> None:
    """Consolidate the finished store's metadata into its ``zarr.json``.

    So ``xr.open_zarr(path)`` by a user opens it in one read without the
    "unconsolidated metadata" warning (issue 24). Zarr warns that consolidated metadata is
    not yet in the v3 specification; projector's own readers do not rely on it
    (``consolidated=False``), so the store stays readable by any v3 implementation.
    """
    import warnings

    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        zarr.consolidate_metadata(path)


# --- reading -------------------------------------------------------------------------


def find_store(path: str | Path) -> Path:
    """The store or cube behind ``path``: a result folder, a ``.zarr`` store or a ``.nc``."""
    p = Path(path)
    if p.is_dir():
        if (p / "zarr.json").is_file():
            return p
        for name in (STORE_NAME, LEGACY_NAME):
            if (p / name).exists():
                return p / name
        raise InputError(f"{p}: not a result folder (no {STORE_NAME} or {LEGACY_NAME} in it)")
    if p.is_file():
        return p
    raise InputError(f"{p}: no such result file or folder")


def open_result(path: str | Path) -> xr.Dataset:
    """Open a result lazily (Zarr store) or load an older NetCDF cube.

    Variables of a Zarr store are read on access, so ``ds.log10_compute_yearly[:, k]``
    reads one year of every path and nothing else. The store is checked against its
    record first (:func:`projector.pipeline.checksums.check_store`: every file present
    with its size, the metadata unchanged) and each chunk's digest as it is read.

    Raises
    ------
    InputError
        Not a result, an incomplete or damaged store (naming the file), an unreadable
        NetCDF file.

    Warns
    -----
    UncheckedStoreWarning
        A store written before projector recorded checksums (it cannot be checked).
    """
    p = find_store(path)
    if p.is_dir():
        ds = _open_store(p, chunks=None)
        checks.check_cube(ds, p)
        return ds
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            loaded = ds.load()
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        # h5py reports a truncated or corrupt file as any of these
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"{p}: not a readable NetCDF file ({text})") from None
    # what ``export`` writes: flags as JSON text, the kept full paths along ``sample``
    loaded.attrs = {k: _from_text(v) for k, v in loaded.attrs.items()}
    if "crossing_year" not in loaded or "scenario_name" not in loaded.attrs:
        raise InputError(
            f"{p}: not a projector result cube (no 'crossing_year' or provenance attributes)"
        )
    checks.check_cube(loaded, p)
    return loaded


def _from_text(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


def _open_store(p: Path, *, chunks: Any) -> xr.Dataset:
    """The store at ``p``, checked (``checksums``), opened lazily through a store that
    checks each chunk as it is read."""
    import json
    import warnings

    try:
        meta = json.loads((p / "zarr.json").read_text(encoding="utf-8"))
        attrs = dict(meta.get("attributes") or {})
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        text = " ".join(str(exc).split())[:120]
        if checksums.read_record(p) is not None:  # a recorded store's root metadata cut
            checksums.check_store(p, expect_record=True)
        raise InputError(f"{p}: not a readable Zarr store (zarr.json: {text})") from None
    if "scenario_name" not in attrs:
        raise InputError(f"{p}: not a projector result store (no provenance attributes)")
    if not attrs.get("complete", False):
        raise InputError(f"{p}: an incomplete store (its run did not finish)")
    store: Any = checksums.check_store(p, expect_record=checksums.ATTRIBUTE in attrs)
    if store is None:
        warnings.warn(
            checksums.UncheckedStoreWarning(
                f"{p}: written before projector recorded checksums, so damage to it cannot "
                "be detected; run project again to get a checked store"
            ),
            stacklevel=3,
        )
        store = str(p)
    try:
        return xr.open_zarr(store, consolidated=False, chunks=chunks, zarr_format=3)
    except InputError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"{p}: not a readable Zarr store ({text})") from None


def read_identity(folder: Path) -> dict[str, Any] | None:
    """The identifying provenance (:data:`IDENTITY`) of the result in ``folder``, if any.

    ``None`` when ``folder`` holds no readable result (missing, empty, or other files).
    """
    try:
        p = find_store(folder)
    except InputError:
        return None
    try:
        if p.is_dir():
            import zarr

            attrs = dict(zarr.open_group(str(p), mode="r").attrs)
        else:
            with xr.open_dataset(p, engine="h5netcdf") as ds:
                attrs = dict(ds.attrs)
    except (OSError, ValueError, KeyError):
        return None
    if "scenario_sha256" not in attrs:
        return None
    return {k: _jsonable(attrs.get(k)) for k in IDENTITY}


def export_netcdf(source: str | Path, target: Path) -> Path:
    """Write a result as one NetCDF file (h5netcdf, zlib), streaming chunk by chunk.

    When only some full paths were kept, ``log10_compute`` is exported for those
    (dimension ``sample``) rather than as a mostly-empty (path, time) array.
    """
    p = find_store(source)
    if p.is_dir():
        ds = _open_store(p, chunks={})
        checks.check_cube(ds, p)
    else:
        open_result(p).close()  # checked like every input; then streamed
        ds = xr.open_dataset(p, engine="h5netcdf", chunks={})
    keep = int(ds.attrs.get("paths_kept", ds.sizes.get(PATH, 0)))
    if "log10_compute" in ds and keep < ds.sizes[PATH]:
        kept = ds["log10_compute"].isel({PATH: slice(0, keep)}).rename({PATH: "sample"})
        ds = ds.drop_vars("log10_compute").assign(log10_compute=kept)
    ds.attrs = {k: (json.dumps(v) if isinstance(v, bool) else v) for k, v in ds.attrs.items()}
    encoding = {
        str(v): {"zlib": True, "complevel": 4, "shuffle": True, "fletcher32": True}
        for v in ds.data_vars
        if ds[v].dtype.kind in "fi"
    }
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give a file name ending in .nc")
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    ds.close()
    return target


# --- trends -------------------------------------------------------------------------


def write_trends(analysis: TrendAnalysis, out_dir: Path, figures: dict[str, Any]) -> list[Path]:
    """Write trends.csv, trends.md, the figures (PNG) and trends.nc, as one transaction.

    The folder is replaced as a whole (:func:`projector.pipeline.transaction.result_transaction`):
    an older result stays intact until the new one is complete. The NetCDF file is
    encoded in memory first, so a full disk fails in plain file I/O, not inside HDF5.
    """
    from projector.model.trends_cube import trends_to_dataset
    from projector.pipeline.fileio import write_bytes
    from projector.pipeline.transaction import result_transaction
    from projector.render.report import trends_csv, trends_markdown

    out_dir = Path(out_dir)
    texts = {"trends.csv": trends_csv(analysis), "trends.md": trends_markdown(analysis)}
    ds = trends_to_dataset(analysis)
    encoding = {
        str(v): {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind == "f"
    }
    cube = ds.to_netcdf(engine="h5netcdf", encoding=encoding)
    with result_transaction(out_dir) as tmp:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, fig in figures.items():
            fig.savefig(tmp / name, dpi=130, format="png")
        write_bytes(tmp / "trends.nc", cube)
    return [out_dir / name for name in (*texts, *figures, "trends.nc")]
