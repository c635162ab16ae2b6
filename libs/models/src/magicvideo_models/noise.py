"""Seeded Gaussian noise: the one algorithm both halves share (docs/noise.md).

Philox4x32-10 (Salmon et al., SC'11) in counter mode, Box-Muller in float64, rounded to
float32. Same ``(seed, stream, offset, count)`` gives the same values here and in
``libs/diffusion/src/noise/seeded-noise.ts``; both are tested against the committed vectors
``libs/diffusion/test/fixtures/noise-vectors.json`` written by
``python -m magicvideo_models.noise --write-vectors PATH``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path

import numpy as np
import torch

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10

SEED_LIMIT = 2**53  # seeds are exact integers in a JavaScript number too
STREAM_LIMIT = 2**32
PURPOSE_LIMIT = 2**16
INDEX_LIMIT = 2**16
OFFSET_LIMIT = 2**53

_UINT32_MASK = np.uint64(0xFFFFFFFF)
_SHIFT_32 = np.uint64(32)
_TWO_PI = 2.0 * math.pi  # exact doubling of the float64 pi, as in TypeScript
_BLOCKS_PER_CHUNK = 1 << 20  # bounds the working memory of a large draw (about 100 MB)


class NoisePurpose(IntEnum):
    """What a stream's noise is for (docs/noise.md, "Streams")."""

    KEYFRAME_INITIAL_LATENTS = 1
    KEYFRAME_STEP_NOISE = 2
    INTERP_INITIAL_LATENTS = 3
    INTERP_STEP_NOISE = 4
    SR_INITIAL_NOISE = 5
    SR_STEP_NOISE = 6
    SR_NOISE_AUGMENTATION = 7
    VAE_POSTERIOR_SAMPLE = 8
    SDEDIT_NOISE = 9


def stream_id(purpose: int, index: int = 0) -> int:
    """``stream = purpose * 65536 + index``, so the draws of one video never overlap."""
    _check_int("purpose", purpose, 0, PURPOSE_LIMIT)
    _check_int("index", index, 0, INDEX_LIMIT)
    return int(purpose) * INDEX_LIMIT + int(index)


