"""The frame interpolation U-Net of MagicVideo (paper §3.2).

Between two adjacent key frames it denoises 3 new latent frames: "the generation of the
interpolated frame features z is conditioned on the adjacent two frames. The conditioning
embeddings of the adjacent frames are extracted by CLIP's vision encoder and injected into the
cross-attention layers. Besides, we also concatenate the adjacent two frames' latent embeddings
to the randomly sampled noise as input to the interpolation model. We initialize the
interpolation U-Net with the key frame generation model."

How we read it:
- "the key frame design": the interpolation U-Net *is* a ``KeyframeUNet`` (adaptor, directed
  ST-Attn, all switchable the same way) with F = 3 and no FPS embedding (the frame rate of three
  in-between frames is fixed by the key frames' own);
- "concatenate ... to the noise": along channels, per frame, as Stable Diffusion's inpainting and
  upscaling U-Nets concatenate their conditioning latents: frame i's input is
  [noise_i, previous key frame, next key frame], 3·C channels;
- "injected into the cross-attention layers": the two neighbours' image embeddings [B, 2, E] are
  the cross-attention context (2 tokens in place of 77 text tokens), linearly projected to the
  U-Net's cross-attention width when E differs from it;
- "initialize with the key frame model": ``InterpUNet.from_keyframe`` copies every key-frame weight;
  ``conv_in`` is widened with zeros for the neighbour channels, so it starts as the key-frame model
  on the noise channels.
"""

from dataclasses import dataclass, replace

import torch
from torch import nn

from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig

INTERPOLATED_FRAMES = 3
NEIGHBOURS = 2


@dataclass(frozen=True)
class InterpUNetConfig:
    """``unet``: the key-frame U-Net config it is built from (F = 3, 3·C input channels, no FPS);
    ``image_embed_dim``: E of the image encoder's embeddings."""

    unet: KeyframeUNetConfig
    latent_channels: int = 4
    image_embed_dim: int = 128

    @classmethod
    def from_keyframe_config(
        cls, keyframe: KeyframeUNetConfig, image_embed_dim: int | None = None
    ) -> "InterpUNetConfig":
        unet = replace(
            keyframe,
            frames=INTERPOLATED_FRAMES,
            in_channels=keyframe.in_channels * (1 + NEIGHBOURS),
            use_fps_embedding=False,
        )
        embed_dim = keyframe.cross_attention_dim if image_embed_dim is None else image_embed_dim
        return cls(unet=unet, latent_channels=keyframe.in_channels, image_embed_dim=embed_dim)

    @classmethod
    def tiny(cls) -> "InterpUNetConfig":
        return cls.from_keyframe_config(KeyframeUNetConfig.tiny(), image_embed_dim=128)

    @classmethod
    def small(cls) -> "InterpUNetConfig":
        return cls.from_keyframe_config(KeyframeUNetConfig.small(), image_embed_dim=256)

    @classmethod
    def base(cls) -> "InterpUNetConfig":
        return cls.from_keyframe_config(KeyframeUNetConfig.base(), image_embed_dim=768)


class InterpUNet(nn.Module):
    """forward(sample [B,C,3,h,w], neighbours [B,C,2,h,w], timestep [B], image_embeds [B,2,E]) → [B,C,3,h,w].

    ``neighbours[:, :, 0]`` is the earlier key frame, ``neighbours[:, :, 1]`` the later one, and
    ``image_embeds`` are their image embeddings in the same order.
    """

    def __init__(self, config: InterpUNetConfig) -> None:
        super().__init__()
        self.config = config
        self.unet = KeyframeUNet(config.unet)
        cross_attention_dim = config.unet.cross_attention_dim
        self.image_embeds_proj = (
            nn.Linear(config.image_embed_dim, cross_attention_dim)
            if config.image_embed_dim != cross_attention_dim
            else None
        )

    @classmethod
    def from_keyframe(cls, keyframe_unet: KeyframeUNet, image_embed_dim: int | None = None) -> "InterpUNet":
        """An interpolation U-Net initialised from a key-frame U-Net's weights (§3.2).

        Every weight is copied except the FPS embedding (not used here); ``conv_in`` gets zero
        weights for the neighbour channels; each adaptor's per-frame S and B (16 key-frame
        positions) become their mean over frames for all 3 in-between frames, the key-frame
        model's average statistics (the in-between frames have no place in the 16-frame clip).
        """
        model = cls(InterpUNetConfig.from_keyframe_config(keyframe_unet.config, image_embed_dim))
        state = {k: v for k, v in keyframe_unet.state_dict().items() if not k.startswith("fps_embedding.")}
        conv_in = state["conv_in.weight"]  # [C0, C, k, k]
        widened = conv_in.new_zeros(conv_in.shape[0], model.config.unet.in_channels, *conv_in.shape[2:])
        widened[:, : conv_in.shape[1]] = conv_in
        state["conv_in.weight"] = widened
        for key, value in state.items():
            if ".adaptors." in key:
                state[key] = value.mean(dim=0, keepdim=True).expand(INTERPOLATED_FRAMES, -1).clone()
        model.unet.load_state_dict(state)
        return model

    def forward(
        self,
        sample: torch.Tensor,
        neighbours: torch.Tensor,
        timestep: torch.Tensor,
        image_embeds: torch.Tensor,
    ) -> torch.Tensor:
        frames = sample.shape[2]
        previous = neighbours[:, :, :1].expand(-1, -1, frames, -1, -1)
        following = neighbours[:, :, 1:].expand(-1, -1, frames, -1, -1)
        # per frame: [noise_i, previous key frame, next key frame] along channels
        unet_input = torch.cat([sample, previous, following], dim=1)  # [B, 3C, 3, h, w]
        context = image_embeds if self.image_embeds_proj is None else self.image_embeds_proj(image_embeds)
        return self.unet(unet_input, timestep, context)


def example_inputs(config: InterpUNetConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """Realistic inputs in forward order (keys = the ONNX input names of the model-folder contract)."""
    generator = torch.Generator().manual_seed(0)
    size = config.unet.sample_size
    channels = config.latent_channels
    return {
        "sample": torch.randn(batch_size, channels, INTERPOLATED_FRAMES, size, size, generator=generator),
        "neighbours": torch.randn(batch_size, channels, NEIGHBOURS, size, size, generator=generator),
        "timestep": torch.randint(0, 1000, (batch_size,), generator=generator).to(torch.float32),
        "image_embeds": torch.randn(batch_size, NEIGHBOURS, config.image_embed_dim, generator=generator),
    }
