import math

import numpy as np
import torch

from magicvideo_models.evaluation.interpolation_quality import (
    MiddleFrameErrors,
    decoded_truth_rows,
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
    assert row.passed == (result.interpolation_psnr_db >= result.linear_psnr_db)
    assert np.isclose(row.value, result.interpolation_psnr_db)
    frame, region = decoded_truth_rows(result)
    assert frame.passed is None and region.passed is None  # informative: no target
    assert np.isclose(frame.value, result.interpolation_vs_decoded_truth_psnr_db)
    assert math.isfinite(result.linear_vs_decoded_truth_psnr_db)
    # the blend is nearer the decoded true latents than the true frames are (it shares the VAE's error)
    assert result.linear_vs_decoded_truth_psnr_db > result.linear_psnr_db


def test_errors_against_the_decoded_truth_leave_the_vae_error_out():
    clip = sample_clip(0, 0, "val")
    truth = clip.frames.transpose(3, 0, 1, 2).astype(np.float32) / 127.5 - 1  # [3, 61, H, W]
    vae_error = np.full_like(truth, 0.1)
    decoded = {"true": truth + vae_error, "good": truth + vae_error + 0.01, "blend": truth}
    errors = MiddleFrameErrors(("true", "good", "blend"), decoded_truth="true")
    errors.add_clip(clip, truth, decoded)

    # against the true frames the VAE's shared error hides "good"; against its decoding it shows
    assert errors.psnr_db("blend", "frame") > errors.psnr_db("good", "frame")
    against_decoding = "frame_vs_decoded_truth"
    assert errors.psnr_db("good", against_decoding) > errors.psnr_db("blend", against_decoding)
    assert np.isclose(errors.psnr_db("good", "frame_vs_decoded_truth"), 20 * np.log10(2 / 0.01), atol=1e-3)
    assert errors.errors["true"]["frame_vs_decoded_truth"] == [0.0, 0]  # not measured against itself
    figures = errors.metrics({"true": "true_latents"})
    assert figures["good_vs_decoded_truth_psnr_db"] == errors.psnr_db("good", against_decoding)
    assert figures["true_latents_psnr_db"] == errors.psnr_db("true", "frame")
    assert "true_latents_vs_decoded_truth_psnr_db" not in figures


def test_flicker_counts_middle_frames_rendered_unlike_their_key_frames():
    clip = sample_clip(0, 0, "val")
    truth = clip.frames.transpose(3, 0, 1, 2).astype(np.float32) / 127.5 - 1  # [3, 61, H, W]
    offset = np.where(middle_frame_mask(61)[None, :, None, None], 0.1, 0.0).astype(np.float32)
    decoded = {"truth": truth, "shifted": truth + 0.1, "alternating": truth + offset}
    errors = MiddleFrameErrors(tuple(decoded))
    errors.add_clip(clip, truth, decoded)

    assert errors.flicker_levels("truth") == 0
    # a constant error changes nothing from frame to frame; one on the middle frames only does at
    # every key frame: 0.1 · 127.5 levels on the 30 of 60 frame changes that cross a key frame
    assert errors.flicker_levels("shifted") < 0.01
    assert np.isclose(errors.flicker_levels("alternating"), 0.1 * 127.5 * 30 / 60, rtol=0.02)
