from functools import partial
from pathlib import Path

import pytest
import torch

from magicvideo_models.interp_unet import InterpUNet, InterpUNetConfig, example_inputs
from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig
from magicvideo_models.onnx_export import export_onnx
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


def test_starts_as_the_keyframe_unet_on_the_noise_channels() -> None:
    keyframe_config = KeyframeUNetConfig.tiny()
    torch.manual_seed(0)
    keyframe = randomize_parameters(KeyframeUNet(keyframe_config)).eval()
    keyframe.reset_video_modules()  # frames independent, so 3 frames can be compared with 16
    interp = InterpUNet.from_keyframe(keyframe).eval()
    inputs = example_inputs(interp.config)
    keyframe_sample = torch.randn(1, 4, 16, 8, 8)
    keyframe_sample[:, :, :3] = inputs["sample"]
    with torch.no_grad():
        expected = keyframe(keyframe_sample, inputs["timestep"], inputs["image_embeds"], torch.tensor([8.0]))
    torch.testing.assert_close(_run(interp, inputs), expected[:, :, :3], rtol=1e-5, atol=1e-5)


def test_from_keyframe_averages_each_adaptor_over_the_key_frames() -> None:
    torch.manual_seed(0)
    keyframe = randomize_parameters(KeyframeUNet(KeyframeUNetConfig.tiny()))
    interp = InterpUNet.from_keyframe(keyframe)
    source = keyframe.down_blocks[1].adaptors[0].scale
    target = interp.unet.down_blocks[1].adaptors[0].scale
    assert target.shape == (3, source.shape[1])
    torch.testing.assert_close(target, source.mean(dim=0, keepdim=True).expand(3, -1))


def test_exports_to_onnx_and_onnxruntime_matches_pytorch_at_two_batch_sizes(tmp_path: Path) -> None:
    # The shipping exporter, with every temporal and FPS weight non-zero (not the zero init).
    config = InterpUNetConfig.tiny()
    report = export_onnx(
        "interp_unet", _trained(config), partial(example_inputs, config), tmp_path / "model.onnx"
    )
    assert [check.label for check in report.parity][:2] == ["batch 1", "batch 2"]
    assert report.worst_relative_error <= 1e-4
