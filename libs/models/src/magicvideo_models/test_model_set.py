"""Model-set configs agree with each other, and their models build from a seed."""

from __future__ import annotations

import pytest
import torch

from .model_set import (
    CONFIG_NAMES,
    ModelSetConfig,
    SchedulerConfig,
    UnknownConfigError,
    build_models,
    model_seed,
)

CONTRACT_ORDER = [
    "text_encoder",
    "image_encoder",
    "unet",
    "interp_unet",
    "vae_encoder",
    "vae_decoder",
    "sr_unet",
]


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_every_config_agrees_on_the_shared_dimensions(name: str) -> None:
    config = ModelSetConfig.by_name(name)
    assert config.name == name
    assert config.keyframe_unet.frames == config.frames == 16
    assert config.keyframe_unet.sample_size == config.latent_size == config.sample_size // 8
    assert config.keyframe_unet.in_channels == config.latent_channels
    assert config.keyframe_unet.cross_attention_dim == config.text_encoder.hidden_size
    assert config.text_encoder.max_position_embeddings == config.text_max_length == 77
    assert config.interp_unet.image_embed_dim == config.image_encoder.embed_dim
    assert config.interp_unet.latent_channels == config.latent_channels
    assert config.vae.sample_size == config.sample_size
    assert config.vae.vae_scale_factor == config.vae_scale_factor
    assert config.vae.latent_channels == config.latent_channels
    assert config.interp_frames == 61
    assert config.sr_size == 4 * config.sample_size


def test_the_paper_scale_uses_stable_diffusions_latent_scaling() -> None:
    assert ModelSetConfig.base().latent_scaling_factor == 0.18215
    assert ModelSetConfig.tiny().latent_scaling_factor == 1.0  # untrained: measured by training


def test_key_frame_schedule_is_stable_diffusions_and_sr_is_linear_v_prediction() -> None:
    config = ModelSetConfig.tiny()
    assert config.scheduler == SchedulerConfig(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="epsilon",
        timestep_spacing="leading",
        steps_offset=1,
        clip_sample=False,
        set_alpha_to_one=False,
    )
    assert (
        config.sr_scheduler.beta_schedule,
        config.sr_scheduler.beta_start,
        config.sr_scheduler.beta_end,
    ) == (
        "linear",
        0.0001,
        0.02,
    )
    assert config.sr_scheduler.prediction_type == "v_prediction"
    assert config.sr_scheduler.timestep_spacing == "trailing"
    assert config.fps.min <= config.fps.default <= config.fps.max


def test_unknown_config_names_are_refused_by_name() -> None:
    with pytest.raises(UnknownConfigError, match="'huge'.*tiny, small, base"):
        ModelSetConfig.by_name("huge")


def test_same_seed_builds_the_same_weights_and_each_model_its_own() -> None:
    first = build_models(ModelSetConfig.tiny(), seed=3)
    second = build_models(ModelSetConfig.tiny(), seed=3)
    assert [m.name for m in first.models] == CONTRACT_ORDER
    for a, b in zip(first.models, second.models, strict=True):
        for (name, x), (_, y) in zip(
            a.module.state_dict().items(), b.module.state_dict().items(), strict=True
        ):
            assert torch.equal(x, y), f"{a.name}.{name}"
    other = build_models(ModelSetConfig.tiny(), seed=4)
    unet_weights = dict(first.models[2].module.named_parameters())["conv_in.weight"]
    assert not torch.equal(unet_weights, dict(other.models[2].module.named_parameters())["conv_in.weight"])
    assert model_seed(0, "unet") != model_seed(0, "interp_unet")


def test_small_models_build_and_run_on_their_example_inputs() -> None:
    built = build_models(ModelSetConfig.small(), seed=0)
    assert built.decoder_context_frames >= 0
    for model in built.models:
        inputs = model.inputs_for_batch(1)
        with torch.no_grad():
            output = model.module(*inputs.values())
        assert torch.isfinite(output).all(), model.name


def test_base_models_build_on_the_meta_device() -> None:
    with torch.device("meta"):
        built = build_models(ModelSetConfig.base())
    unet = built.models[CONTRACT_ORDER.index("unet")].module
    # Stable Diffusion 1.x's U-Net has 859.5M parameters; the paper's video layers add to it.
    assert sum(p.numel() for p in unet.parameters()) > 859_000_000
