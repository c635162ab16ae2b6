from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import pytest
import torch
from diffusers import DDIMScheduler

from magicvideo_models.evaluation.interpolation_quality import linear_blend
from magicvideo_models.interp_unet import InterpUNet, InterpUNetConfig, blend, example_inputs
from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig
from magicvideo_models.model_set import CONFIG_NAMES, ModelSetConfig
from magicvideo_models.noise import seeded_gaussian_tensor, stream_id
from magicvideo_models.onnx_export import export_onnx
from magicvideo_models.sampling import INTERP_STREAMS, sample
from magicvideo_models.test_keyframe_unet import randomize_parameters


def _trained(config: InterpUNetConfig) -> InterpUNet:
    torch.manual_seed(0)
    return randomize_parameters(InterpUNet(config)).eval()


def _run(model: InterpUNet, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs)


def test_tiny_forward_gives_three_finite_latent_frames() -> None:
    config = InterpUNetConfig.tiny()
    inputs = example_inputs(config, batch_size=2)
    assert list(inputs) == ["sample", "neighbours", "timestep", "image_embeds"]
    out = _run(_trained(config), inputs)
    assert out.shape == (2, 4, 3, 8, 8)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["neighbours", "image_embeds", "timestep"])
def test_output_follows_the_neighbours_their_embeddings_and_the_timestep(name: str) -> None:
    config = InterpUNetConfig.tiny()
    model = _trained(config)
    inputs = example_inputs(config)
    change = 100.0 if name == "timestep" else torch.randn_like(inputs[name])
    changed = _run(model, {**inputs, name: inputs[name] + change})
    assert (changed - _run(model, inputs)).abs().max() > 1e-3


def test_image_embeddings_of_another_width_are_projected_to_the_cross_attention_width() -> None:
    config = InterpUNetConfig.from_keyframe_config(KeyframeUNetConfig.tiny(), image_embed_dim=96)
    model = InterpUNet(config).eval()
    assert model.image_embeds_proj is not None
    assert _run(model, example_inputs(config)).shape == (1, 4, 3, 8, 8)


def _keyframe_unet_with_independent_frames() -> KeyframeUNet:
    torch.manual_seed(0)
    keyframe = randomize_parameters(KeyframeUNet(KeyframeUNetConfig.tiny())).eval()
    keyframe.reset_video_modules()  # frames independent, so 3 frames can be compared with 16
    return keyframe


