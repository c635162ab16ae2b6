"""The super-resolution U-Net (paper §3.4): pixel-space diffusion conditioned on the upsampled
low-res frame, the timestep and the noise level of the noise conditioning augmentation.

forward(sample [B, 3, H, W] noisy high-res, low_res [B, 3, H, W] already upsampled to H×W,
timestep [B], noise_level [B]) → out_sample [B, 3, H, W] (the scheduler's prediction; the model
set samples it with v-prediction, model_set.SchedulerConfig.super_resolution).

- The network predicts the frame as a residual over the low-res frame (SR3's observation that
  the high-res frame is the upsampled one plus a small correction), x0-parametrised, with
  EDM's input scaling (Karras et al. 2022); `parametrisation="residual"`, the default:
      base = bicubic ×s (s×s average of low_res)    s = pixel_shuffle_factor = the SR factor:
                                                    the low-res frame, with its augmentation
                                                    noise averaged down (std ÷ s)
      y    = sample / √ᾱ_t − base = r + σ_t·ε       r = x0 − base, σ_t² = (1 − ᾱ_t) / ᾱ_t
      x0   = base + σ_r·F(y / √(σ_t² + σ_r²), low_res, t, n)
  and out_sample is the scheduler's prediction computed from that x0 (v = (√ᾱ_t·x_t − x0) /
  √(1 − ᾱ_t)), so the ONNX contract and the samplers are unchanged. Why: the U-Net's first
  level holds 16 channels per 4×4 cell of 48 values, too few to carry a frame's per-pixel
  noise through. Trained to output v directly (`parametrisation="direct"`, kept for the
  comparison) its v error stayed ≈ 1 at t ≤ 166, so every sample kept noise of std ≈ 0.4
  (11.3 dB after 300 steps, 12.3 after 4000, against bicubic's 35.6). Here the frame's
  noise never has to pass through the network: x0 − base is edges to sharpen and the few
  values per cell the averaged frame leaves uncertain. There is no EDM skip term (c_skip·y)
  either: it lets a share of y's noise into x0 that the network would have to cancel, and
  cannot (measured on a 300-step model: −1.4 dB at 6 DDIM steps, −5 dB at 25). The module
  carries the SR schedule's ᾱ for this (`beta_start`..`beta_end`, linear; a test holds it
  equal to the model set's SR scheduler).

- Input: the noisy sample (in the residual form, its scaled residual y) and the upsampled
  low-res frame concatenated on channels (SR3 [37], 6 channels), as the paper's SR model does.
- Noise conditioning augmentation ([35], paper §3.4): in training the low-res frame is degraded
  with Gaussian noise of a random level, and that level is a second condition: its sinusoidal
  embedding goes through its own MLP and is added to the timestep embedding (diffusers'
  UNet2DModel with class_embed_type="timestep"). `use_noise_level_embedding=False` drops it for
  the ablation; the input stays, so every config exports the contract's four inputs.
- The U-Net is diffusers' UNet2DModel (ResnetBlock2D down/up blocks, skip connections). It runs
  on the low-res grid: a space-to-depth step (PixelUnshuffle by `pixel_shuffle_factor`, 4 = the
  SR factor) turns each 4×4 pixel block into 48 channels, and PixelShuffle puts the output
  back (ESPCN). SD's x4 upscaler likewise runs its U-Net on a 4× smaller grid (its VAE latents);
  here the 4×4 detail lives in channels and the model stays in pixel space. This is what makes
  tiny cheap enough: about 0.9 GFLOP per 256×256 frame, for 61 frames × a few steps on 2 CPU
  cores (test_sr_unet.py measures it).
- Local by construction, so that it is trained on crops, run on whole frames, and can be run on
  tiles that give exactly the whole frame's output (the runtime tiles 1024² frames so no step
  needs a whole frame's activations):
  - normalisation is per pixel (LayerNorm over the channels at each position, ConvNeXt's
    LayerNorm2d) in place of diffusers' GroupNorm, whose statistics span the whole frame and
    would make every tile's output depend on the tile's extent;
  - no self-attention in any config: attention over a whole frame would see 16× more tokens at
    inference (256² frames) than in training (64² crops), a shift a small model handles badly,
    at a cost that grows with the square of the frame, and it too is global.
  Every output pixel then depends only on inputs within `receptive_field_radius` pixels (the
  base's average and bicubic add their few pixels to the U-Net's field), so a
  tile with that much halo on each side (and aligned to `size_multiple`) reproduces the whole
  frame's output in its interior: the exported manifest carries both numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import torch
from diffusers import UNet2DModel
from torch import nn


@dataclass(frozen=True)
class SRUNetConfig:
    in_channels: int = 3
    out_channels: int = 3
    pixel_shuffle_factor: int = 4  # the U-Net runs on a grid this many times smaller
    block_out_channels: tuple[int, ...] = (16, 32, 64)
    layers_per_block: int = 1
    norm_num_groups: int = 8  # only for normalization="group"
    normalization: str = "pixel"  # "pixel" (local, exact tiling) or "group" (diffusers' GroupNorm)
    attention_head_dim: int = 8
    use_noise_level_embedding: bool = True  # noise conditioning augmentation (paper §3.4)
    sample_size: int = 256  # the high-res frame it runs on (key-frame size × 4)
    parametrisation: str = "residual"  # "residual" (module doc) or "direct"
    residual_std: float = 0.1  # σ_r: RMS of x0 − base on training crops (0.095 measured)
    # The SR diffusion schedule (model_set.SchedulerConfig.super_resolution): linear betas.
    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    prediction_type: str = "v_prediction"  # what forward returns: "v_prediction", "epsilon" or "sample"

    @classmethod
    def tiny(cls) -> SRUNetConfig:
        """64×64 → 256×256: ~0.9 GFLOP per 256×256 frame, receptive field radius 275 pixels."""
        return cls()

    @classmethod
    def small(cls) -> SRUNetConfig:
        """128×128 → 512×512."""
        return cls(block_out_channels=(32, 64, 128), sample_size=512)

    @classmethod
    def base(cls) -> SRUNetConfig:
        """256×256 → 1024×1024 with SD x4-upscaler widths, three levels and no attention (module doc)."""
        return cls(block_out_channels=(256, 512, 1024), layers_per_block=2, sample_size=1024)

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this (space-to-depth, then one halving per extra level)."""
        return self.pixel_shuffle_factor * 2 ** (len(self.block_out_channels) - 1)

    def unet_2d_config(self) -> dict:
        """Keyword arguments of the diffusers UNet2DModel inside."""
        levels = len(self.block_out_channels)
        cells = self.pixel_shuffle_factor**2
        return {
            "sample_size": self.sample_size // self.pixel_shuffle_factor,
            "in_channels": (self.in_channels + self.out_channels) * cells,
            "out_channels": self.out_channels * cells,
            "down_block_types": ("DownBlock2D",) * levels,
            "up_block_types": ("UpBlock2D",) * levels,
            "block_out_channels": self.block_out_channels,
            "layers_per_block": self.layers_per_block,
            "norm_num_groups": self.norm_num_groups,
            "attention_head_dim": self.attention_head_dim,
            "add_attention": False,
            "class_embed_type": "timestep" if self.use_noise_level_embedding else None,
        }


