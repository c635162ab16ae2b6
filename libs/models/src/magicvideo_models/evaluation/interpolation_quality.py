"""Frame interpolation (paper §3.2) against linear blending of the neighbours' latents.

For each true clip, all 61 frames are encoded (the posterior's mode, times the latent scaling
factor: the latents the diffusion models work in). The 16 key frames' latents are the
neighbours; between each pair, the 3 middle frames are made two ways:

- the interpolation U-Net, sampled as the pipeline does (neighbours' latents, the CLIP image
  embeddings of the decoded key frames as the runtime's interpolation stage computes them, the
  interpolation noise streams, no guidance);
- linear blending, (1 − j/4)·z_k + (j/4)·z_{k+1} for j = 1, 2, 3.

Both 61-frame latent videos are decoded with the VideoVAE decoder, and PSNR is measured on the
45 middle frames against the true frames. Decoding the true latents gives the ceiling the VAE
allows. Errors are pooled over all clips before the PSNR is taken.

Flicker (train_vae's: mean |Δ_t decoded − Δ_t true| in 8-bit levels, over all 61 frames) is
reported beside them, informative: middle frames rendered differently from the key frames around
them (sharper, say) would show there as a change every frame that the truth does not make.

Two regions, two rows: the whole frame, and the moving object's region (object_region.py). With
the small displacements between key frames most of a frame is static background, where the
decoded blend is already within 0.01 dB of the VAE's ceiling, so the whole-frame row can hardly
separate a good interpolator from blending (its target: not below the blend); the object-region
row is where interpolation shows (its target: above the blend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from magicvideo_models.evaluation.faithfulness import Progress
from magicvideo_models.evaluation.object_region import middle_frame_regions, psnr_of, squared_error
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, ResolvedSettings, bytes_to_signed
from magicvideo_models.evaluation.report import ReportRow
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, ShapesClip
from magicvideo_models.training.train_vae import flicker


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


class MiddleFrameErrors:
    """Squared errors of decoded videos' middle frames against the true frames, pooled over clips,
    on the whole middle frames and on the moving object's region (object_region.py), per named
    video (e.g. sampled, linear blend, true latents). The evaluate table and the interpolation
    trainer's final check both measure with it."""

    def __init__(self, names: Sequence[str], decoded_truth: str | None = None) -> None:
        """decoded_truth: the name of the decoded true latents, if any; every other video is then
        also measured against that decoding (parts "frame_vs_decoded_truth" and
        "region_vs_decoded_truth"), which takes the VAE's own error out of the comparison."""
        parts = ("frame", "region", "frame_vs_decoded_truth", "region_vs_decoded_truth")
        self.errors = {name: {part: [0.0, 0] for part in parts} for name in names}
        self.decoded_truth = decoded_truth
        self.flicker_sums = {name: 0.0 for name in names}  # per-clip flicker, summed
        self.clips = 0
        self.region_pixels = 0
        self.middle_pixels = 0

    def add_clip(self, clip: ShapesClip, truth: np.ndarray, decoded: Mapping[str, np.ndarray]) -> None:
        """truth and each decoded video: [3, 61, H, W] in [-1, 1], the clip's frames."""
        middle = np.broadcast_to(middle_frame_mask(clip.frames.shape[0])[:, None, None], truth.shape[1:])
        regions = middle_frame_regions(clip.frames, clip.scene.background)  # [61, H, W]
        self.region_pixels += int(regions.sum())
        self.middle_pixels += int(middle.sum())
        self.clips += 1
        for name, video in decoded.items():
            self.flicker_sums[name] += flicker(torch.from_numpy(video)[None], torch.from_numpy(truth)[None])
        references = {"": truth}
        if self.decoded_truth is not None:
            references["_vs_decoded_truth"] = decoded[self.decoded_truth]
        for name, video in decoded.items():
            for suffix, reference in references.items():
                if suffix and name == self.decoded_truth:
                    continue
                for part, mask in (("frame", middle), ("region", regions)):
                    error, count = squared_error(video, reference, mask)
                    self.errors[name][part + suffix][0] += error
                    self.errors[name][part + suffix][1] += count

    def psnr_db(self, name: str, part: str) -> float:
        """part: "frame" (whole middle frames) or "region" (the object's region), against the true
        frames; "frame_vs_decoded_truth" or "region_vs_decoded_truth", against the decoded true
        latents."""
        return psnr_of(*self.errors[name][part])

    def metrics(self, labels: Mapping[str, str] | None = None) -> dict[str, float]:
        """Every figure by key, each video under its label (its name unless `labels` renames it):
        `{label}_psnr_db` and `object_region_{label}_psnr_db` against the true frames, the same
        with `_vs_decoded_truth` against the decoded true latents (not for that video itself), and
        `{label}_flicker_levels`."""
        figures: dict[str, float] = {}
        for name in self.errors:
            label = (labels or {}).get(name, name)
            figures[f"{label}_psnr_db"] = self.psnr_db(name, "frame")
            figures[f"object_region_{label}_psnr_db"] = self.psnr_db(name, "region")
            if name != self.decoded_truth and self.decoded_truth is not None:
                figures[f"{label}_vs_decoded_truth_psnr_db"] = self.psnr_db(name, "frame_vs_decoded_truth")
                figures[f"object_region_{label}_vs_decoded_truth_psnr_db"] = self.psnr_db(
                    name, "region_vs_decoded_truth"
                )
            figures[f"{label}_flicker_levels"] = self.flicker_levels(name)
        return figures

    def flicker_levels(self, name: str) -> float:
        """Mean |Δ_t decoded − Δ_t true| over the 61 frames of every clip, in 8-bit levels."""
        return self.flicker_sums[name] / max(self.clips, 1)

    @property
    def region_fraction(self) -> float:
        return self.region_pixels / max(self.middle_pixels, 1)