def philox4x32_10(counter: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox4x32-10 of ``counter`` (uint32 ``[..., 4]``) under ``key`` (two uint32) -> uint32 ``[..., 4]``.

    The 32x32 -> 64-bit products are exact in uint64.
    """
    counter = np.asarray(counter, dtype=np.uint32)
    if counter.shape[-1:] != (4,):
        raise ValueError(f"counter must have a last axis of 4 words, got shape {counter.shape}")
    c0, c1, c2, c3 = (counter[..., i].astype(np.uint64) for i in range(4))
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    for round_index in range(PHILOX_ROUNDS):
        if round_index > 0:
            k0 = (k0 + PHILOX_W0) & 0xFFFFFFFF
            k1 = (k1 + PHILOX_W1) & 0xFFFFFFFF
        product0 = c0 * m0
        product1 = c2 * m1
        next_c0 = product1 >> _SHIFT_32
        next_c0 ^= c1
        next_c0 ^= np.uint64(k0)
        next_c2 = product0 >> _SHIFT_32
        next_c2 ^= c3
        next_c2 ^= np.uint64(k1)
        product1 &= _UINT32_MASK
        product0 &= _UINT32_MASK
        c0, c1, c2, c3 = next_c0, product1, next_c2, product0
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def _box_muller(words: np.ndarray) -> np.ndarray:
    """uint32 ``[N, 4]`` Philox words -> float32 normals ``[N, 4]``: ``[r01 cos, r01 sin, r23 cos, r23 sin]``.

    Box-Muller in float64, rounded to float32 at the end (docs/noise.md, step 4).
    """
    uniforms = (words.astype(np.float64) + 0.5) / 2.0**32  # open interval (0, 1)
    normals = np.empty(words.shape, dtype=np.float64)
    for first in (0, 2):
        radius = np.sqrt(-2.0 * np.log(uniforms[:, first]))
        angle = _TWO_PI * uniforms[:, first + 1]
        normals[:, first] = radius * np.cos(angle)
        normals[:, first + 1] = radius * np.sin(angle)
    return normals.astype(np.float32)


def _normals_of_blocks(seed: int, stream: int, first_block: int, block_count: int) -> np.ndarray:
    """The normals of blocks ``first_block ..`` (``block_count`` of them): float32 ``[4 * block_count]``."""
    key = (seed & 0xFFFFFFFF, seed >> 32)
    blocks = np.arange(block_count, dtype=np.uint64) + np.uint64(first_block)
    counter = np.empty((block_count, 4), dtype=np.uint32)
    counter[:, 0] = blocks & _UINT32_MASK
    counter[:, 1] = blocks >> _SHIFT_32
    counter[:, 2] = stream
    counter[:, 3] = 0
    return _box_muller(philox4x32_10(counter, key)).reshape(-1)


def seeded_gaussian(seed: int, stream: int, shape: int | Sequence[int], offset: int = 0) -> np.ndarray:
    """Normals ``offset .. offset + prod(shape) - 1`` of ``(seed, stream)`` as float32, in C order.

    Any slice of a longer draw can be drawn on its own: ``seeded_gaussian(s, t, n, offset=k)``
    equals ``seeded_gaussian(s, t, k + n)[k:]``.
    """
    _check_int("seed", seed, 0, SEED_LIMIT)
    _check_int("stream", stream, 0, STREAM_LIMIT)
    _check_int("offset", offset, 0, OFFSET_LIMIT)
    dims = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    for dim in dims:
        _check_int("shape dimension", dim, 0, OFFSET_LIMIT)
    count = math.prod(int(d) for d in dims)
    if offset + count > OFFSET_LIMIT:
        raise ValueError(f"offset + count must be below 2^53, got {offset} + {count}")
    values = np.empty(count, dtype=np.float32)
    position = 0
    while position < count:
        start = offset + position
        first_block = start // 4
        last_block = min((offset + count - 1) // 4, first_block + _BLOCKS_PER_CHUNK - 1)
        chunk = _normals_of_blocks(int(seed), int(stream), first_block, last_block - first_block + 1)
        taken = chunk[start - first_block * 4 : start - first_block * 4 + count - position]
        values[position : position + taken.size] = taken
        position += taken.size
    return values.reshape(tuple(int(d) for d in dims))


def seeded_gaussian_tensor(
    seed: int,
    stream: int,
    shape: int | Sequence[int],
    offset: int = 0,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``seeded_gaussian`` as a torch tensor (drawn in float32, then cast to ``dtype`` on ``device``)."""
    values = torch.from_numpy(seeded_gaussian(seed, stream, shape, offset))
    return values.to(device=device, dtype=dtype)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= int(value) < high:
        raise ValueError(f"{name} must be in [{low}, {high}), got {value}")


# Cases of the committed cross-language vectors: seeds 0, small, >= 2^32 and 2^53 - 1; streams
# of several purposes; offsets that start mid-block; 37 values so block boundaries are crossed.
VECTOR_CASES: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 37),
    (0, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS), 0, 37),
    (42, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS), 0, 37),
    (42, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 17), 3, 37),
    (123456789, stream_id(NoisePurpose.SR_NOISE_AUGMENTATION), 1001, 37),
    (2**32 + 7, stream_id(NoisePurpose.INTERP_STEP_NOISE, 49), 2, 37),
    (2**53 - 1, STREAM_LIMIT - 1, 2**40 + 1, 37),
)


def noise_vectors() -> dict:
    """The cross-language test vectors: each case's float32 values, written exactly as float64 numbers."""
    cases = [
        {
            "seed": seed,
            "stream": stream,
            "offset": offset,
            "count": count,
            "values": [float(v) for v in seeded_gaussian(seed, stream, count, offset)],
        }
        for seed, stream, offset, count in VECTOR_CASES
    ]
    return {
        "$comment": "Written by `python -m magicvideo_models.noise --write-vectors PATH` (docs/noise.md).",
        "algorithm": "philox4x32-10 + box-muller float64 -> float32",
        "cases": cases,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Seeded Gaussian noise (docs/noise.md).")
    parser.add_argument("--write-vectors", type=Path, required=True, metavar="PATH")
    args = parser.parse_args(argv)
    args.write_vectors.parent.mkdir(parents=True, exist_ok=True)
    args.write_vectors.write_text(json.dumps(noise_vectors(), indent=1) + "\n")


if __name__ == "__main__":
    main()
