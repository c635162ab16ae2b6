"""The automatic judge: what a clip shows, how smoothly, and how fast (DESIGN.md §7).

It reads decoded frames (uint8 [T, H, W, 3], any resolution, T ≥ 2) and decides
- colour: the palette colour nearest the mean of the object's core pixels (pixels far from the
  background, and among those the strongly coloured ones, so anti-aliased edges don't tint it);
- shape: from the object's per-pixel opacity α (the pixel's position on the line from the
  background to the object colour), two scale-free features, medians over frames:
  vertical skewness of α (an upright triangle has its mass low: skewness −2√2/5 ≈ −0.57;
  circles and squares are symmetric: 0) and fill ratio, area / (width × height) with width and
  height measured from α's column and row maxima so anti-aliased edges count fractionally
  (square 1, circle π/4 ≈ 0.785);
- motion: the α-weighted centroid's least-squares line over frames; the dominant axis and sign
  of its displacement, or "static" below a minimum displacement;
- speed: that line's slope, in frame widths per frame of the given frames;
- smoothness: background flicker (mean absolute change of background pixels between frames),
  foreground flicker (change of the object's mean colour), area flicker (relative change of
  the object's area) and motion irregularity (spread of centroid steps over their mean length).

The background colour is estimated as the clip's median pixel, since the object covers far
less than half of every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from magicvideo_models.shapes.grammar import PALETTE, ShapeAttributes, parse_caption

STATIC = "static"

# RGB distance from the background beyond which a pixel belongs to the object (palette colours
# are ≥ 150 away, so pixels more than about 40% covered count).
FOREGROUND_DISTANCE = 60.0
# Core pixels, whose mean decides the colour: at least this fraction of the typical object distance.
CORE_FRACTION = 0.75
# Fewer object pixels than this in a frame: no object in that frame.
MIN_OBJECT_PIXELS = 4
# Net displacement over the clip, in frame widths, below which the object counts as static.
MIN_DISPLACEMENT = 0.05
# |vertical skewness| above this: a triangle (ideal 0.57 against 0 for circle and square).
TRIANGLE_SKEW = 0.3
# Fill ratio above this: a square (ideal 1.0 against π/4 for a circle).
SQUARE_FILL = 0.9


@dataclass(frozen=True)
class JudgeVerdict:
    """What the judge decided about one clip, with the measurements behind it."""

    colour: str | None  # None when no frame holds an object
    shape: str | None
    motion: str  # one of grammar.MOTIONS, or "static"
    speed: float  # centroid speed, frame widths per frame of the judged clip
    displacement: tuple[float, float]  # net centroid displacement (x right, y down), frame widths
    fill_ratio: float
    vertical_skew: float
    background_flicker: float  # mean |Δ| of background pixels between consecutive frames, in [0, 1]
    foreground_flicker: float  # mean |Δ| of the object's mean colour between frames, in [0, 1]
    area_flicker: float  # mean |ΔA| / mean A between frames
    motion_irregularity: float  # RMS deviation of centroid steps / mean step length; NaN when static
    object_frames: int  # frames in which an object was found

    def attributes(self) -> ShapeAttributes | None:
        """The decided attributes, or None when colour, shape or motion could not be decided."""
        if self.colour is None or self.shape is None or self.motion == STATIC:
            return None
        return ShapeAttributes(self.colour, self.shape, self.motion)

    def matches(self, caption: str) -> bool:
        """Whether the clip shows what the caption asks for: colour, shape and motion all agree."""
        return self.attributes() == parse_caption(caption)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3×3 dilation of [T, H, W] boolean masks."""
    grown = mask.copy()
    grown[:, 1:, :] |= mask[:, :-1, :]
    grown[:, :-1, :] |= mask[:, 1:, :]
    widened = grown.copy()
    widened[:, :, 1:] |= grown[:, :, :-1]
    widened[:, :, :-1] |= grown[:, :, 1:]
    return widened


def _nearest_palette_colour(rgb: np.ndarray, palette: dict[str, tuple[int, int, int]]) -> str:
    names = list(palette)
    distances = np.linalg.norm(np.asarray([palette[n] for n in names], dtype=np.float64) - rgb, axis=1)
    return names[int(np.argmin(distances))]


def _mean_abs_step(values: np.ndarray) -> float:
    return float(np.abs(np.diff(values, axis=0)).mean()) if len(values) > 1 else 0.0