@dataclass(frozen=True)
class InterpolationQuality:
    clips: int
    steps: int
    interpolation_psnr_db: float
    linear_psnr_db: float
    true_latents_psnr_db: float  # the VAE's ceiling on the middle frames
    # the same three over the moving object's region of each pair's middle frames (object_region.py)
    object_region_interpolation_psnr_db: float = float("nan")
    object_region_linear_psnr_db: float = float("nan")
    object_region_true_latents_psnr_db: float = float("nan")
    object_region_fraction: float = float("nan")  # of the middle frames' pixels
    # against the decoded true latents instead of the true frames: the VAE's error taken out
    interpolation_vs_decoded_truth_psnr_db: float = float("nan")
    linear_vs_decoded_truth_psnr_db: float = float("nan")
    object_region_interpolation_vs_decoded_truth_psnr_db: float = float("nan")
    object_region_linear_vs_decoded_truth_psnr_db: float = float("nan")
    # flicker of the 61 decoded frames (train_vae.flicker, 8-bit levels)
    interpolation_flicker_levels: float = float("nan")
    linear_flicker_levels: float = float("nan")
    true_latents_flicker_levels: float = float("nan")


def evaluate_interpolation(
    folder: OnnxModelFolder,
    clips: Sequence[ShapesClip],
    *,
    settings: ResolvedSettings,
    seed: int,
    progress: Progress | None = None,
) -> InterpolationQuality:
    scale = np.float32(folder.latent_scaling_factor)
    errors = MiddleFrameErrors(("interpolation", "linear", "true"), decoded_truth="true")
    for index, clip in enumerate(clips):
        true_latents = folder.video_latents(clip.frames)  # [1, C, 61, h, w] unscaled
        keyframe_latents = torch.from_numpy(true_latents[:, :, ::INTERPOLATION_FACTOR] * scale)
        # the runtime embeds the decoded key frames (interpolate.ts), so the model is served those
        decoded_keyframes = folder.decode(keyframe_latents)
        videos = {
            "interpolation": folder.interpolate(
                keyframe_latents, decoded_keyframes, seed=seed + index, settings=settings
            ).numpy(),
            "linear": linear_blend(keyframe_latents).numpy(),
            "true": true_latents * scale,
        }
        truth = bytes_to_signed(clip.frames).transpose(3, 0, 1, 2)  # [3, 61, H, W]
        decoded = {name: folder.decode_unscaled(latents / scale)[0] for name, latents in videos.items()}
        errors.add_clip(clip, truth, decoded)
        if progress is not None and ((index + 1) % 8 == 0 or index + 1 == len(clips)):
            progress(f"interpolation: {index + 1}/{len(clips)} clips")
    return InterpolationQuality(
        clips=len(clips),
        steps=settings.interp_steps,
        object_region_fraction=errors.region_fraction,
        **errors.metrics({"true": "true_latents"}),
    )