def _keyframe_output_on_three_frames(keyframe: KeyframeUNet, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    keyframe_sample = torch.randn(1, 4, 16, 8, 8)
    keyframe_sample[:, :, :3] = inputs["sample"]
    with torch.no_grad():
        out = keyframe(keyframe_sample, inputs["timestep"], inputs["image_embeds"], torch.tensor([8.0]))
    return out[:, :, :3]


def test_without_the_blend_skip_it_starts_as_the_keyframe_unet_on_the_noise_channels() -> None:
    keyframe = _keyframe_unet_with_independent_frames()
    interp = InterpUNet.from_keyframe(keyframe, blend_skip=False).eval()
    inputs = example_inputs(interp.config)
    expected = _keyframe_output_on_three_frames(keyframe, inputs)
    torch.testing.assert_close(_run(interp, inputs), expected, rtol=1e-5, atol=1e-5)


def test_with_the_blend_skip_from_keyframe_zeroes_conv_out_and_copies_everything_else() -> None:
    keyframe = _keyframe_unet_with_independent_frames()
    interp = InterpUNet.from_keyframe(keyframe).eval()
    assert interp.config.blend_skip
    assert not interp.unet.conv_out.weight.any() and not interp.unet.conv_out.bias.any()
    with torch.no_grad():
        interp.unet.conv_out.load_state_dict(keyframe.conv_out.state_dict())
    inputs = example_inputs(interp.config)
    expected = _keyframe_output_on_three_frames(keyframe, inputs)
    with torch.no_grad():
        network_output = interp.network_output(**inputs)
    torch.testing.assert_close(network_output, expected, rtol=1e-5, atol=1e-5)


def test_blend_is_the_evaluations_linear_blend_between_the_neighbours() -> None:
    keyframes = torch.randn(1, 4, 2, 8, 8)
    torch.testing.assert_close(blend(keyframes), linear_blend(keyframes)[:, :, 1:4])


def _zero_correction_model(config: InterpUNetConfig) -> InterpUNet:
    model = _trained(config)
    with torch.no_grad():
        model.unet.conv_out.weight.zero_()
        model.unet.conv_out.bias.zero_()
    return model


@pytest.mark.parametrize("timestep", [0.0, 1.0, 37.0, 260.5, 901.0, 999.0])
def test_with_a_zero_correction_the_implied_x0_is_the_blend(timestep: float) -> None:
    config = InterpUNetConfig.tiny()
    model = _zero_correction_model(config)
    inputs = example_inputs(config, batch_size=2) | {"timestep": torch.full((2,), timestep)}
    epsilon = _run(model, inputs)
    alpha_bar = model.alpha_bar(inputs["timestep"])
    denoised = (inputs["sample"] - (1 - alpha_bar).sqrt() * epsilon) / alpha_bar.sqrt()
    torch.testing.assert_close(denoised, blend(inputs["neighbours"]), rtol=0, atol=2e-5)


def test_alpha_bar_is_the_schedulers_at_integers_linear_between_and_clamped() -> None:
    model = InterpUNet(InterpUNetConfig.tiny())
    table = DDIMScheduler.from_config(asdict(ModelSetConfig.tiny().scheduler)).alphas_cumprod
    ask = torch.tensor([0.0, 1.0, 999.0, 260.25, -3.0, 1200.0])
    expected = torch.stack(
        [table[0], table[1], table[999], 0.75 * table[260] + 0.25 * table[261], table[0], table[999]]
    )
    torch.testing.assert_close(model.alpha_bar(ask).flatten(), expected, rtol=1e-6, atol=0)
    assert torch.equal(model.alpha_bar(torch.tensor([37.0])).flatten(), table[37:38])
    assert "alphas_cumprod" not in model.state_dict()


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_the_alpha_bar_table_is_the_model_sets_scheduler(name: str) -> None:
    model_set = ModelSetConfig.by_name(name)
    assert model_set.interp_unet.blend_skip
    model = InterpUNet(replace(model_set.interp_unet, unet=KeyframeUNetConfig.tiny()))  # the table, cheaply
    table = DDIMScheduler.from_config(asdict(model_set.scheduler)).alphas_cumprod
    assert torch.equal(model.alphas_cumprod, table)


@pytest.mark.parametrize("set_alpha_to_one", [False, True])
def test_ddim_with_a_zero_correction_samples_the_blend(
    set_alpha_to_one: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the runtime's interpolation stage samples (evaluation/onnx_pipeline.py `interpolate`).
    model_set = ModelSetConfig.tiny()
    model = _zero_correction_model(model_set.interp_unet)
    inputs = example_inputs(model.config, batch_size=2)
    scheduler_config = asdict(model_set.scheduler) | {"set_alpha_to_one": set_alpha_to_one}
    steps = model_set.defaults.interp_num_inference_steps
    x0_estimates: list[torch.Tensor] = []
    original_step = DDIMScheduler.step

    def recording_step(self, *args, **kwargs):
        result = original_step(self, *args, **kwargs)
        x0_estimates.append(result.pred_original_sample)
        return result

    monkeypatch.setattr(DDIMScheduler, "step", recording_step)
    middle = sample(
        model,
        {"image_embeds": inputs["image_embeds"]},
        sampler="ddim",
        steps=steps,
        guidance_scale=1.0,
        seed=3,
        shape=inputs["sample"].shape,
        scheduler_config=scheduler_config,
        shared={"neighbours": inputs["neighbours"]},
        streams=INTERP_STREAMS,
    )
    expected = blend(inputs["neighbours"])
    assert len(x0_estimates) == steps
    for x0 in x0_estimates:  # every step's x̂0 is the blend
        torch.testing.assert_close(x0, expected, rtol=0, atol=1e-5)
    if set_alpha_to_one:
        torch.testing.assert_close(middle, expected, rtol=0, atol=1e-5)
        return
    # Stable Diffusion's DDIM (set_alpha_to_one false, the model set's) ends at ᾱ_0 = 0.99915, not
    # 1: with x̂0 fixed, ε̂ stays the first step's, and the last step keeps √(1 − ᾱ_0) ≈ 0.029 of it.
    scheduler = DDIMScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(steps)
    alpha_bar_first = scheduler.alphas_cumprod[int(scheduler.timesteps[0])]
    alpha_bar_last = scheduler.alphas_cumprod[0]
    initial = seeded_gaussian_tensor(3, stream_id(INTERP_STREAMS.initial, 0), tuple(inputs["sample"].shape))
    epsilon = (initial - alpha_bar_first.sqrt() * expected) / (1 - alpha_bar_first).sqrt()
    torch.testing.assert_close(
        middle, alpha_bar_last.sqrt() * expected + (1 - alpha_bar_last).sqrt() * epsilon, rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("blend_skip", [True, False])
def test_exports_to_onnx_and_onnxruntime_matches_pytorch_at_two_batch_sizes(
    tmp_path: Path, blend_skip: bool
) -> None:
    # The shipping exporter, with every temporal and FPS weight non-zero (not the zero init).
    config = replace(InterpUNetConfig.tiny(), blend_skip=blend_skip)
    report = export_onnx(
        "interp_unet",
        _trained(config),
        partial(example_inputs, config),
        tmp_path / "model.onnx",
        float16_weights=True,
    )
    assert [check.label for check in report.parity][:2] == ["batch 1", "batch 2"]
    assert report.worst_relative_error <= 1e-4


def test_with_the_blend_skip_the_interpolation_schedule_ends_at_alpha_one_and_the_key_frames_does_not():
    from dataclasses import replace as replaced

    from magicvideo_models.model_folder import interp_scheduler
    from magicvideo_models.model_set import ModelSetConfig

    config = ModelSetConfig.tiny()
    assert config.interp_unet.blend_skip and interp_scheduler(config).set_alpha_to_one
    assert not config.scheduler.set_alpha_to_one  # the key-frame U-Net keeps Stable Diffusion's
    without = replaced(config, interp_unet=replaced(config.interp_unet, blend_skip=False))
    assert interp_scheduler(without) == config.scheduler
