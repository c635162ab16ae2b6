from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel

from magicvideo_models.inflate import inflate_from_diffusers_folder, inflate_unet2d_state_dict
from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig
from magicvideo_models.test_keyframe_unet import randomize_parameters

FRAMES = 4


def _small_stable_diffusion_unet() -> UNet2DConditionModel:
    """SD 1.x's layout (attention at the upper levels, a plain lowest level) at toy width."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=2,
        cross_attention_dim=24,
        attention_head_dim=4,
        norm_num_groups=16,
    )
    return randomize_parameters(unet, seed=1).eval()


def test_inflated_unet_equals_the_2d_unet_on_every_frame(tmp_path: Path) -> None:
    unet2d = _small_stable_diffusion_unet()
    unet2d.save_pretrained(tmp_path / "unet")
    keyframe_unet, report = inflate_from_diffusers_folder(tmp_path, frames=FRAMES)
    assert report.unexpected_keys == []
    assert report.missing_keys  # the adaptors, temporal attentions and FPS embedding
    assert all(
        ".adaptors." in key or ".temporal_attentions." in key or key.startswith("fps_embedding.")
        for key in report.missing_keys
    )

    torch.manual_seed(2)
    sample = torch.randn(2, 4, FRAMES, 8, 8)
    timestep = torch.tensor([10.0, 700.0])
    text = torch.randn(2, 77, 24)
    with torch.no_grad():
        video = keyframe_unet.eval()(sample, timestep, text, fps=torch.tensor([8.0, 24.0]))
        for frame in range(FRAMES):
            image = unet2d(sample[:, :, frame], timestep, text).sample
            error = (video[:, :, frame] - image).norm() / image.norm()
            assert error <= 1e-5, f"frame {frame}: relative error {error}"


def test_inflation_resets_video_modules_that_had_been_trained() -> None:
    unet2d = _small_stable_diffusion_unet()
    config = KeyframeUNetConfig.from_diffusers_config(dict(unet2d.config), frames=FRAMES)
    keyframe_unet = randomize_parameters(KeyframeUNet(config), seed=3)
    inflate_unet2d_state_dict(unet2d.state_dict(), keyframe_unet)
    for name, parameter in keyframe_unet.named_parameters():
        if name.endswith(("temporal_attentions.0.to_out.weight", "fps_embedding.mlp.linear_2.weight")):
            assert torch.count_nonzero(parameter) == 0, name
        if name.endswith("adaptors.0.scale"):
            assert torch.all(parameter == 1.0), name


def test_a_2d_unet_of_another_config_is_refused() -> None:
    unet2d = _small_stable_diffusion_unet()
    other = KeyframeUNet(KeyframeUNetConfig.tiny())
    with pytest.raises((ValueError, RuntimeError)):
        inflate_unet2d_state_dict(unet2d.state_dict(), other)


def test_a_folder_without_a_unet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        inflate_from_diffusers_folder(tmp_path)
