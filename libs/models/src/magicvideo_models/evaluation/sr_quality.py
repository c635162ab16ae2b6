"""Super-resolution (paper §3.4) against bicubic upsampling, on the true high-resolution frames.

True clips are rendered at the key-frame size and at sr_scale × that size from the same scene;
the low-resolution key frames go through the SR stage as the pipeline runs it (bicubic
upsampling, noise conditioning augmentation at the manifest's noise level, the SR streams), and
PSNR of the result and of plain bicubic upsampling is taken against the rendered high-res frames.
``frames_per_clip`` key frames per clip, evenly spaced, all super-resolved in one run per clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from magicvideo_models.evaluation.faithfulness import Progress
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, ResolvedSettings, bytes_to_signed
from magicvideo_models.evaluation.report import ReportRow
from magicvideo_models.shapes.clips import KEYFRAME_COUNT, ShapesClip
from magicvideo_models.training.shapes_dataset import psnr
from magicvideo_models.training.train_sr import upsampled


@dataclass(frozen=True)
class SrQuality:
    frames: int
    steps: int
    noise_level: int
    sr_psnr_db: float
    bicubic_psnr_db: float


def keyframe_indices(frames_per_clip: int) -> list[int]:
    """Evenly spaced key-frame indices, the middle one when there is one."""
    if frames_per_clip == 1:
        return [KEYFRAME_COUNT // 2]
    return [round(i) for i in np.linspace(0, KEYFRAME_COUNT - 1, frames_per_clip)]


def evaluate_sr(
    folder: OnnxModelFolder,
    clips: Sequence[ShapesClip],
    *,
    settings: ResolvedSettings,
    seed: int,
    frames_per_clip: int = 1,
    progress: Progress | None = None,
) -> SrQuality:
    scale = int(folder.manifest["sr_scale"])
    indices = keyframe_indices(frames_per_clip)
    samples, bicubic, truth = [], [], []
    for index, clip in enumerate(clips):
        if clip.high_res_keyframes is None:
            raise ValueError("SR evaluation needs clips rendered with high_resolution")
        low = bytes_to_signed(clip.keyframes[indices]).transpose(0, 3, 1, 2)  # [n, 3, h, w]
        samples.append(torch.from_numpy(folder.super_resolve(low, seed=seed + index, settings=settings)))
        bicubic.append(upsampled(torch.from_numpy(low), scale))
        truth.append(
            torch.from_numpy(bytes_to_signed(clip.high_res_keyframes[indices]).transpose(0, 3, 1, 2))
        )
        if progress is not None and ((index + 1) % 8 == 0 or index + 1 == len(clips)):
            progress(f"sr: {index + 1}/{len(clips)} clips")
    target = torch.cat(truth)
    return SrQuality(
        frames=int(target.shape[0]),
        steps=settings.sr_steps,
        noise_level=settings.sr_noise_level,
        sr_psnr_db=psnr(torch.cat(samples), target),
        bicubic_psnr_db=psnr(torch.cat(bicubic), target),
    )


def sr_rows(result: SrQuality) -> list[ReportRow]:
    return [
        ReportRow(
            "sr",
            f"PSNR, {result.frames} frames, {result.steps} steps, noise level {result.noise_level}",
            result.sr_psnr_db,
            reference=f"bicubic {result.bicubic_psnr_db:.2f} dB",
            target="> bicubic",
            passed=result.sr_psnr_db > result.bicubic_psnr_db,
            unit="dB",
        )
    ]
