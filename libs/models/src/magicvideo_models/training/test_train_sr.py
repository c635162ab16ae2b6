"""Smoke runs of the SR training: it trains, resumes exactly, builds aligned crops and reports
PSNR of whole sampled frames against bicubic."""

from pathlib import Path

import numpy as np
import pytest
import torch

from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.training.shapes_dataset import signed_pixels
from magicvideo_models.training.test_stop_request import StopAfter
from magicvideo_models.training.train_sr import (
    SrTrainingConfig,
    crop_batch,
    edge_sharpness,
    noise_augmented,
    train,
    upsampled,
    upsampled_crop,
)


def _config(tmp_path: Path, name: str, steps: int) -> SrTrainingConfig:
    return SrTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        steps=steps,
        clips_per_step=1,
        crops_per_clip=2,
        warmup_steps=10,
        threads=1,
        log_every=1,
        eval_clips=1,
        quiet=True,
    )


def test_a_stopped_then_resumed_run_gives_the_same_next_loss_as_an_uninterrupted_run(tmp_path: Path) -> None:
    uninterrupted = train(_config(tmp_path, "whole", steps=3))
    stopped = train(_config(tmp_path, "split", steps=2), StopAfter(1))  # as SIGTERM after step 1
    assert (stopped["steps"], stopped["finished"]) == (1, False)
    assert not (tmp_path / "split" / "weights").exists()
    train(_config(tmp_path, "split", steps=2))
    resumed = train(_config(tmp_path, "split", steps=3))
    assert list(resumed["losses"]) == [3]
    assert resumed["losses"][3] == pytest.approx(uninterrupted["losses"][3], rel=1e-5)
    metrics = resumed["val_whole_frames"]
    assert metrics["bicubic_psnr_db"] > 20  # the shapes upsample well; SR has to beat this
    assert np.isfinite(metrics["sr_psnr_db"])
    assert 0 < metrics["bicubic_edges"]["edge_gradient_ratio"] < 1  # bicubic blurs the edges


def test_crops_pair_each_high_res_crop_with_the_same_region_of_the_upsampled_frame() -> None:
    clip = sample_clip(0, 0, high_resolution=256)
    high, low = crop_batch([clip], np.random.default_rng(0), crops_per_clip=8, crop_size=64, scale=4)
    assert high.shape == low.shape == (8, 3, 64, 64)
    # the upsampled low-res crop is a blurred version of the same region: close (above 20 dB),
    # and much closer than the same crops misaligned by 8 pixels
    aligned = torch.mean((high - low) ** 2)
    misaligned = torch.mean((high - torch.roll(low, 8, dims=-1)) ** 2)
    assert aligned < 0.04
    assert misaligned > 2 * aligned
    whole = upsampled(signed_pixels(clip.keyframes[:1]), 4)
    assert whole.shape == (1, 3, 256, 256)


def test_noise_augmentation_at_level_zero_barely_changes_the_input_and_grows_with_the_level() -> None:
    alphas_cumprod = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), dim=0)
    low = torch.zeros(3, 3, 8, 8)
    noise = torch.ones_like(low)
    augmented = noise_augmented(low, torch.tensor([0, 20, 350]), alphas_cumprod, noise)
    stds = [augmented[i].mean().item() for i in range(3)]
    assert stds[0] == pytest.approx(0.01, rel=1e-3)
    assert stds[0] < stds[1] < stds[2]


def test_a_crop_upsampled_from_a_low_res_window_equals_the_whole_frames_crop() -> None:
    low_res = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    whole = upsampled(low_res[None], 4)[0]
    for top, left in ((0, 0), (1, 2), (3, 191), (97, 64), (192, 192), (190, 5)):
        crop = upsampled_crop(low_res, top, left, 64, 4)
        torch.testing.assert_close(crop, whole[:, top : top + 64, left : left + 64], rtol=0, atol=0)


def test_edge_sharpness_is_one_for_the_truth_and_lower_for_a_blurred_frame() -> None:
    clip = sample_clip(0, 0, high_resolution=256)
    truth = signed_pixels(clip.high_res_keyframes[:2])
    exact = edge_sharpness(truth, truth)
    assert exact["edge_gradient_ratio"] == pytest.approx(1.0)
    assert exact["edge_psnr_db"] > 100
    assert 0 < exact["edge_pixel_fraction"] < 0.2
    blurred = edge_sharpness(upsampled(signed_pixels(clip.keyframes[:2]), 4), truth)
    assert blurred["edge_gradient_ratio"] < 0.9
    assert blurred["edge_psnr_db"] < 30