class PixelLayerNorm(nn.Module):
    """LayerNorm over the channels at each pixel of [B, C, H, W]; GroupNorm's parameter names."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        variance = (x - mean).pow(2).mean(dim=1, keepdim=True)
        normalised = (x - mean) * torch.rsqrt(variance + self.eps)
        return normalised * self.weight[:, None, None] + self.bias[:, None, None]


class SRUNet(nn.Module):
    """Pixel-space SR denoiser; the diffusers UNet2DModel is `.unet`."""

    def __init__(self, config: SRUNetConfig) -> None:
        super().__init__()
        if config.normalization not in ("pixel", "group"):
            raise ValueError(f"normalization must be 'pixel' or 'group', got {config.normalization!r}")
        if config.parametrisation not in ("residual", "direct"):
            raise ValueError(
                f"parametrisation must be 'residual' or 'direct', got {config.parametrisation!r}"
            )
        if config.prediction_type not in ("v_prediction", "epsilon", "sample"):
            raise ValueError(f"unknown prediction_type {config.prediction_type!r}")
        self.config = config
        self.space_to_depth = nn.PixelUnshuffle(config.pixel_shuffle_factor)
        self.unet = UNet2DModel(**config.unet_2d_config())
        if config.normalization == "pixel":
            _replace_group_norms(self.unet)
        self.depth_to_space = nn.PixelShuffle(config.pixel_shuffle_factor)
        # ᾱ as diffusers' schedulers compute it (float32 linspace, cumprod), so converting x0 to
        # the prediction here and back in the scheduler is exact; not a weight (non-persistent)
        betas = torch.linspace(
            config.beta_start, config.beta_end, config.num_train_timesteps, dtype=torch.float32
        )
        self.register_buffer("alphas_cumprod", torch.cumprod(1.0 - betas, dim=0), persistent=False)

    def forward(
        self,
        sample: torch.Tensor,  # [B, 3, H, W] noisy high-res frame x_t
        low_res: torch.Tensor,  # [B, 3, H, W] low-res frame, upsampled and noise-augmented
        timestep: torch.Tensor,  # [B]
        noise_level: torch.Tensor,  # [B] augmentation level of low_res
    ) -> torch.Tensor:
        if self.config.parametrisation == "direct":
            return self._network(sample, low_res, timestep, noise_level)
        x0 = self.denoised(sample, low_res, timestep, noise_level)
        alpha_bar = self.alpha_bar(timestep)
        if self.config.prediction_type == "sample":
            return x0
        if self.config.prediction_type == "epsilon":
            return (sample - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()
        return (alpha_bar.sqrt() * sample - x0) / (1 - alpha_bar).sqrt()

    def denoised(
        self, sample: torch.Tensor, low_res: torch.Tensor, timestep: torch.Tensor, noise_level: torch.Tensor
    ) -> torch.Tensor:
        """The x0 estimate [B, 3, H, W] ("residual": base + σ_r·F, module doc)."""
        if self.config.parametrisation == "direct":
            raise ValueError(
                "denoised() is the residual parametrisation's; 'direct' returns the prediction only"
            )
        alpha_bar = self.alpha_bar(timestep)
        base = self.base(low_res)
        noisy_residual = sample / alpha_bar.sqrt() - base  # r + σ·ε
        residual_variance = self.config.residual_std**2
        scale_in = ((1 - alpha_bar) / alpha_bar + residual_variance).rsqrt()  # unit variance in
        out = self._network(scale_in * noisy_residual, low_res, timestep, noise_level)
        return base + self.config.residual_std * out

    def base(self, low_res: torch.Tensor) -> torch.Tensor:
        """The low-res frame averaged back to its grid and upsampled again (bicubic, as the
        runtime upsamples): keeps the frame, divides the augmentation noise's std by s."""
        factor = self.config.pixel_shuffle_factor
        pooled = nn.functional.avg_pool2d(low_res, factor)
        return nn.functional.interpolate(pooled, scale_factor=factor, mode="bicubic", align_corners=False)

    def alpha_bar(self, timestep: torch.Tensor) -> torch.Tensor:
        """ᾱ at each example's timestep [B] (rounded, as schedulers index it) → [B, 1, 1, 1]."""
        index = timestep.round().long().clamp(0, self.config.num_train_timesteps - 1)
        return self.alphas_cumprod[index].view(-1, 1, 1, 1)

    def _network(
        self, sample: torch.Tensor, low_res: torch.Tensor, timestep: torch.Tensor, noise_level: torch.Tensor
    ) -> torch.Tensor:
        grid = self.space_to_depth(torch.cat([sample, low_res], dim=1))
        if self.config.use_noise_level_embedding:
            out = self.unet(grid, timestep, class_labels=noise_level.to(grid.dtype)).sample
        else:
            # Ablation: the level is not a condition. It is still consumed (× 0) so that the
            # exported graph keeps the contract's noise_level input.
            out = self.unet(grid, timestep + 0 * noise_level.to(timestep.dtype)).sample
        return self.depth_to_space(out)