def interpolation_rows(result: InterpolationQuality) -> list[ReportRow]:
    """The whole-frame row: the interpolation must not fall below blending there (both sit near
    the VAE's ceiling, see the module docstring)."""
    return [
        ReportRow(
            "interpolation",
            f"middle frames PSNR, {result.clips} clips, {result.steps} steps",
            result.interpolation_psnr_db,
            reference=(
                f"linear blend {result.linear_psnr_db:.2f} dB; "
                f"true latents {result.true_latents_psnr_db:.2f} dB"
            ),
            target="≥ linear blend",
            passed=result.interpolation_psnr_db >= result.linear_psnr_db,
            unit="dB",
        )
    ]


def object_region_rows(result: InterpolationQuality) -> list[ReportRow]:
    """The object-region row, where interpolation matters: it must beat blending there."""
    return [
        ReportRow(
            "interpolation",
            f"object-region PSNR ({100 * result.object_region_fraction:.1f}% of middle-frame pixels), "
            f"{result.clips} clips, {result.steps} steps",
            result.object_region_interpolation_psnr_db,
            reference=(
                f"linear blend {result.object_region_linear_psnr_db:.2f} dB; "
                f"true latents {result.object_region_true_latents_psnr_db:.2f} dB"
            ),
            target="> linear blend",
            passed=result.object_region_interpolation_psnr_db > result.object_region_linear_psnr_db,
            unit="dB",
        )
    ]


def decoded_truth_rows(result: InterpolationQuality) -> list[ReportRow]:
    """The same two comparisons against the decoded true latents: the VAE's error, which every
    decoded video shares and which dominates the rows above, is taken out, so how much closer to
    the true middle latents the interpolation lands than the blend shows. No target: the issue's
    yardstick is the true frames."""
    return [
        ReportRow(
            "interpolation",
            f"{label} PSNR against the decoded true latents, {result.clips} clips",
            interpolated,
            reference=f"linear blend {linear:.2f} dB",
            unit="dB",
        )
        for label, interpolated, linear in (
            (
                "middle frames",
                result.interpolation_vs_decoded_truth_psnr_db,
                result.linear_vs_decoded_truth_psnr_db,
            ),
            (
                "object region",
                result.object_region_interpolation_vs_decoded_truth_psnr_db,
                result.object_region_linear_vs_decoded_truth_psnr_db,
            ),
        )
    ]


def flicker_rows(result: InterpolationQuality) -> list[ReportRow]:
    """Flicker of the decoded 61 frames, informative: what rendering the middle frames differently
    from the key frames would cost in smoothness."""
    return [
        ReportRow(
            "interpolation",
            f"flicker of the 61 decoded frames, {result.clips} clips",
            result.interpolation_flicker_levels,
            reference=(
                f"linear blend {result.linear_flicker_levels:.3f}; "
                f"true latents {result.true_latents_flicker_levels:.3f}"
            ),
            unit="levels",
        )
    ]
