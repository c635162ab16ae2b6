"""Smoke runs of the VAE training: both phases train what they should, resume exactly, and the
run writes weights, metrics and the measured latent scaling factor."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.training.test_stop_request import StopAfter
from magicvideo_models.training.train_vae import (
    TEMPORAL_PREFIX,
    VaeTrainingConfig,
    flicker,
    make_optimizer,
    train,
)
from magicvideo_models.training.trained_weights import load_trained_weights, read_weights_snapshot
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


def test_a_stopped_then_resumed_run_gives_the_same_next_loss_as_an_uninterrupted_run_across_the_phase_change(
    tmp_path: Path,
) -> None:
    uninterrupted = train(_config(tmp_path, "whole", temporal_steps=2))
    stopped = train(_config(tmp_path, "split", temporal_steps=1), StopAfter(1))  # as SIGTERM after step 1
    assert (stopped["steps"], stopped["finished"]) == (1, False)
    assert not (tmp_path / "split" / "weights").exists()
    train(_config(tmp_path, "split", temporal_steps=1))  # ends after the first temporal step
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


def test_the_decoder_phase_trains_everything_that_decodes_and_nothing_that_encodes() -> None:
    vae = VideoVAE(ModelSetConfig.tiny().vae)
    trained = {id(p) for p in make_optimizer(vae, "decoder", VaeTrainingConfig()).param_groups[0]["params"]}
    for name, parameter in vae.named_parameters():
        decodes = name.startswith(("decoder.", "post_quant_conv."))
        assert (id(parameter) in trained) == decodes, name
    assert any(n.startswith(TEMPORAL_PREFIX) for n, p in vae.named_parameters() if id(p) in trained)


def _decoder_config(tmp_path: Path, name: str, init_from: Path, decoder_steps: int) -> VaeTrainingConfig:
    return replace(
        _config(tmp_path, name, temporal_steps=1),
        init_from=str(init_from),
        decoder_steps=decoder_steps,
        edge_weight=1.0,
    )


def test_a_decoder_fine_tune_from_a_snapshot_keeps_the_latent_space_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    train(_config(tmp_path, "base", temporal_steps=1))
    snapshot = tmp_path / "base" / "weights" / "vae.safetensors"
    before, base_summary = read_weights_snapshot(snapshot)

    whole = train(_decoder_config(tmp_path, "whole", snapshot, decoder_steps=2))
    assert list(whole["losses"]) == [4, 5]  # steps 3 … 4 of the snapshot's 3 + 2
    train(_decoder_config(tmp_path, "split", snapshot, decoder_steps=1))
    resumed = train(_decoder_config(tmp_path, "split", snapshot, decoder_steps=2))
    assert list(resumed["losses"]) == [5]
    assert resumed["losses"][5] == pytest.approx(whole["losses"][5], rel=1e-5)

    after, summary = read_weights_snapshot(tmp_path / "whole" / "weights" / "vae.safetensors")
    encodes = [n for n in before if n.startswith(("encoder.", "quant_conv."))]
    decodes = [n for n in before if n.startswith(("decoder.", "post_quant_conv."))]
    assert encodes and all(torch.equal(before[n], after[n]) for n in encodes)
    assert any(not torch.equal(before[n], after[n]) for n in decodes)
    assert summary["latent_scaling_factor"] == base_summary["latent_scaling_factor"]
    assert summary["decoder_steps"] == 2 and summary["steps"] == 5
    assert summary["earlier_run"]["config"] == base_summary["config"]  # how phases 1 and 2 were made
    assert summary["earlier_run"]["train_seconds"] == base_summary["train_seconds"]
    assert set(summary["judge_on_val_reconstructions"]) == {"shape", "all_three"}


def test_a_snapshot_from_other_phase_lengths_is_refused_with_the_flags_that_fit_it(tmp_path: Path) -> None:
    train(_config(tmp_path, "base", temporal_steps=1))
    snapshot = tmp_path / "base" / "weights" / "vae.safetensors"
    config = replace(_decoder_config(tmp_path, "other", snapshot, decoder_steps=1), temporal_steps=2)
    with pytest.raises(ValueError, match="--autoencoder-steps 2 --temporal-steps 1"):
        train(config)
