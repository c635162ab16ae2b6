"""PSNR of interpolated frames over the moving object's region, where interpolation matters.

MagicVideo Shapes moves one object a few pixels between key frames over a plain background. The
background is static, so any interpolator gets it right, linear blending of the neighbours'
latents included: on the whole frame the decoded blend scored 32.95 dB against 32.96 dB for
decoding the true middle latents (the VAE's ceiling), and a good interpolator cannot beat the
blend by more than that 0.01 dB there. Whole-frame PSNR therefore hardly separates an
interpolator that moves the object from one that cross-fades two half-transparent copies.

The object region of a key-frame pair is where the object is or passes: the pixels where any of
the pair's 5 true frames (the two key frames and the three between them) differs from the plain
background by more than ``REGION_THRESHOLD`` (of 255) in some channel, dilated by
``REGION_DILATION`` pixels so the ghosts a blend leaves just outside the object's edge count
too. PSNR over that region of the three middle frames, errors pooled over all pairs and clips,
is what interpolation changes; the whole-frame rows stay beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR

REGION_THRESHOLD = 8  # of 255: above the renderer's anti-aliasing fringe's faintest pixels' noise
REGION_DILATION = 1  # pixels at the key-frame resolution (64)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """bool [..., H, W] grown by a (2·radius + 1)² square."""
    grown = mask.copy()
    for _ in range(radius):
        step = grown.copy()
        step[..., 1:, :] |= grown[..., :-1, :]
        step[..., :-1, :] |= grown[..., 1:, :]
        widened = step.copy()
        widened[..., :, 1:] |= step[..., :, :-1]
        widened[..., :, :-1] |= step[..., :, 1:]
        grown = widened
    return grown


def object_region(
    frames: np.ndarray,
    background: Sequence[int],
    threshold: int = REGION_THRESHOLD,
    dilation: int = REGION_DILATION,
) -> np.ndarray:
    """uint8 frames [T, H, W, 3] → bool [H, W]: where any frame differs from the background colour
    by more than ``threshold`` in some channel, dilated by ``dilation`` pixels."""
    offset = np.abs(frames.astype(np.int16) - np.asarray(background, dtype=np.int16)).max(axis=-1)
    return dilate((offset > threshold).any(axis=0), dilation)


def middle_frame_regions(
    frames: np.ndarray, background: Sequence[int], factor: int = INTERPOLATION_FACTOR
) -> np.ndarray:
    """A clip's frames uint8 [N, H, W, 3] (key frames every ``factor``-th) → bool [N, H, W]: each
    middle frame carries its pair's object region (of the pair's factor + 1 frames), key frames none."""
    regions = np.zeros(frames.shape[:3], dtype=bool)
    for first in range(0, frames.shape[0] - factor, factor):
        region = object_region(frames[first : first + factor + 1], background)
        regions[first + 1 : first + factor] = region
    return regions


def squared_error(decoded: np.ndarray, truth: np.ndarray, region: np.ndarray) -> tuple[float, int]:
    """Frames [3, N, H, W] in [-1, 1] (the decoded ones clamped) against the truth, over the bool
    ``region`` [N, H, W] (every channel): (sum of squared errors, number of values)."""
    errors = (np.clip(decoded, -1.0, 1.0) - truth) ** 2
    return float(errors[:, region].sum()), int(region.sum()) * truth.shape[0]


def psnr_of(squared_error_sum: float, count: int) -> float:
    """PSNR in dB of pooled errors of pixels in [-1, 1] (peak-to-peak 2); nan for no pixels."""
    if count == 0:
        return float("nan")
    return float(10 * np.log10(4.0 / max(squared_error_sum / count, 1e-12)))
