"""Inflate a 2D latent diffusion U-Net into the key-frame 3D U-Net (paper §4: "We use the weights of
LDM pre-trained on Laion 5B to initialize our video 3D U-net").

The key-frame U-Net keeps diffusers' ``UNet2DConditionModel`` parameter names, so a Stable
Diffusion 1.x U-Net state dict loads by name. The modules the paper adds are set to their
inflation point: adaptors the identity (S = 1, B = 0), temporal attention and FPS embedding with
zero output projections. The inflated video U-Net then computes exactly the 2D U-Net on every
frame, and training starts from the image model.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig


@dataclass(frozen=True)
class InflationReport:
    """``missing_keys``: parameters the 2D state dict did not have (the video modules);
    ``unexpected_keys``: 2D parameters the video U-Net has no place for (none for a matching config).
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def inflate_unet2d_state_dict(
    unet2d_state_dict: dict[str, torch.Tensor], keyframe_unet: KeyframeUNet
) -> InflationReport:
    """Load a diffusers ``UNet2DConditionModel`` state dict by name and reset the video modules.

    Raises ``ValueError`` when a 2D parameter of the video U-Net is missing from the state dict or
    the state dict has parameters the video U-Net lacks (a config mismatch); a shape mismatch
    raises from ``load_state_dict``.
    """
    result = keyframe_unet.load_state_dict(unet2d_state_dict, strict=False)
    video_parameter_ids = {id(p) for module in keyframe_unet.video_modules() for p in module.parameters()}
    video_parameter_names = {
        name for name, parameter in keyframe_unet.named_parameters() if id(parameter) in video_parameter_ids
    }
    missing_2d = [key for key in result.missing_keys if key not in video_parameter_names]
    if missing_2d or result.unexpected_keys:
        raise ValueError(
            "the 2D U-Net does not match the key-frame U-Net's config: "
            f"missing {missing_2d[:10]} ({len(missing_2d)} in all), "
            f"unexpected {result.unexpected_keys[:10]} ({len(result.unexpected_keys)} in all)"
        )
    keyframe_unet.reset_video_modules()
    return InflationReport(list(result.missing_keys), list(result.unexpected_keys))


def inflate_from_diffusers_folder(path: str | Path, **video: Any) -> tuple[KeyframeUNet, InflationReport]:
    """Build and inflate a key-frame U-Net from a diffusers Stable Diffusion 1.x folder.

    ``path`` is the pipeline folder (with ``unet/config.json`` and
    ``unet/diffusion_pytorch_model.safetensors``) or that ``unet`` folder itself. ``video`` sets
    the video config fields (frames, use_adaptor, temporal_mask, ...).
    """
    folder = Path(path)
    if not (folder / "config.json").is_file() and (folder / "unet" / "config.json").is_file():
        folder = folder / "unet"
    config_path = folder / "config.json"
    weights_path = folder / "diffusion_pytorch_model.safetensors"
    for required in (config_path, weights_path):
        if not required.is_file():
            raise FileNotFoundError(f"not a diffusers UNet2DConditionModel folder: {required} is missing")
    unet2d_config = json.loads(config_path.read_text())
    config = KeyframeUNetConfig.from_diffusers_config(unet2d_config, **video)
    keyframe_unet = KeyframeUNet(config)
    report = inflate_unet2d_state_dict(load_file(weights_path), keyframe_unet)
    return keyframe_unet, report
