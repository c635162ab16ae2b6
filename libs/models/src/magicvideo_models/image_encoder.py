"""The image encoder: transformers' CLIP vision transformer with its projection (DESIGN.md §5).

pixel_values [B, 3, S, S] → image_embeds [B, E]. Its embeddings condition the key-frame U-Net's
unsupervised pre-training (paper §3.1.3: frame embeddings as proxies of the text) and the
interpolation U-Net's cross-attention to the two neighbouring key frames (§3.2).

Pixels are normalised the CLIP way before the model: x in [0, 1], (x - IMAGE_MEAN) / IMAGE_STD per
channel. The exporter writes IMAGE_MEAN and IMAGE_STD into the manifest (`image_encoder.image_mean`,
`image_std`) and the serving runtime normalises with them; `pixel_values_from_frames` is the same
step for decoded frames in PyTorch.

`base` is OpenAI CLIP ViT-L/14 at 224 (projection 768), so its weights load into
`ImageEncoder.clip` by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

# OpenAI CLIP's preprocessing statistics (RGB, pixels in [0, 1]).
IMAGE_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
IMAGE_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageEncoderConfig:
    image_size: int = 64  # S
    patch_size: int = 8
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 512
    projection_dim: int = 128  # E
    hidden_act: str = "quick_gelu"  # CLIP's

    @classmethod
    def tiny(cls) -> ImageEncoderConfig:
        return cls()

    @classmethod
    def small(cls) -> ImageEncoderConfig:
        return cls(
            image_size=128,
            patch_size=16,
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=1024,
            projection_dim=256,
        )

    @classmethod
    def base(cls) -> ImageEncoderConfig:
        """CLIP ViT-L/14 at 224 pixels."""
        return cls(
            image_size=224,
            patch_size=14,
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            projection_dim=768,
        )

    @property
    def embed_dim(self) -> int:
        return self.projection_dim

    def to_clip_config(self) -> CLIPVisionConfig:
        config = CLIPVisionConfig(
            image_size=self.image_size,
            patch_size=self.patch_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            projection_dim=self.projection_dim,
            hidden_act=self.hidden_act,
        )
        config._attn_implementation = "sdpa"
        return config


class ImageEncoder(nn.Module):
    """pixel_values [B, 3, S, S] (CLIP-normalised) → image_embeds [B, E]. The CLIP model is `.clip`."""

    def __init__(self, config: ImageEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.clip = CLIPVisionModelWithProjection(config.to_clip_config())

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.clip(pixel_values=pixel_values).image_embeds


def pixel_values_from_frames(frames: torch.Tensor, image_size: int) -> torch.Tensor:
    """Decoded frames [N, 3, H, W] in [-1, 1] → CLIP pixel_values [N, 3, S, S]."""
    pixels = (frames.clamp(-1, 1) + 1) / 2
    if pixels.shape[-2:] != (image_size, image_size):
        pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bicubic", antialias=True)
    mean = torch.tensor(IMAGE_MEAN, dtype=pixels.dtype, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD, dtype=pixels.dtype, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


def example_inputs(config: ImageEncoderConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """Normalised pixels of smooth random images."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(batch_size, 3, 4, 4, generator=generator) * 2 - 1
    frames = F.interpolate(coarse, size=(config.image_size, config.image_size), mode="bilinear")
    return {"pixel_values": pixel_values_from_frames(frames, config.image_size)}
