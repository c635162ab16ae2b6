import math

import numpy as np
import torch

from magicvideo_models.evaluation.interpolation_quality import (
    evaluate_interpolation,
    interpolation_rows,
    linear_blend,
    middle_frame_mask,
)
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.evaluation.test_onnx_pipeline import SHIPPED
from magicvideo_models.shapes.clips import sample_clip


def test_linear_blend_keeps_key_frames_and_blends_between_them():
    keyframes = torch.tensor([0.0, 4.0, 12.0]).view(1, 1, 3, 1, 1)
    video = linear_blend(keyframes)
    assert video.flatten().tolist() == [0, 1, 2, 3, 4, 6, 8, 10, 12]


def test_middle_frames_are_those_between_key_frames():
    mask = middle_frame_mask(61)
    assert mask.sum() == 45
    assert not mask[::4].any()


def test_shipped_folder_gives_finite_psnr_for_interpolation_blend_and_true_latents():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    settings = SamplingSettings(interp_steps=1).resolved(folder.manifest)

    result = evaluate_interpolation(folder, [sample_clip(0, 0, "val")], settings=settings, seed=0)

    assert result.clips == 1 and result.steps == 1
    for value in (result.interpolation_psnr_db, result.linear_psnr_db, result.true_latents_psnr_db):
        assert math.isfinite(value) and value > 0
    (row,) = interpolation_rows(result)
    assert row.passed == (result.interpolation_psnr_db > result.linear_psnr_db)
    assert np.isclose(row.value, result.interpolation_psnr_db)
