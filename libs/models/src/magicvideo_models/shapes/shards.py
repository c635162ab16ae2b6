"""Data-set shards of MagicVideo Shapes clips on disk: one .npz file of stacked arrays per shard.

Arrays (N clips), all plain dtypes so loading needs no pickle:
    frames [N, 61, H, W, 3] uint8     key frames are frames[:, ::4]
    high_res_keyframes [N, 16, H', W', 3] uint8   only when rendered for SR training
    caption, colour, shape, motion, split [N] unicode
    fps_condition [N] float32         ν = 16/Ls · native FPS (paper §3.1.3)
    window_length [N] int32           Ls, native frames
    native_speed, half_size [N] float32  frame widths (per native frame)
    seed, index [N] int64             the clip is sample_clip(seed, index, split)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, ShapesClip
from magicvideo_models.shapes.grammar import ShapeAttributes


@dataclass(frozen=True)
class ShapesShard:
    """A shard loaded from disk: the stacked arrays of its clips."""

    frames: np.ndarray  # [N, 61, H, W, 3] uint8
    high_res_keyframes: np.ndarray | None  # [N, 16, H', W', 3] uint8
    captions: list[str]
    attributes: list[ShapeAttributes]
    fps_condition: np.ndarray  # [N] float32
    window_length: np.ndarray  # [N] int32
    native_speed: np.ndarray  # [N] float32
    half_size: np.ndarray  # [N] float32
    seed: np.ndarray  # [N] int64
    index: np.ndarray  # [N] int64
    split: list[str]

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def keyframes(self) -> np.ndarray:
        """[N, 16, H, W, 3] uint8."""
        return self.frames[:, ::INTERPOLATION_FACTOR]


def write_shard(path: Path, clips: Sequence[ShapesClip]) -> None:
    """Write clips as one compressed .npz, atomically (a partial file never carries the final name)."""
    if not clips:
        raise ValueError("a shard needs at least one clip")
    arrays: dict[str, np.ndarray] = {
        "frames": np.stack([clip.frames for clip in clips]),
        "caption": np.array([clip.caption for clip in clips], dtype=np.str_),
        "colour": np.array([clip.attributes.colour for clip in clips], dtype=np.str_),
        "shape": np.array([clip.attributes.shape for clip in clips], dtype=np.str_),
        "motion": np.array([clip.attributes.motion for clip in clips], dtype=np.str_),
        "split": np.array([clip.split for clip in clips], dtype=np.str_),
        "fps_condition": np.array([clip.fps_condition for clip in clips], dtype=np.float32),
        "window_length": np.array([clip.window_length for clip in clips], dtype=np.int32),
        "native_speed": np.array([clip.native_speed for clip in clips], dtype=np.float32),
        "half_size": np.array([clip.scene.half_size for clip in clips], dtype=np.float32),
        "seed": np.array([clip.seed for clip in clips], dtype=np.int64),
        "index": np.array([clip.index for clip in clips], dtype=np.int64),
    }
    high_res = [clip.high_res_keyframes for clip in clips]
    if any(frames is not None for frames in high_res):
        if any(frames is None for frames in high_res):
            raise ValueError("either every clip of a shard carries high-resolution key frames or none does")
        arrays["high_res_keyframes"] = np.stack(high_res)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    os.replace(partial, path)


def read_shard(path: Path) -> ShapesShard:
    """Load a shard written by write_shard."""
    with np.load(path, allow_pickle=False) as data:
        colours, shapes, motions = data["colour"], data["shape"], data["motion"]
        return ShapesShard(
            frames=data["frames"],
            high_res_keyframes=data.get("high_res_keyframes"),
            captions=[str(caption) for caption in data["caption"]],
            attributes=[
                ShapeAttributes(str(c), str(s), str(m))
                for c, s, m in zip(colours, shapes, motions, strict=True)
            ],
            fps_condition=data["fps_condition"],
            window_length=data["window_length"],
            native_speed=data["native_speed"],
            half_size=data["half_size"],
            seed=data["seed"],
            index=data["index"],
            split=[str(split) for split in data["split"]],
        )
