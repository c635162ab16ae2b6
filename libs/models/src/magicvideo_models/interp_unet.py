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
  on the noise channels; with the blend skip (below) ``conv_out`` starts at zero.

The output parameterisation, which the paper leaves open (``blend_skip``, on in every config): the
network's own output f is a correction to the linear blend of the two key frames' latents,
    x̂0 = blend + f,   blend_i = (1 − i/4)·z_prev + (i/4)·z_next,   i = 1, 2, 3,
and the forward returns the noise that x̂0 implies at the timestep, ε̂ = (x_t − √ᾱ_t·x̂0) / √(1 − ᾱ_t),
so the contract (ε out) and the samplers are unchanged. With f = 0 every DDIM step's x̂0 is the
blend, so a fresh model (conv_out zeroed) starts as the blend and training learns only what the blend
gets wrong; predicting ε directly, the trained model scored 1.8 dB below the blend on the true middle
frames (30.9 against 32.7 dB). The module carries the model set's ᾱ table for this (a non-persistent
buffer: not a weight; a test holds it equal to the model set's scheduler).
"""

from dataclasses import dataclass, replace

import torch
from diffusers import DDPMScheduler
from torch import nn

from magicvideo_models.keyframe_unet import KeyframeUNet, KeyframeUNetConfig

INTERPOLATED_FRAMES = 3
NEIGHBOURS = 2


@dataclass(frozen=True)
class InterpUNetConfig:
    """``unet``: the key-frame U-Net config it is built from (F = 3, 3·C input channels, no FPS);
    ``image_embed_dim``: E of the image encoder's embeddings; ``blend_skip``: the network's output is
    a correction to the key frames' linear blend (module doc), else it is ε itself."""

    unet: KeyframeUNetConfig
    latent_channels: int = 4
    image_embed_dim: int = 128
    blend_skip: bool = True
    # The model set's diffusion schedule (model_set.SchedulerConfig.latent_diffusion, the manifest's
    # schedulers.interp_unet): the blend skip turns x̂0 into ε with its ᾱ.
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"

    @classmethod
    def from_keyframe_config(
        cls, keyframe: KeyframeUNetConfig, image_embed_dim: int | None = None, blend_skip: bool = True
    ) -> "InterpUNetConfig":
        unet = replace(
            keyframe,
            frames=INTERPOLATED_FRAMES,
            in_channels=keyframe.in_channels * (1 + NEIGHBOURS),
            use_fps_embedding=False,
        )
        embed_dim = keyframe.cross_attention_dim if image_embed_dim is None else image_embed_dim
        return cls(
            unet=unet, latent_channels=keyframe.in_channels, image_embed_dim=embed_dim, blend_skip=blend_skip
        )

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
    ``image_embeds`` are their image embeddings in the same order. The output is the predicted
    noise ε (with ``blend_skip``, the ε of x̂0 = blend + the network's output).
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
        # ᾱ exactly as the trainer's and the samplers' diffusers schedulers hold it; not a weight
        schedule = DDPMScheduler(
            num_train_timesteps=config.num_train_timesteps,
            beta_start=config.beta_start,
            beta_end=config.beta_end,
            beta_schedule=config.beta_schedule,
        )
        self.register_buffer("alphas_cumprod", schedule.alphas_cumprod.clone(), persistent=False)

    @classmethod
    def from_keyframe(
        cls, keyframe_unet: KeyframeUNet, image_embed_dim: int | None = None, blend_skip: bool = True
    ) -> "InterpUNet":
        """An interpolation U-Net initialised from a key-frame U-Net's weights (§3.2).

        Every weight is copied except the FPS embedding (not used here); ``conv_in`` gets zero
        weights for the neighbour channels; each adaptor's per-frame S and B (16 key-frame
        positions) become their mean over frames for all 3 in-between frames, the key-frame
        model's average statistics (the in-between frames have no place in the 16-frame clip).
        With ``blend_skip``, ``conv_out`` (weight and bias) is zeroed: the network's output is 0,
        so the new model predicts exactly the key frames' linear blend.
        """
        config = InterpUNetConfig.from_keyframe_config(keyframe_unet.config, image_embed_dim, blend_skip)
        model = cls(config)
        state = {k: v for k, v in keyframe_unet.state_dict().items() if not k.startswith("fps_embedding.")}
        conv_in = state["conv_in.weight"]  # [C0, C, k, k]
        widened = conv_in.new_zeros(conv_in.shape[0], model.config.unet.in_channels, *conv_in.shape[2:])
        widened[:, : conv_in.shape[1]] = conv_in
        state["conv_in.weight"] = widened
        for key, value in state.items():
            if ".adaptors." in key:
                state[key] = value.mean(dim=0, keepdim=True).expand(INTERPOLATED_FRAMES, -1).clone()
        if config.blend_skip:
            state["conv_out.weight"] = torch.zeros_like(state["conv_out.weight"])
            state["conv_out.bias"] = torch.zeros_like(state["conv_out.bias"])
        model.unet.load_state_dict(state)
        return model

    def forward(
        self,
        sample: torch.Tensor,  # [B, C, 3, h, w] noisy middle latents x_t
        neighbours: torch.Tensor,  # [B, C, 2, h, w] clean latents of the earlier and the later key frame
        timestep: torch.Tensor,  # [B], fractional for Euler
        image_embeds: torch.Tensor,  # [B, 2, E]
    ) -> torch.Tensor:
        output = self.network_output(sample, neighbours, timestep, image_embeds)
        if not self.config.blend_skip:
            return output
        denoised = blend(neighbours).float() + output.float()  # x̂0 = blend + f
        alpha_bar = self.alpha_bar(timestep)
        # in float32: √(1 − ᾱ) is 0.03 at t = 0
        epsilon = (sample.float() - alpha_bar.sqrt() * denoised) / (1 - alpha_bar).sqrt()
        return epsilon.to(sample.dtype)

    def alpha_bar(self, timestep: torch.Tensor) -> torch.Tensor:
        """ᾱ at each example's timestep [B] → float32 [B, 1, 1, 1, 1]: linear between the table's
        integer steps (exact at integers), clamped to the table's range."""
        table = self.alphas_cumprod  # [T]
        t = timestep.to(torch.float32).clamp(0, table.shape[0] - 1)
        lower = t.floor()
        weight = t - lower
        value = table[lower.long()] * (1 - weight) + table[t.ceil().long()] * weight
        return value.view(-1, 1, 1, 1, 1)

    def network_output(
        self,
        sample: torch.Tensor,
        neighbours: torch.Tensor,
        timestep: torch.Tensor,
        image_embeds: torch.Tensor,
    ) -> torch.Tensor:
        """The U-Net's own output f [B, C, 3, h, w]: the correction to the blend, or ε without the skip."""
        frames = sample.shape[2]
        previous = neighbours[:, :, :1].expand(-1, -1, frames, -1, -1)
        following = neighbours[:, :, 1:].expand(-1, -1, frames, -1, -1)
        # per frame: [noise_i, previous key frame, next key frame] along channels
        unet_input = torch.cat([sample, previous, following], dim=1)  # [B, 3C, 3, h, w]
        context = image_embeds if self.image_embeds_proj is None else self.image_embeds_proj(image_embeds)
        return self.unet(unet_input, timestep, context)


def blend(neighbours: torch.Tensor) -> torch.Tensor:
    """[B, C, 2, h, w] → [B, C, 3, h, w]: the key frames' linear blend at the 3 in-between positions,
    frame i = (1 − i/4)·earlier + (i/4)·later (evaluation's ``linear_blend``)."""
    factor = INTERPOLATED_FRAMES + 1
    weights = torch.arange(1, factor, dtype=neighbours.dtype, device=neighbours.device) / factor
    weights = weights.view(1, 1, INTERPOLATED_FRAMES, 1, 1)
    return (1 - weights) * neighbours[:, :, :1] + weights * neighbours[:, :, 1:]


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
