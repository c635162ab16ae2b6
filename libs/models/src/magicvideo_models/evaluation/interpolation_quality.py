"""Frame interpolation (paper §3.2) against linear blending of the neighbours' latents.

For each true clip, all 61 frames are encoded (the posterior's mode, times the latent scaling
factor: the latents the diffusion models work in). The 16 key frames' latents are the
neighbours; between each pair, the 3 middle frames are made two ways:

- the interpolation U-Net, sampled as the pipeline does (neighbours' latents, their CLIP image
  embeddings from the true key frames, the interpolation noise streams, no guidance);
- linear blending, (1 − j/4)·z_k + (j/4)·z_{k+1} for j = 1, 2, 3.

Both 61-frame latent videos are decoded with the VideoVAE decoder, and PSNR is measured on the
45 middle frames against the true frames. Decoding the true latents gives the ceiling the VAE
allows. Errors are pooled over all clips before the PSNR is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from magicvideo_models.evaluation.faithfulness import Progress
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, ResolvedSettings, bytes_to_signed
from magicvideo_models.evaluation.report import ReportRow
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, ShapesClip


def linear_blend(keyframe_latents: torch.Tensor, factor: int = INTERPOLATION_FACTOR) -> torch.Tensor:
    """Key frames [1, C, F, h, w] → [1, C, (F − 1)·factor + 1, h, w], the frames between each pair
    blended linearly in latent space."""
    first, second = keyframe_latents[:, :, :-1], keyframe_latents[:, :, 1:]  # [1, C, F−1, h, w]
    steps = []
    for j in range(factor):
        weight = j / factor
        steps.append((1 - weight) * first + weight * second)
    between = torch.stack(steps, dim=3).flatten(2, 3)  # [1, C, (F−1)·factor, h, w]
    return torch.cat([between, keyframe_latents[:, :, -1:]], dim=2)


def middle_frame_mask(frame_count: int, factor: int = INTERPOLATION_FACTOR) -> np.ndarray:
    """bool [frame_count]: True for the frames between key frames."""
    return np.arange(frame_count) % factor != 0


@dataclass(frozen=True)
class InterpolationQuality:
    clips: int
    steps: int
    interpolation_psnr_db: float
    linear_psnr_db: float
    true_latents_psnr_db: float  # the VAE's ceiling on the middle frames


def _psnr_of(squared_error: float, count: int) -> float:
    # pixels in [-1, 1]: peak-to-peak 2
    return float(10 * np.log10(4.0 / max(squared_error / count, 1e-12)))


def evaluate_interpolation(
    folder: OnnxModelFolder,
    clips: Sequence[ShapesClip],
    *,
    settings: ResolvedSettings,
    seed: int,
    progress: Progress | None = None,
) -> InterpolationQuality:
    scale = np.float32(folder.latent_scaling_factor)
    errors = {"interpolation": 0.0, "linear": 0.0, "true": 0.0}
    count = 0
    for index, clip in enumerate(clips):
        true_latents = folder.video_latents(clip.frames)  # [1, C, 61, h, w] unscaled
        keyframe_latents = torch.from_numpy(true_latents[:, :, ::INTERPOLATION_FACTOR] * scale)
        videos = {
            "interpolation": folder.interpolate(
                keyframe_latents, clip.keyframes, seed=seed + index, settings=settings
            ).numpy(),
            "linear": linear_blend(keyframe_latents).numpy(),
            "true": true_latents * scale,
        }
        middle = middle_frame_mask(clip.frames.shape[0])
        truth = bytes_to_signed(clip.frames[middle]).transpose(3, 0, 1, 2)  # [3, M, H, W]
        for name, latents in videos.items():
            decoded = np.clip(folder.decode_unscaled(latents / scale)[0][:, middle], -1.0, 1.0)
            errors[name] += float(((decoded - truth) ** 2).sum())
        count += truth.size
        if progress is not None and ((index + 1) % 8 == 0 or index + 1 == len(clips)):
            progress(f"interpolation: {index + 1}/{len(clips)} clips")
    return InterpolationQuality(
        clips=len(clips),
        steps=settings.interp_steps,
        interpolation_psnr_db=_psnr_of(errors["interpolation"], count),
        linear_psnr_db=_psnr_of(errors["linear"], count),
        true_latents_psnr_db=_psnr_of(errors["true"], count),
    )


def interpolation_rows(result: InterpolationQuality) -> list[ReportRow]:
    return [
        ReportRow(
            "interpolation",
            f"middle frames PSNR, {result.clips} clips, {result.steps} steps",
            result.interpolation_psnr_db,
            reference=(
                f"linear blend {result.linear_psnr_db:.2f} dB; "
                f"true latents {result.true_latents_psnr_db:.2f} dB"
            ),
            target="> linear blend",
            passed=result.interpolation_psnr_db > result.linear_psnr_db,
            unit="dB",
        )
    ]
