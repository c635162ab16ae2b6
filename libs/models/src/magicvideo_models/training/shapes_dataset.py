"""Training batches of MagicVideo Shapes, rendered on the fly from (data seed, step).

Why on the fly rather than from shards (shapes/generate.py): a clip renders in about 10 ms at
64² (about 27 ms with its 16 key frames at 256²), well under any stage's step time here, and a
batch that is a pure function of (data seed, step) makes resuming exact with no data-loader
state to save: step s of the train stream always uses training clips s·B … s·B + B − 1, each
clip seen once (the stream is unbounded, so no epoch ever repeats a clip). Evaluation uses the
val split (training combinations, clips training never sees) and the heldout split (the
colour × shape × motion combinations training never sees), sample_clip's own streams.

Pixels go to the models as float tensors in [-1, 1], channels first.
"""

from __future__ import annotations

import numpy as np
import torch

from magicvideo_models.shapes.clips import ShapesClip, sample_clip

# Salts that keep each use of a step's randomness independent of the others.
FRAME_CHOICE = 1
NOISE = 2
CROP_CHOICE = 3


def training_clips(
    data_seed: int, step: int, count: int, *, high_resolution: int | None = None
) -> list[ShapesClip]:
    """The `count` training clips of step `step`: indices step·count … step·count + count − 1."""
    first = step * count
    return [
        sample_clip(data_seed, index, "train", high_resolution=high_resolution)
        for index in range(first, first + count)
    ]


def evaluation_clips(
    data_seed: int, split: str, count: int, *, high_resolution: int | None = None
) -> list[ShapesClip]:
    """The first `count` clips of an evaluation split ("val" or "heldout")."""
    if split == "train":
        raise ValueError("evaluation clips come from the val or heldout split, never from train")
    return [sample_clip(data_seed, index, split, high_resolution=high_resolution) for index in range(count)]


def step_rng(seed: int, step: int, salt: int) -> np.random.Generator:
    """Numpy randomness of one step (frame choices, crops): a pure function of (seed, step, salt)."""
    return np.random.default_rng([seed, step, salt])


def step_generator(seed: int, step: int, salt: int = NOISE) -> torch.Generator:
    """Torch randomness of one step (diffusion noise, timesteps): a pure function of (seed, step, salt)."""
    return torch.Generator().manual_seed(int(step_rng(seed, step, salt).integers(2**62)))


def signed_pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames [..., H, W, 3] → float32 [..., 3, H, W] in [-1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32)
    return (tensor / 127.5 - 1.0).movedim(-1, -3)


def signed_to_uint8(frames: torch.Tensor) -> np.ndarray:
    """frames [..., 3, H, W] in [-1, 1] → uint8 [..., H, W, 3] (the inverse of signed_pixels)."""
    pixels = ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.movedim(-3, -1).cpu().numpy()


def psnr(reconstruction: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR in dB of frames in [-1, 1] (peak-to-peak 2), after clamping the reconstruction to [-1, 1]."""
    mse = torch.mean((reconstruction.clamp(-1, 1) - target) ** 2).item()
    return float(10 * np.log10(4.0 / max(mse, 1e-12)))
