"""VideoVAE (paper §3.3, Fig. 3): the AutoencoderKL encoder, and a decoder with two directed
temporal attention layers added.

Decoding latent frames one by one with an image VAE makes pixels dither from frame to frame; the
paper keeps the small latents and adds two directed temporal attention layers to the decoder.
Here the decoder is diffusers' AutoencoderKL `Decoder` run on the frames folded into the batch
(every convolution and normalisation stays per frame), with a `DirectedTemporalAttention`
(directed_attention.py, eq. 4) added as a residual at two places:

- after the mid block, at the latent resolution h×w, and
- after the first up block, at 2h×2w, still at the widest channels.

Both sit where the decoder decides what the frame shows rather than how its pixels look: the
flicker of per-frame decoding comes from frames taking slightly different decisions there, and
at these resolutions the two layers cost a few per cent of the decoder (attention runs across
frames only, per spatial position).

The layers are zero-initialised, so a trained per-frame AutoencoderKL loads by name
(`load_autoencoder_kl_state_dict`) and decodes exactly as before until the temporal layers are
trained. `use_temporal_layers=False` is the per-frame decoder (the paper's baseline).

The attention is directed and windowed: output frame i attends to frames i-W+1..i (W =
`temporal_window`). Two layers stacked make output frame i depend on input frames
[i - decoder_context_frames, i] only, decoder_context_frames = 2·(W-1). Decoding a chunk of
frames with that many frames of left context, then dropping the context's outputs, gives exactly
the frames of a whole decode (`decode_in_chunks`); the manifest carries the number so serving can
do the same (`vae.decoder_context_frames`).

Parameter names are AutoencoderKL's (`encoder.*`, `quant_conv.*`, `post_quant_conv.*`,
`decoder.*`); the added layers are `decoder.temporal_attentions.{0,1}.*`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from diffusers.models.autoencoders.vae import Decoder, DiagonalGaussianDistribution, Encoder
from torch import nn

from magicvideo_models.directed_attention import DirectedTemporalAttention

# The parameters that make the latents, and those that decode them: a decoder fine-tune trains only
# the second, and a cache of encodings is keyed by the first (training/latent_cache.py).
ENCODER_PREFIXES = ("encoder.", "quant_conv.")
DECODER_PREFIXES = ("decoder.", "post_quant_conv.")
NUM_TEMPORAL_LAYERS = 2  # paper §3.3: "two temporal directed attention layers"


@dataclass(frozen=True)
class VideoVAEConfig:
    in_channels: int = 3
    out_channels: int = 3
    latent_channels: int = 4
    sample_size: int = (
        64  # key-frame pixels per side it is trained at (convolutional: any multiple of 8 runs)
    )
    # one entry per resolution level: len - 1 down-samplings, 4 levels → 8×
    block_out_channels: tuple[int, ...] = (32, 64, 64, 64)
    layers_per_block: int = 1
    norm_num_groups: int = 32
    act_fn: str = "silu"
    use_quant_conv: bool = True
    use_post_quant_conv: bool = True
    mid_block_add_attention: bool = True
    use_temporal_layers: bool = True  # off: per-frame decoding, the paper's baseline
    temporal_window: int = 8  # frames each temporal attention sees: the present and W-1 before
    temporal_num_heads: int = 4
    directed: bool = True  # False: bidirectional (windowed) temporal attention, for the ablation

    @classmethod
    def tiny(cls) -> VideoVAEConfig:
        """64×64×3 ↔ 8×8×4."""
        return cls()

    @classmethod
    def small(cls) -> VideoVAEConfig:
        """128×128×3 ↔ 16×16×4."""
        return cls(sample_size=128, block_out_channels=(64, 128, 128, 128), layers_per_block=1)

    @classmethod
    def base(cls) -> VideoVAEConfig:
        """Stable Diffusion 1.x's VAE (256×256×3 ↔ 32×32×4) plus the temporal layers."""
        return cls(
            sample_size=256, block_out_channels=(128, 256, 512, 512), layers_per_block=2, temporal_num_heads=8
        )

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)

    @property
    def decoder_context_frames(self) -> int:
        if not self.use_temporal_layers:
            return 0
        return NUM_TEMPORAL_LAYERS * (self.temporal_window - 1)

    def autoencoder_kl_config(self) -> dict:
        """Keyword arguments of the diffusers AutoencoderKL with the same per-frame weights."""
        levels = len(self.block_out_channels)
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "down_block_types": ("DownEncoderBlock2D",) * levels,
            "up_block_types": ("UpDecoderBlock2D",) * levels,
            "block_out_channels": self.block_out_channels,
            "layers_per_block": self.layers_per_block,
            "act_fn": self.act_fn,
            "latent_channels": self.latent_channels,
            "sample_size": self.sample_size,
            "norm_num_groups": self.norm_num_groups,
            "use_quant_conv": self.use_quant_conv,
            "use_post_quant_conv": self.use_post_quant_conv,
            "mid_block_add_attention": self.mid_block_add_attention,
        }

    def to_dict(self) -> dict:
        return asdict(self)


