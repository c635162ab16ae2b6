"""Training examples of MagicVideo Shapes, sampled as the paper samples video clips (§3.1.3).

The paper takes a window of Ls successive native frames, 16 frames uniformly from it, and
ν = 16/Ls · FPS as the FPS condition: a longer window at the same native speed shows more
displacement across the 16 frames and has a smaller ν, so ν tells the model how fast the scene
changes between key frames. Here the scene is continuous, so the window is sampled exactly:
61 uniform instants t_j = j · Ls/64 (j = 0..60), whose every 4th (j = 0, 4, ..., 60) is a key
frame. Key frames are then exactly Ls/16 native frames apart (a rate of exactly ν), and the
three instants between two key frames are the true middle frames the interpolation model
learns to fill in (DESIGN.md §5: 16 key frames → 61 frames).

Every clip is a pure function of (seed, split, index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from magicvideo_models.shapes.grammar import PALETTE, ShapeAttributes, caption_for
from magicvideo_models.shapes.heldout import evaluation_combinations, training_combinations
from magicvideo_models.shapes.render import ShapeScene, render_frames

NATIVE_FPS = 30.0
KEYFRAME_COUNT = 16
INTERPOLATION_FACTOR = 4
FRAME_COUNT = (KEYFRAME_COUNT - 1) * INTERPOLATION_FACTOR + 1  # 61
KEYFRAME_RESOLUTION = 64
SR_RESOLUTION = 256

# Window lengths Ls in native frames; ν = 16/Ls · 30 = 24, 16, 12, 8.
WINDOW_LENGTHS: tuple[int, ...] = (20, 30, 40, 60)
# Frame widths per native frame (0.5–0.8 px per frame at 64²). With the windows above the object
# travels 14%–68% of the frame width across the 16 key frames.
NATIVE_SPEED_RANGE = (0.008, 0.012)
# Half the object's extent in frame widths (a 12–17 px object at 64²).
HALF_SIZE_RANGE = (0.09, 0.13)
# The object stays this far inside the frame for the whole window.
EDGE_MARGIN = 0.02

# Separate random streams per split; train and val draw from the training combinations,
# heldout from the combinations training never sees.
SPLIT_STREAMS: dict[str, int] = {"train": 0, "val": 1, "heldout": 2}

MOTION_DIRECTIONS: dict[str, tuple[float, float]] = {
    "moving left": (-1.0, 0.0),
    "moving right": (1.0, 0.0),
    "moving up": (0.0, -1.0),
    "moving down": (0.0, 1.0),
}


@dataclass(frozen=True)
class ShapesClip:
    """One training example: caption, FPS condition and the 61 frames whose every 4th is a key frame."""

    caption: str
    attributes: ShapeAttributes
    fps_condition: float  # ν = 16/Ls · native FPS (paper §3.1.3)
    window_length: int  # Ls, native frames
    native_speed: float  # frame widths per native frame
    scene: ShapeScene
    frames: np.ndarray  # [61, H, W, 3] uint8 at the key-frame resolution
    high_res_keyframes: np.ndarray | None  # [16, H', W', 3] uint8 at the SR resolution, same instants
    seed: int
    split: str
    index: int

    @property
    def keyframes(self) -> np.ndarray:
        """The 16 key frames: [16, H, W, 3] uint8."""
        return self.frames[::INTERPOLATION_FACTOR]

    @property
    def keyframe_speed(self) -> float:
        """Displacement between consecutive key frames, in frame widths."""
        return self.native_speed * self.window_length / KEYFRAME_COUNT


def fps_condition(window_length: int, native_fps: float = NATIVE_FPS) -> float:
    """ν = 16/Ls · FPS, the FPS condition of 16 frames sampled from Ls native frames (paper §3.1.3)."""
    return KEYFRAME_COUNT / window_length * native_fps


def window_times(window_length: int) -> np.ndarray:
    """Native times of the 61 frames: [61] float64, key frames Ls/16 apart."""
    return np.arange(FRAME_COUNT) * (window_length / (KEYFRAME_COUNT * INTERPOLATION_FACTOR))


def place_scene(
    attributes: ShapeAttributes,
    rng: np.random.Generator,
    window_length: int,
    native_speed: float,
    half_size: float,
) -> ShapeScene:
    """A scene whose object stays wholly inside the frame for the whole window."""
    travel = native_speed * window_times(window_length)[-1]
    low, high = half_size + EDGE_MARGIN, 1.0 - half_size - EDGE_MARGIN
    if travel > high - low:
        raise ValueError(
            f"an object of half size {half_size} cannot travel {travel:.3f} frame widths inside the frame"
        )
    direction = MOTION_DIRECTIONS[attributes.motion]
    along = int(direction[0] == 0.0)  # 0: horizontal motion, 1: vertical
    start = [0.0, 0.0]
    if direction[along] > 0:
        start[along] = rng.uniform(low, high - travel)
    else:
        start[along] = rng.uniform(low + travel, high)
    start[1 - along] = rng.uniform(low, high)
    return ShapeScene(
        shape=attributes.shape,
        colour=PALETTE[attributes.colour],
        half_size=half_size,
        start=(start[0], start[1]),
        velocity=(direction[0] * native_speed, direction[1] * native_speed),
    )


def make_clip(
    attributes: ShapeAttributes,
    rng: np.random.Generator,
    *,
    window_length: int,
    native_speed: float,
    resolution: int = KEYFRAME_RESOLUTION,
    high_resolution: int | None = None,
    seed: int = 0,
    split: str = "train",
    index: int = 0,
) -> ShapesClip:
    """A clip of the given attributes and speed; size, position and caption drawn from `rng`."""
    half_size = float(rng.uniform(*HALF_SIZE_RANGE))
    scene = place_scene(attributes, rng, window_length, native_speed, half_size)
    caption = caption_for(attributes.colour, attributes.shape, attributes.motion, rng)
    times = window_times(window_length)
    high_res_keyframes = None
    if high_resolution is not None:
        high_res_keyframes = render_frames(scene, times[::INTERPOLATION_FACTOR], high_resolution)
    return ShapesClip(
        caption=caption,
        attributes=attributes,
        fps_condition=fps_condition(window_length),
        window_length=window_length,
        native_speed=native_speed,
        scene=scene,
        frames=render_frames(scene, times, resolution),
        high_res_keyframes=high_res_keyframes,
        seed=seed,
        split=split,
        index=index,
    )


def sample_clip(
    seed: int,
    index: int,
    split: str = "train",
    resolution: int = KEYFRAME_RESOLUTION,
    high_resolution: int | None = None,
) -> ShapesClip:
    """The index-th clip of a split: attributes, window, speed, size, position and caption all seeded."""
    if split not in SPLIT_STREAMS:
        raise ValueError(f"unknown split {split!r}; known: {tuple(SPLIT_STREAMS)}")
    rng = np.random.default_rng([seed, SPLIT_STREAMS[split], index])
    combinations = evaluation_combinations() if split == "heldout" else training_combinations()
    attributes = combinations[rng.integers(len(combinations))]
    window_length = WINDOW_LENGTHS[rng.integers(len(WINDOW_LENGTHS))]
    native_speed = float(rng.uniform(*NATIVE_SPEED_RANGE))
    return make_clip(
        attributes,
        rng,
        window_length=window_length,
        native_speed=native_speed,
        resolution=resolution,
        high_resolution=high_resolution,
        seed=seed,
        split=split,
        index=index,
    )