def judge_clip(frames: np.ndarray, palette: dict[str, tuple[int, int, int]] = PALETTE) -> JudgeVerdict:
    """Decide colour, shape and motion of frames uint8 [T, H, W, 3] and measure smoothness and speed."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise ValueError(f"expected frames [T >= 2, H, W, 3], got shape {frames.shape}")
    count, height, width, _ = frames.shape
    # A strided sample suffices for the median and keeps large clips cheap.
    background = np.median(frames[:, ::4, ::4].reshape(-1, 3), axis=0).astype(np.float32)  # [3]
    offset = frames.astype(np.float32) - background  # [T, H, W, 3]
    distance = np.sqrt(np.einsum("thwc,thwc->thw", offset, offset))  # [T, H, W]
    foreground = distance > FOREGROUND_DISTANCE
    near_object = _dilate(foreground)

    quiet = ~near_object[1:] & ~near_object[:-1]  # background in both frames of a pair
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).sum(axis=-1)  # [T-1, H, W]
    background_flicker = float(steps[quiet].mean() / (3 * 255.0)) if quiet.any() else 0.0

    if not foreground.any():
        return _empty_verdict(background_flicker)
    # Everything below only concerns the region the object visits in any frame.
    rows = np.flatnonzero(near_object.any(axis=(0, 2)))
    cols = np.flatnonzero(near_object.any(axis=(0, 1)))
    region = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    pixels, offset, distance = frames[region].astype(np.float32), offset[region], distance[region]
    foreground, near_object = foreground[region], near_object[region]

    core_threshold = CORE_FRACTION * np.quantile(distance[foreground], 0.9)
    core = foreground & (distance >= core_threshold)
    object_colour = pixels[core].mean(axis=0)  # [3]
    colour = _nearest_palette_colour(object_colour, palette)

    # Opacity: where each pixel lies on the line from the background to the object colour.
    direction = object_colour - background
    alpha = np.clip(offset @ direction / float(direction @ direction), 0.0, 1.0) * near_object  # [T, h, w]
    present = foreground.sum(axis=(1, 2)) >= MIN_OBJECT_PIXELS  # [T]
    alpha = alpha[present]
    area = alpha.sum(axis=(1, 2))  # [F]
    xs = np.arange(cols[0], cols[-1] + 1, dtype=np.float32) + 0.5
    ys = np.arange(rows[0], rows[-1] + 1, dtype=np.float32) + 0.5
    row_mass = alpha.sum(axis=2)  # [F, h]
    centre_x = (alpha.sum(axis=1) * xs).sum(axis=1) / area  # [F] pixels
    centre_y = (row_mass * ys).sum(axis=1) / area
    spread_y = (row_mass * (ys - centre_y[:, None]) ** 2).sum(axis=1) / area
    third_y = (row_mass * (ys - centre_y[:, None]) ** 3).sum(axis=1) / area
    vertical_skew = float(np.median(third_y / np.maximum(spread_y, 1e-6) ** 1.5))
    object_width = alpha.max(axis=1).sum(axis=1)
    object_height = alpha.max(axis=2).sum(axis=1)
    fill_ratio = float(np.median(area / np.maximum(object_width * object_height, 1e-6)))
    if abs(vertical_skew) > TRIANGLE_SKEW:
        shape = "triangle"
    elif fill_ratio > SQUARE_FILL:
        shape = "square"
    else:
        shape = "circle"

    core_counts = core[present].sum(axis=(1, 2))  # [F]
    core_sums = (pixels[present] * core[present][..., None]).sum(axis=(1, 2))  # [F, 3]
    core_colours = core_sums[core_counts > 0] / core_counts[core_counts > 0, None]
    foreground_flicker = _mean_abs_step(core_colours) / 255.0
    area_flicker = _mean_abs_step(area) / float(area.mean())

    # Centroid track in frame widths against frame index; the fitted line gives speed and direction.
    frame_index = np.flatnonzero(present).astype(np.float64)
    track = np.stack([centre_x / width, centre_y / height], axis=1).astype(np.float64)  # [F, 2]
    slope = np.polyfit(frame_index, track, deg=1)[0] if len(frame_index) >= 2 else np.zeros(2)  # [2]
    displacement = slope * (count - 1)
    motion = _motion_from_displacement(displacement)
    return JudgeVerdict(
        colour=colour,
        shape=shape,
        motion=motion,
        speed=float(np.hypot(*slope)),
        displacement=(float(displacement[0]), float(displacement[1])),
        fill_ratio=fill_ratio,
        vertical_skew=vertical_skew,
        background_flicker=background_flicker,
        foreground_flicker=foreground_flicker,
        area_flicker=area_flicker,
        motion_irregularity=_motion_irregularity(track, frame_index) if motion != STATIC else math.nan,
        object_frames=len(area),
    )


def _motion_from_displacement(displacement: np.ndarray) -> str:
    dx, dy = float(displacement[0]), float(displacement[1])
    if max(abs(dx), abs(dy)) < MIN_DISPLACEMENT:
        return STATIC
    if abs(dx) >= abs(dy):
        return "moving right" if dx > 0 else "moving left"
    return "moving down" if dy > 0 else "moving up"


def _motion_irregularity(track: np.ndarray, frame_index: np.ndarray) -> float:
    """RMS deviation of per-frame centroid steps from their mean, over the mean step length."""
    if len(track) < 3:
        return 0.0
    steps = np.diff(track, axis=0) / np.diff(frame_index)[:, None]  # [F-1, 2] per frame
    mean_step = steps.mean(axis=0)
    deviation = np.sqrt(((steps - mean_step) ** 2).sum(axis=1).mean())
    return float(deviation / max(float(np.hypot(*mean_step)), 1e-9))


def _empty_verdict(background_flicker: float) -> JudgeVerdict:
    return JudgeVerdict(
        colour=None,
        shape=None,
        motion=STATIC,
        speed=0.0,
        displacement=(0.0, 0.0),
        fill_ratio=math.nan,
        vertical_skew=math.nan,
        background_flicker=background_flicker,
        foreground_flicker=0.0,
        area_flicker=0.0,
        motion_irregularity=math.nan,
        object_frames=0,
    )