class VideoDecoder(Decoder):
    """diffusers' AutoencoderKL Decoder over frames folded into the batch, with the two directed
    temporal attention layers. forward(latents [B*F, C, h, w], num_frames) → [B*F, 3, H, W],
    frame index fastest within each video."""

    def __init__(self, config: VideoVAEConfig) -> None:
        levels = len(config.block_out_channels)
        super().__init__(
            in_channels=config.latent_channels,
            out_channels=config.out_channels,
            up_block_types=("UpDecoderBlock2D",) * levels,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            norm_num_groups=config.norm_num_groups,
            act_fn=config.act_fn,
            mid_block_add_attention=config.mid_block_add_attention,
        )
        self.use_temporal_layers = config.use_temporal_layers
        # after the mid block and after the first up block: both at the widest channels
        widest = config.block_out_channels[-1]
        self.temporal_attentions = nn.ModuleList(
            DirectedTemporalAttention(
                widest,
                config.temporal_num_heads,
                directed=config.directed,
                window=config.temporal_window,
                zero_init=True,
            )
            for _ in range(NUM_TEMPORAL_LAYERS)
        )

    def _temporal(self, index: int, sample: torch.Tensor, num_frames: int) -> torch.Tensor:
        if not self.use_temporal_layers:
            return sample
        return sample + self.temporal_attentions[index](sample, num_frames)

    def forward(self, sample: torch.Tensor, num_frames: int) -> torch.Tensor:  # type: ignore[override]
        sample = self.conv_in(sample)
        sample = self.mid_block(sample, None)
        sample = self._temporal(0, sample, num_frames)
        for level, up_block in enumerate(self.up_blocks):
            sample = up_block(sample, None)
            if level == 0:
                sample = self._temporal(1, sample, num_frames)
        sample = self.conv_norm_out(sample)
        sample = self.conv_act(sample)
        return self.conv_out(sample)


