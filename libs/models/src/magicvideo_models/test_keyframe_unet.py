from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from magicvideo_models.adaptor import FrameAdaptor
from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig, example_inputs
from magicvideo_models.onnx_export import export_onnx


def randomize_parameters(model: nn.Module, seed: int = 0, std: float = 0.05) -> nn.Module:
    """Stand-in for trained weights: every parameter, the zero-initialised ones included, moves."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(std * torch.randn(parameter.shape, generator=generator))
    return model


def _trained(config: KeyframeUNetConfig, seed: int = 0) -> KeyframeUNet:
    torch.manual_seed(seed)
    return randomize_parameters(KeyframeUNet(config), seed).eval()


def _run(model: KeyframeUNet, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs)


def _max_change(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def test_tiny_forward_keeps_the_latent_video_shape_and_is_finite() -> None:
    config = KeyframeUNetConfig.tiny()
    model = _trained(config)
    inputs = example_inputs(config, batch_size=2)
    out = _run(model, inputs)
    assert out.shape == (2, 4, 16, 8, 8)
    assert torch.isfinite(out).all()


def test_example_inputs_follow_the_contract_names_and_ranges() -> None:
    inputs = example_inputs(KeyframeUNetConfig.tiny(), batch_size=3)
    assert list(inputs) == ["sample", "timestep", "encoder_hidden_states", "fps"]
    assert inputs["encoder_hidden_states"].shape == (3, 77, 128)
    assert inputs["timestep"].dtype == torch.float32
    assert ((inputs["timestep"] >= 0) & (inputs["timestep"] < 1000)).all()
    assert ((inputs["fps"] >= 2) & (inputs["fps"] <= 30)).all()


def _with_frame_changed(inputs: dict[str, torch.Tensor], frame: int) -> dict[str, torch.Tensor]:
    sample = inputs["sample"].clone()
    sample[:, :, frame] = torch.randn_like(sample[:, :, frame])
    return {**inputs, "sample": sample}


def test_directed_unet_output_frames_never_depend_on_later_input_frames() -> None:
    config = KeyframeUNetConfig.tiny()
    model = _trained(config)
    inputs = example_inputs(config)
    before = _run(model, inputs)
    for frame in (1, 8, 15):
        after = _run(model, _with_frame_changed(inputs, frame))
        torch.testing.assert_close(after[:, :, :frame], before[:, :, :frame], rtol=0, atol=1e-6)
        assert _max_change(after[:, :, frame], before[:, :, frame]) > 1e-3


def test_bidirectional_unet_lets_earlier_frames_see_later_ones() -> None:
    config = replace(KeyframeUNetConfig.tiny(), temporal_mask="bidirectional")
    model = _trained(config)
    inputs = example_inputs(config)
    after = _run(model, _with_frame_changed(inputs, 15))
    assert _max_change(after[:, :, 0], _run(model, inputs)[:, :, 0]) > 1e-3


@pytest.mark.parametrize("name", ["encoder_hidden_states", "timestep"])
def test_output_follows_the_conditioning(name: str) -> None:
    config = KeyframeUNetConfig.tiny()
    model = _trained(config)
    inputs = example_inputs(config)
    change = 100.0 if name == "timestep" else torch.randn_like(inputs[name])
    changed = {**inputs, name: inputs[name] + change}
    assert _max_change(_run(model, changed), _run(model, inputs)) > 1e-3


@pytest.mark.parametrize("use_fps_embedding", [True, False])
def test_fps_changes_the_output_only_with_the_fps_embedding(use_fps_embedding: bool) -> None:
    config = replace(KeyframeUNetConfig.tiny(), use_fps_embedding=use_fps_embedding)
    model = _trained(config)
    inputs = example_inputs(config)
    faster = _run(model, {**inputs, "fps": inputs["fps"] * 2})
    change = _max_change(faster, _run(model, inputs))
    assert change > 1e-3 if use_fps_embedding else change == 0.0


def test_adaptor_rescales_its_own_frame_and_is_absent_when_switched_off() -> None:
    config = KeyframeUNetConfig.tiny()
    model = KeyframeUNet(config).eval()
    inputs = example_inputs(config)
    before = _run(model, inputs)
    first_adaptor = model.down_blocks[0].adaptors[0]
    with torch.no_grad():
        first_adaptor.scale[5] = 2.0  # S_5 of eq. 1 on the first ResNet's output
    after = _run(model, inputs)
    # untrained temporal attention is zero: only frame 5 moves
    assert _max_change(after[:, :, 5], before[:, :, 5]) > 1e-3
    torch.testing.assert_close(after[:, :, :5], before[:, :, :5], rtol=0, atol=0)
    torch.testing.assert_close(after[:, :, 6:], before[:, :, 6:], rtol=0, atol=0)
    without = KeyframeUNet(replace(config, use_adaptor=False))
    assert not any(isinstance(module, FrameAdaptor) for module in without.modules())


def test_parallel_and_sequential_st_attention_differ_with_the_same_weights() -> None:
    config = KeyframeUNetConfig.tiny()
    parallel = _trained(config)
    sequential = KeyframeUNet(replace(config, st_attention="sequential")).eval()
    sequential.load_state_dict(parallel.state_dict())
    inputs = example_inputs(config)
    assert _max_change(_run(parallel, inputs), _run(sequential, inputs)) > 1e-3


def test_reset_video_modules_makes_every_frame_a_separate_image() -> None:
    config = KeyframeUNetConfig.tiny()
    model = _trained(config)
    model.reset_video_modules()
    inputs = example_inputs(config)
    after = _run(model, _with_frame_changed(inputs, 3))
    before = _run(model, inputs)
    unchanged = [f for f in range(16) if f != 3]
    torch.testing.assert_close(after[:, :, unchanged], before[:, :, unchanged], rtol=0, atol=1e-6)


def test_a_wrong_frame_count_is_refused() -> None:
    config = KeyframeUNetConfig.tiny()
    inputs = example_inputs(config)
    with pytest.raises(ValueError, match="expected 16 frames"):
        KeyframeUNet(config)(**{**inputs, "sample": inputs["sample"][:, :, :8]})


def test_small_has_about_four_times_tiny_parameters() -> None:
    tiny = sum(p.numel() for p in KeyframeUNet(KeyframeUNetConfig.tiny()).parameters())
    small = sum(p.numel() for p in KeyframeUNet(KeyframeUNetConfig.small()).parameters())
    assert 2_000_000 <= tiny <= 5_000_000
    assert 3.0 <= small / tiny <= 5.0


def test_base_builds_with_stable_diffusion_names_and_size() -> None:
    with torch.device("meta"):
        model = KeyframeUNet(KeyframeUNetConfig.base())
    names = set(model.state_dict())
    assert "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight" in names
    assert "mid_block.resnets.1.conv2.weight" in names
    assert "up_blocks.3.temporal_attentions.2.to_out.weight" in names
    spatial = sum(p.numel() for n, p in model.named_parameters() if ".temporal_attentions." not in n)
    assert 859_000_000 < spatial < 870_000_000  # SD 1.x U-Net: 859.5M, plus adaptors and FPS


def test_config_round_trips_through_a_diffusers_config() -> None:
    config = KeyframeUNetConfig.base()
    as_json = config.to_diffusers_config().items()
    diffusers_config = {key: list(v) if isinstance(v, tuple) else v for key, v in as_json}
    assert KeyframeUNetConfig.from_diffusers_config(diffusers_config) == config
    with pytest.raises(ValueError, match="class_embed_type"):
        KeyframeUNetConfig.from_diffusers_config({**diffusers_config, "class_embed_type": "timestep"})


def test_exports_to_onnx_and_onnxruntime_matches_pytorch_at_two_batch_sizes(tmp_path: Path) -> None:
    # The shipping exporter, with every temporal and FPS weight non-zero (not the zero init).
    config = KeyframeUNetConfig.tiny()
    report = export_onnx("unet", _trained(config), partial(example_inputs, config), tmp_path / "model.onnx")
    assert [check.label for check in report.parity][:2] == ["batch 1", "batch 2"]
    assert report.worst_relative_error <= 1e-4
