"""Random draws of a range of paths: one seeded stream per block of paths.

Dependency direction: ``numpy`` -> ``draws`` -> ``engine``. Random numbers come from one
``numpy.random.Generator`` per block of :data:`RNG_BLOCK` paths, seeded by
``SeedSequence(seed, spawn_key=(block,))`` (what ``SeedSequence(seed).spawn`` would
give), and each block always draws its full quota in a fixed order. Path j therefore
depends only on the seed and j: not on the chunk size, the thread count or the total
number of paths.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools

import numpy as np
import numpy.typing as npt

__all__ = [
    "CEILING_STREAM",
    "RECORD_STREAM",
    "RNG_BLOCK",
    "Draws",
    "block_generator",
    "ceiling_normals",
    "draws",
    "record_uniforms",
]

RNG_BLOCK = 1000  # paths per random stream; fixed, so results never depend on chunking
#: Second spawn-key entry of the ceilings' streams: ``SeedSequence(seed, (block, 1))`` is
#: independent of the path streams ``(block,)``, which therefore keep their bits.
CEILING_STREAM = 1


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The random stream of path block ``block`` (paths ``block*RNG_BLOCK`` onwards)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))


@dataclasses.dataclass(frozen=True)
class Draws:
    """The draws of paths ``[first, stop)``, path first."""

    idx_dl: npt.NDArray[np.int64]
    idx_pre: npt.NDArray[np.int64]
    u_pick: npt.NDArray[np.float64]
    z: npt.NDArray[np.float64]
    u: npt.NDArray[np.float64]
    z_start: npt.NDArray[np.float64]
    u_origin: npt.NDArray[np.float64]
    noise_dl: npt.NDArray[np.float64]  # (n, n_dl) uniforms, or (0, n_dl) when off
    noise_pre: npt.NDArray[np.float64]


def _draw_block(seed: int, block: int, n_dl: int, n_pre: int, noise: bool) -> Draws:
    rng = block_generator(seed, block)
    # Fixed order and full block size: a path's draws never depend on how many are used.
    # Draws added later come after the earlier ones, so older scenarios keep their bits.
    idx_dl = rng.integers(0, n_dl, size=(RNG_BLOCK, n_dl))
    idx_pre = rng.integers(0, n_pre, size=(RNG_BLOCK, n_pre))
    u_pick = rng.random(RNG_BLOCK)
    z = rng.standard_normal(RNG_BLOCK)
    u = rng.random(RNG_BLOCK)
    z_start = rng.standard_normal(RNG_BLOCK)
    u_origin = rng.random(RNG_BLOCK)
    if noise:
        noise_dl, noise_pre = rng.random((RNG_BLOCK, n_dl)), rng.random((RNG_BLOCK, n_pre))
    else:
        noise_dl, noise_pre = np.empty((0, n_dl)), np.empty((0, n_pre))
    return Draws(idx_dl, idx_pre, u_pick, z, u, z_start, u_origin, noise_dl, noise_pre)


@functools.cache
def _draw_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for the random draws, shared by every chunk of the process."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="draws")


def draws(seed: int, first: int, stop: int, n_dl: int, n_pre: int, noise: bool) -> Draws:
    blocks = range(first // RNG_BLOCK, (stop - 1) // RNG_BLOCK + 1)
    # Each block has its own generator and NumPy draws without the GIL: two threads
    # draw twice as fast, and the bits cannot depend on which thread drew a block.
    if len(blocks) >= 4:
        parts = list(_draw_pool().map(lambda b: _draw_block(seed, b, n_dl, n_pre, noise), blocks))
    else:
        parts = [_draw_block(seed, b, n_dl, n_pre, noise) for b in blocks]
    lo = first - blocks[0] * RNG_BLOCK
    sl = slice(lo, lo + stop - first)

    def cat(name: str) -> np.ndarray:
        arr = np.concatenate([getattr(p, name) for p in parts])
        return arr[sl] if arr.shape[0] else arr

    return Draws(*(cat(f.name) for f in dataclasses.fields(Draws)))


def ceiling_normals(seed: int, first: int, stop: int, k: int) -> npt.NDArray[np.float64]:
    """(stop - first, k) standard normals for the ceilings of paths ``[first, stop)``.

    One stream per block of paths, ``SeedSequence(seed, spawn_key=(block,
    CEILING_STREAM))``, each drawing its full ``(RNG_BLOCK, k)`` quota: path j's draws
    depend only on the seed, j and k, and turning ceilings on leaves every other draw as
    it was.
    """
    blocks = range(first // RNG_BLOCK, (stop - 1) // RNG_BLOCK + 1)
    parts = []
    for b in blocks:
        seq = np.random.SeedSequence(seed, spawn_key=(b, CEILING_STREAM))
        parts.append(np.random.Generator(np.random.PCG64(seq)).standard_normal((RNG_BLOCK, k)))
    lo = first - blocks[0] * RNG_BLOCK
    return np.concatenate(parts)[lo : lo + stop - first]


#: Second spawn-key entry of the record process's streams (``record_uniforms``).
RECORD_STREAM = 2


def _record_block(
    seed: int, block: int, n_steps: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, RECORD_STREAM)))
    )
    z = rng.standard_normal((2, RNG_BLOCK))
    # Step-major: step i's uniforms are the same whatever the number of steps, so a
    # longer horizon leaves the earlier steps of every path unchanged.
    return z, np.ascontiguousarray(rng.random((n_steps, RNG_BLOCK)).T)


def record_uniforms(
    seed: int, first: int, stop: int, n_steps: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The draws of ``growth.frontier_paths = 'record-process'``: two standard normals
    per path (2, stop - first) for its parameters, then one uniform per path and grid
    step (stop - first, n_steps), from the stream ``SeedSequence(seed, spawn_key=(block,
    2))`` of each block, apart from :func:`draws`'s streams so that no other scenario's
    draws move. Path j's draws depend only on the seed and j."""
    blocks = range(first // RNG_BLOCK, (stop - 1) // RNG_BLOCK + 1)
    if len(blocks) >= 4:
        parts = list(_draw_pool().map(lambda b: _record_block(seed, b, n_steps), blocks))
    else:
        parts = [_record_block(seed, b, n_steps) for b in blocks]
    lo = first - blocks[0] * RNG_BLOCK
    z = np.concatenate([q[0] for q in parts], axis=1)[:, lo : lo + stop - first]
    u = np.concatenate([q[1] for q in parts])[lo : lo + stop - first]
    return z, u