class VideoVAE(nn.Module):
    """Per-frame KL encoder and temporal decoder. Latents are unscaled (multiply by the model
    set's latent_scaling_factor for diffusion)."""

    def __init__(self, config: VideoVAEConfig) -> None:
        super().__init__()
        self.config = config
        levels = len(config.block_out_channels)
        self.encoder = Encoder(
            in_channels=config.in_channels,
            out_channels=config.latent_channels,
            down_block_types=("DownEncoderBlock2D",) * levels,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            norm_num_groups=config.norm_num_groups,
            act_fn=config.act_fn,
            double_z=True,
            mid_block_add_attention=config.mid_block_add_attention,
        )
        self.decoder = VideoDecoder(config)
        channels = 2 * config.latent_channels
        self.quant_conv = nn.Conv2d(channels, channels, 1) if config.use_quant_conv else None
        self.post_quant_conv = (
            nn.Conv2d(config.latent_channels, config.latent_channels, 1)
            if config.use_post_quant_conv
            else None
        )

    @property
    def decoder_context_frames(self) -> int:
        """Latent frames of left context that make a chunked decode equal a whole decode."""
        return self.config.decoder_context_frames

    def latent_parameters(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [N, 3, H, W] in [-1, 1] → mean ‖ logvar [N, 2C, h, w] (diffusers' moments)."""
        moments = self.encoder(frames)
        return self.quant_conv(moments) if self.quant_conv is not None else moments

    def encode(self, frames: torch.Tensor) -> DiagonalGaussianDistribution:
        """frames [N, 3, H, W] → the posterior of each frame's latent [N, C, h, w]."""
        return DiagonalGaussianDistribution(self.latent_parameters(frames))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """latents [B, C, F, h, w] → frames [B, 3, F, H, W] (unclamped)."""
        batch, channels, num_frames, height, width = latents.shape
        folded = latents.permute(0, 2, 1, 3, 4).reshape(batch * num_frames, channels, height, width)
        if self.post_quant_conv is not None:
            folded = self.post_quant_conv(folded)
        frames = self.decoder(folded, num_frames)
        return frames.reshape(batch, num_frames, *frames.shape[1:]).permute(0, 2, 1, 3, 4)

    def forward(self, video: torch.Tensor, sample_posterior: bool = False) -> torch.Tensor:
        """Reconstruct video [B, 3, F, H, W]: encode every frame, decode them together."""
        batch, channels, num_frames, height, width = video.shape
        frames = video.permute(0, 2, 1, 3, 4).reshape(batch * num_frames, channels, height, width)
        posterior = self.encode(frames)
        latents = posterior.sample() if sample_posterior else posterior.mode()
        latents = latents.reshape(batch, num_frames, *latents.shape[1:]).permute(0, 2, 1, 3, 4)
        return self.decode(latents)

    def decode_in_chunks(self, latents: torch.Tensor, chunk_frames: int) -> torch.Tensor:
        """Decode latents [B, C, F, h, w] `chunk_frames` output frames at a time, each chunk with
        decoder_context_frames of left context whose outputs are dropped; equals `decode`."""
        context = self.decoder_context_frames
        chunks = []
        for start in range(0, latents.shape[2], chunk_frames):
            first = max(0, start - context)
            decoded = self.decode(latents[:, :, first : start + chunk_frames])
            chunks.append(decoded[:, :, start - first :])
        return torch.cat(chunks, dim=2)

    def load_autoencoder_kl_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a diffusers AutoencoderKL's weights by name; only the temporal layers stay as they are
        (zero output: the decode is then the AutoencoderKL's, frame by frame)."""
        result = self.load_state_dict(state_dict, strict=False)
        not_temporal = [k for k in result.missing_keys if not k.startswith("decoder.temporal_attentions.")]
        if not_temporal or result.unexpected_keys:
            raise ValueError(
                "not an AutoencoderKL of this config: "
                f"missing {not_temporal}, unexpected {result.unexpected_keys}"
            )

    def encode_for_export(self) -> nn.Module:
        """nn.Module: frames [B, 3, H, W] → latent_parameters [B, 2C, h, w] (vae_encoder.onnx)."""
        return _LatentParameters(self)

    def decoder_for_export(self) -> nn.Module:
        """nn.Module: latents [B, C, F, h, w] → frames [B, 3, F, H, W] in [-1, 1] (vae_decoder.onnx)."""
        return _ClampedVideoDecode(self)


class _LatentParameters(nn.Module):
    def __init__(self, vae: VideoVAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.vae.latent_parameters(frames)


class _ClampedVideoDecode(nn.Module):
    def __init__(self, vae: VideoVAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        # the contract promises pixels in [-1, 1]
        return self.vae.decode(latents).clamp(-1.0, 1.0)


def example_inputs(
    config: VideoVAEConfig, batch_size: int = 1, num_frames: int = 16
) -> dict[str, torch.Tensor]:
    """Inputs of the exported decoder (vae_decoder): unscaled latents [B, C, F, h, w]."""
    size = config.sample_size // config.vae_scale_factor
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(batch_size, config.latent_channels, num_frames, size, size, generator=generator)
    return {"latents": latents}


def example_encoder_inputs(config: VideoVAEConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """Inputs of the exported encoder (vae_encoder): smooth frames [B, 3, H, W] in [-1, 1]."""
    generator = torch.Generator().manual_seed(1)
    coarse = torch.rand(batch_size, config.in_channels, 4, 4, generator=generator) * 2 - 1
    size = (config.sample_size, config.sample_size)
    return {"frames": nn.functional.interpolate(coarse, size=size, mode="bilinear", align_corners=False)}
