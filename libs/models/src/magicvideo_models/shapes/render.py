"""Anti-aliased rendering of one shape moving at constant velocity on a plain background.

Scene geometry lives in frame units (1.0 = the frame's width = its height; x to the right, y
down) and time in native frames, so one scene renders to the key-frame resolution and to the
super-resolution target alike, at any (fractional) times: the same clip, only sharper.

Coverage is estimated by supersampling each pixel on a k×k grid and box-averaging, computed
only inside the object's bounding box; the rest of the frame is the background colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from magicvideo_models.shapes.grammar import BACKGROUND, SHAPES, Rgb


@dataclass(frozen=True)
class ShapeScene:
    """One object moving in a straight line: everything needed to render any frame of the clip."""

    shape: str
    colour: Rgb
    # Half the object's extent, in frame widths: circle radius, half the square's side,
    # half the triangle's base and height.
    half_size: float
    # Object centre at native time 0, in frame widths.
    start: tuple[float, float]
    # Frame widths per native frame.
    velocity: tuple[float, float]
    background: Rgb = BACKGROUND

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {SHAPES}")
        if not 0 < self.half_size < 0.5:
            raise ValueError(f"half_size {self.half_size} must lie in (0, 0.5) frame widths")

    def centre_at(self, time: float) -> tuple[float, float]:
        """Object centre at a native time, in frame widths."""
        return (self.start[0] + self.velocity[0] * time, self.start[1] + self.velocity[1] * time)


def _inside_unit_shape(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which points (in half-size units about the centre, v down) lie inside the unit shape."""
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
    # Upright isosceles triangle: apex at (0, -1), base from (-1, 1) to (1, 1).
    return (v <= 1.0) & (np.abs(u) <= (v + 1.0) / 2.0)


def _coverage(
    shape: str, centre_px: tuple[float, float], half_px: float, box: tuple[int, int, int, int], k: int
):
    """Fraction of each pixel in box = (x0, x1, y0, y1) the shape covers; [y1-y0, x1-x0] float."""
    x0, x1, y0, y1 = box
    xs = x0 + (np.arange((x1 - x0) * k) + 0.5) / k
    ys = y0 + (np.arange((y1 - y0) * k) + 0.5) / k
    u = ((xs - centre_px[0]) / half_px)[None, :]
    v = ((ys - centre_px[1]) / half_px)[:, None]
    inside = _inside_unit_shape(shape, u, v)
    return inside.reshape(y1 - y0, k, x1 - x0, k).mean(axis=(1, 3))


def render_frames(scene: ShapeScene, times: np.ndarray, resolution: int, supersample: int = 4) -> np.ndarray:
    """Frames of the scene at the given native times: uint8 [T, resolution, resolution, 3]."""
    times = np.asarray(times, dtype=np.float64)
    background = np.asarray(scene.background, dtype=np.float64)
    foreground = np.asarray(scene.colour, dtype=np.float64)
    frames = np.empty((len(times), resolution, resolution, 3), dtype=np.uint8)
    frames[:] = np.asarray(scene.background, dtype=np.uint8)
    half_px = scene.half_size * resolution
    for index, time in enumerate(times):
        cx, cy = (coordinate * resolution for coordinate in scene.centre_at(float(time)))
        x0, x1 = max(0, math.floor(cx - half_px)), min(resolution, math.ceil(cx + half_px))
        y0, y1 = max(0, math.floor(cy - half_px)), min(resolution, math.ceil(cy + half_px))
        if x1 <= x0 or y1 <= y0:
            continue
        coverage = _coverage(scene.shape, (cx, cy), half_px, (x0, x1, y0, y1), supersample)
        blended = background + coverage[..., None] * (foreground - background)
        frames[index, y0:y1, x0:x1] = np.rint(blended).astype(np.uint8)
    return frames