def _replace_group_norms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.GroupNorm):
            setattr(module, name, PixelLayerNorm(child.num_channels, child.eps))
        else:
            _replace_group_norms(child)


@functools.cache
def receptive_field_radius(config: SRUNetConfig) -> int:
    """How far (in pixels) an output pixel's inputs reach, measured through autograd.

    The extent depends on the layer structure only (levels, blocks, kernel sizes), not on the
    widths, so it is measured on a narrow copy of the config. Raises ValueError for a config
    whose outputs depend on the whole frame (normalization="group").
    """
    probe = replace(config, block_out_channels=(4,) * len(config.block_out_channels), norm_num_groups=4)
    model = SRUNet(probe)
    size = probe.size_multiple * 16
    while True:
        sample = torch.zeros(1, probe.out_channels, size, size, requires_grad=True)
        low_res = torch.zeros(1, probe.out_channels, size, size, requires_grad=True)
        torch.manual_seed(0)
        for parameter in model.parameters():
            nn.init.normal_(parameter, std=0.5)  # no zero-initialised layer may hide a path
        out = model(sample, low_res, torch.tensor([500.0]), torch.tensor([20.0]))
        centre = size // 2
        out[0, :, centre, centre].sum().backward()
        reach = (sample.grad[0].abs().sum(0) + low_res.grad[0].abs().sum(0)).nonzero()
        radius = int((reach - centre).abs().max())
        if radius < centre - 1:
            return radius
        if probe.normalization == "group" or size >= 4096:
            raise ValueError("this SR U-Net's outputs depend on the whole frame: it cannot be tiled exactly")
        size *= 2


def example_inputs(config: SRUNetConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """A noisy frame, a smooth upsampled low-res frame, timesteps in [0, 1000), levels in [0, 350]."""
    generator = torch.Generator().manual_seed(0)
    size = config.sample_size
    coarse = torch.rand(batch_size, config.out_channels, size // 16, size // 16, generator=generator) * 2 - 1
    low_res = nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    sample = torch.randn(batch_size, config.out_channels, size, size, generator=generator)
    timestep = torch.randint(0, 1000, (batch_size,), generator=generator).to(torch.float32)
    noise_level = torch.randint(0, 351, (batch_size,), generator=generator).to(torch.float32)
    return {"sample": sample, "low_res": low_res, "timestep": timestep, "noise_level": noise_level}
