"""Smoke runs of the VAE training: both phases train what they should, resume exactly, and the
run writes weights, metrics and the measured latent scaling factor."""

from pathlib import Path

import pytest
import torch

from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.training.train_vae import (
    TEMPORAL_PREFIX,
    VaeTrainingConfig,
    flicker,
    make_optimizer,
    train,
)
from magicvideo_models.training.trained_weights import load_trained_weights
from magicvideo_models.video_vae import VideoVAE


def _config(tmp_path: Path, name: str, temporal_steps: int) -> VaeTrainingConfig:
    return VaeTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        autoencoder_steps=2,
        temporal_steps=temporal_steps,
        clips_per_step=2,
        frames_per_clip=1,
        sequences_per_step=1,
        sequence_frames=4,
        warmup_steps=10,
        threads=1,
        log_every=1,
        eval_clips=1,
        scaling_clips=1,
        quiet=True,
    )


def test_resumed_run_gives_the_same_next_loss_as_an_uninterrupted_run_across_the_phase_change(
    tmp_path: Path,
) -> None:
    uninterrupted = train(_config(tmp_path, "whole", temporal_steps=2))
    train(_config(tmp_path, "split", temporal_steps=1))  # stops after the first temporal step
    resumed = train(_config(tmp_path, "split", temporal_steps=2))
    assert list(resumed["losses"]) == [4]
    assert resumed["losses"][4] == pytest.approx(uninterrupted["losses"][4], rel=1e-5)
    summary = load_trained_weights(tmp_path / "split" / "weights").summaries["vae"]
    assert summary["latent_scaling_factor"] > 0
    assert set(summary["decoders_on_val_clips"]) >= {"exact_latents/per_frame", "noisy_latents/video_vae"}


def test_the_temporal_phase_trains_only_the_temporal_layers_and_the_first_phase_everything_else() -> None:
    vae = VideoVAE(ModelSetConfig.tiny().vae)
    config = VaeTrainingConfig()
    temporal = {id(p) for n, p in vae.named_parameters() if n.startswith(TEMPORAL_PREFIX)}
    autoencoder = make_optimizer(vae, "autoencoder", config).param_groups[0]["params"]
    assert temporal and not temporal & {id(p) for p in autoencoder}
    assert len(autoencoder) + len(temporal) == len(list(vae.parameters()))
    temporal_only = make_optimizer(vae, "temporal", config).param_groups[0]["params"]
    assert {id(p) for p in temporal_only} == temporal
    assert [
        n for n, p in vae.named_parameters() if p.requires_grad and not n.startswith(TEMPORAL_PREFIX)
    ] == []


def test_flicker_is_zero_for_a_constant_offset_and_counts_changes_that_the_truth_lacks() -> None:
    truth = torch.zeros(1, 3, 4, 2, 2)
    assert flicker(truth + 0.1, truth) == pytest.approx(0.0)
    dithering = truth.clone()
    dithering[:, :, 1::2] = 2 / 127.5  # two 8-bit levels up on every other frame
    assert flicker(dithering, truth) == pytest.approx(2.0, rel=1e-5)
