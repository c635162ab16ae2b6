"""Stage weights round-trip through float16 safetensors into a model set, and the manifest says
which models are trained and carries the measured latent scaling factor."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from magicvideo_models.contract import validate_manifest
from magicvideo_models.model_folder import as_trained, build_manifest
from magicvideo_models.model_set import ModelSetConfig, build_models
from magicvideo_models.training.trained_weights import (
    load_into_model_set,
    load_trained_weights,
    prefixed,
    save_stage_weights,
)
from magicvideo_models.video_vae import VideoVAE


def _vae_weights(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return VideoVAE(ModelSetConfig.tiny().vae).state_dict()


def test_a_trained_vae_loads_into_both_exported_vae_models_as_float16_rounded_weights(tmp_path: Path) -> None:
    weights = _vae_weights(123)
    save_stage_weights(tmp_path, "vae", weights, {"latent_scaling_factor": 0.75, "steps": 9})
    built = build_models(ModelSetConfig.tiny(), seed=0)
    trained = load_into_model_set(built, load_trained_weights(tmp_path))
    assert trained == ["vae_encoder", "vae_decoder"]
    decoder = next(m for m in built.models if m.name == "vae_decoder").module.vae
    name = "decoder.conv_in.weight"
    assert torch.equal(decoder.state_dict()[name], weights[name].to(torch.float16).to(torch.float32))


def test_an_absent_stage_leaves_its_models_untrained(tmp_path: Path) -> None:
    built = build_models(ModelSetConfig.tiny(), seed=0)
    before = next(m for m in built.models if m.name == "sr_unet").module.state_dict()
    assert load_into_model_set(built, load_trained_weights(tmp_path)) == []
    after = next(m for m in built.models if m.name == "sr_unet").module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    save_stage_weights(tmp_path, "sr", prefixed("unexpected.", {"w": torch.zeros(2)}), {})
    with pytest.raises(RuntimeError, match="Missing key"):
        load_into_model_set(build_models(ModelSetConfig.tiny(), seed=0), load_trained_weights(tmp_path))


def test_manifest_of_a_partly_trained_set_names_its_trained_models_and_measured_scaling(
    tmp_path: Path,
) -> None:
    save_stage_weights(
        tmp_path, "vae", _vae_weights(1), {"latent_scaling_factor": 0.75, "steps": 9, "final_loss": 0.1}
    )
    config = ModelSetConfig.tiny()
    names = [m.name for m in build_models(config, seed=0).models]
    trained = ["vae_encoder", "vae_decoder"]
    manifest = build_manifest(config, 0, 14, names, load_trained_weights(tmp_path), trained)
    assert manifest["latent_scaling_factor"] == 0.75
    assert manifest["training"]["status"] == "partially trained"
    assert manifest["training"]["trained_models"] == trained
    assert set(manifest["training"]["untrained_models"]) == set(names) - set(trained)
    assert manifest["training"]["stages"]["vae"] == {"steps": 9, "final_loss": 0.1}
    assert validate_manifest(manifest) == []
    untrained = build_manifest(config, 0, 14, names)
    assert untrained["training"]["status"] == "untrained"
    assert untrained["latent_scaling_factor"] == config.latent_scaling_factor


def test_a_key_frame_unet_trained_on_repeated_caption_states_gets_a_text_encoder_that_repeats_them(
    tmp_path: Path,
) -> None:
    config = ModelSetConfig.tiny()
    unet = build_models(config, seed=0).models
    state = next(m for m in unet if m.name == "unet").module.state_dict()
    save_stage_weights(tmp_path / "kept", "keyframe_unet", state, {"config": {"lr": 1e-4}})
    save_stage_weights(
        tmp_path / "repeated", "keyframe_unet", state, {"config": {"repeat_caption_states": True}}
    )
    assert not as_trained(config, load_trained_weights(tmp_path / "kept")).text_encoder.repeat_caption_states
    assert not as_trained(config, None).text_encoder.repeat_caption_states
    repeating = as_trained(config, load_trained_weights(tmp_path / "repeated"))
    assert repeating.text_encoder.repeat_caption_states
    assert replace(repeating, text_encoder=config.text_encoder) == config  # nothing else changes
    names = [m.name for m in unet]
    manifest = build_manifest(repeating, 0, 14, names, load_trained_weights(tmp_path / "repeated"), ["unet"])
    assert "repeat the caption's own" in manifest["training"]["text_encoder"]
    assert validate_manifest(manifest) == []
