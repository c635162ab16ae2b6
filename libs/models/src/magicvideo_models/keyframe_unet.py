"""The key-frame 3D U-Net of MagicVideo (paper §3.1, Fig. 2).

Latent video [B, C, F, h, w] → predicted noise of the same shape, conditioned on the timestep,
the text embedding τ(y) [B, L, D] (cross-attention, as LDM) and the frame rate ν (eq. 5).

It is Stable Diffusion's ``UNet2DConditionModel`` made into a video model the paper's way:
- frames are folded into the batch, [B, C, F, h, w] → [B*F, C, h, w], so every 2D convolution is
  shared by all frames and every GroupNorm is per frame (§3.1.1);
- after every ResNet block, the per-frame adaptor z_i ← S_i·z_i + B_i (eq. 1, ``adaptor.py``);
- next to every spatial transformer (the levels whose ``down_block_types`` entry is a
  ``CrossAttn…`` block, and the mid block), directed temporal attention, run in parallel with the
  spatial attention and summed (eq. 2–4, ``st_attention.py``, ``directed_attention.py``);
- the FPS embedding (eq. 5, ``fps_embedding.py``) added to the timestep embedding.

The 2D modules are built by diffusers itself (``UNet2DConditionModel`` with the same config) and
adopted here under the same attribute names, so a Stable Diffusion 1.x U-Net state dict loads by
name (paper §4: initialised from LDM; ``inflate.py``). The video modules are new names:
``adaptors``, ``temporal_attentions`` in each block and ``fps_embedding`` at the top. At their
initialisation (S = 1, B = 0, zero output projections) the video U-Net computes exactly the 2D
U-Net on every frame.
"""

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from diffusers.models.upsampling import Upsample2D
from torch import nn

from magicvideo_models.adaptor import FrameAdaptor
from magicvideo_models.directed_attention import DirectedTemporalAttention
from magicvideo_models.fps_embedding import FPSEmbedding
from magicvideo_models.st_attention import STAttentionMode, spatio_temporal_attention

TemporalMask = Literal["directed", "bidirectional"]

# diffusers UNet2DConditionModel config keys this U-Net reproduces (same names, same meaning)
_DIFFUSERS_KEYS = (
    "sample_size",
    "in_channels",
    "out_channels",
    "down_block_types",
    "up_block_types",
    "block_out_channels",
    "layers_per_block",
    "cross_attention_dim",
    "attention_head_dim",
    "norm_num_groups",
    "norm_eps",
    "flip_sin_to_cos",
    "freq_shift",
    "act_fn",
    "downsample_padding",
    "mid_block_scale_factor",
    "transformer_layers_per_block",
    "use_linear_projection",
    "upcast_attention",
)

_PER_LEVEL_KEYS = ("down_block_types", "up_block_types", "block_out_channels")

# diffusers config keys whose non-default values need modules this U-Net does not have
_UNSUPPORTED_DIFFUSERS_DEFAULTS: dict[str, Any] = {
    "center_input_sample": False,
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "only_cross_attention": False,
    "dual_cross_attention": False,
    "num_attention_heads": None,
    "class_embed_type": None,
    "addition_embed_type": None,
    "num_class_embeds": None,
    "encoder_hid_dim": None,
    "encoder_hid_dim_type": None,
    "resnet_time_scale_shift": "default",
    "resnet_skip_time_act": False,
    "resnet_out_scale_factor": 1.0,
    "time_embedding_type": "positional",
    "time_embedding_dim": None,
    "time_embedding_act_fn": None,
    "timestep_post_act": None,
    "time_cond_proj_dim": None,
    "conv_in_kernel": 3,
    "conv_out_kernel": 3,
    "attention_type": "default",
    "class_embeddings_concat": False,
    "mid_block_only_cross_attention": None,
    "cross_attention_norm": None,
    "reverse_transformer_layers_per_block": None,
}


@dataclass(frozen=True)
class KeyframeUNetConfig:
    """diffusers ``UNet2DConditionModel`` config keys, plus the paper's video switches.

    ``attention_head_dim`` keeps diffusers' (mis)naming: it is the number of attention heads
    (diffusers issue #2011). The temporal attention of a level uses the same head count.
    ST-Attn (spatial + temporal) sits at the levels whose ``down_block_types`` entry is
    ``CrossAttnDownBlock2D`` (and the matching up levels), and in the mid block.
    """

    frames: int = 16
    sample_size: int = 8
    in_channels: int = 4
    out_channels: int = 4
    down_block_types: tuple[str, ...] = ("CrossAttnDownBlock2D",) * 3
    up_block_types: tuple[str, ...] = ("CrossAttnUpBlock2D",) * 3
    block_out_channels: tuple[int, ...] = (32, 64, 96)
    layers_per_block: int = 1
    cross_attention_dim: int = 128
    attention_head_dim: int = 4
    norm_num_groups: int = 32
    norm_eps: float = 1e-5
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    act_fn: str = "silu"
    downsample_padding: int = 1
    mid_block_scale_factor: float = 1.0
    transformer_layers_per_block: int = 1
    use_linear_projection: bool = False
    upcast_attention: bool = False
    # the paper's pieces, each switchable for ablations
    use_adaptor: bool = True  # eq. 1
    temporal_mask: TemporalMask = "directed"  # eq. 4; "bidirectional" is the ablation
    temporal_window: int | None = None  # attend to the last k frames only (None: all previous)
    st_attention: STAttentionMode = "parallel"  # eq. 2; "sequential" is the ablation
    use_fps_embedding: bool = True  # eq. 5

    @classmethod
    def tiny(cls) -> "KeyframeUNetConfig":
        """Tests and the trained demo: 16 × 4×8×8 latents, ~3.1M parameters.

        Every level (8², 4², 2²) has ST-Attn; widths 32/64/96 with one ResNet per level and 4
        heads (head dims 8/16/24) keep a CPU training run of the key-frame U-Net to hours, and
        the key-frame and interpolation U-Nets together to ~13 MB of float16 weights, inside
        the shipped folder's 25 MB.
        """
        return cls()

    @classmethod
    def small(cls) -> "KeyframeUNetConfig":
        """CPU benchmarks: 16 × 4×16×16 latents; twice tiny's widths, about 4× its parameters."""
        return cls(sample_size=16, block_out_channels=(64, 128, 192), cross_attention_dim=256)

    @classmethod
    def base(cls) -> "KeyframeUNetConfig":
        """The paper's scale: Stable Diffusion 1.x's U-Net, 16 × 4×32×32 latents (256² frames)."""
        return cls(
            sample_size=32,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
        )

    def to_diffusers_config(self) -> dict[str, Any]:
        """The ``UNet2DConditionModel`` keyword arguments of the 2D part."""
        values = asdict(self)
        config = {key: values[key] for key in _DIFFUSERS_KEYS}
        config["down_block_types"] = tuple(self.down_block_types)
        config["up_block_types"] = tuple(self.up_block_types)
        config["block_out_channels"] = tuple(self.block_out_channels)
        return config

    @classmethod
    def from_diffusers_config(cls, unet2d_config: dict[str, Any], **video: Any) -> "KeyframeUNetConfig":
        """From a diffusers ``UNet2DConditionModel`` config.json (``unet/config.json`` of SD 1.x).

        ``video`` sets the video fields (frames, use_adaptor, ...). Raises ``ValueError`` naming
        the key when the 2D model uses a feature this U-Net does not reproduce.
        """
        for key, default in _UNSUPPORTED_DIFFUSERS_DEFAULTS.items():
            value = unet2d_config.get(key, default)
            if value != default:
                raise ValueError(
                    f"unsupported UNet2DConditionModel config: {key}={value!r} (expected {default!r})"
                )
        values: dict[str, Any] = {}
        for key in _DIFFUSERS_KEYS:
            if key not in unet2d_config:
                continue
            value = unet2d_config[key]
            if key in _PER_LEVEL_KEYS:
                value = tuple(value)
            elif isinstance(value, list):
                if len(set(value)) != 1:
                    raise ValueError(f"unsupported UNet2DConditionModel config: per-level {key}={value!r}")
                value = value[0]
            values[key] = value
        return cls(**values, **video)


class VideoDownBlock(nn.Module):
    """A diffusers down block (``CrossAttnDownBlock2D`` or ``DownBlock2D``) made per-video.

    Adopts the 2D block's ``resnets``, ``attentions`` and ``downsamplers`` (so their parameter
    names are diffusers') and adds ``adaptors`` (after each ResNet) and ``temporal_attentions``
    (beside each spatial transformer).
    """

    def __init__(self, block2d: nn.Module, config: KeyframeUNetConfig) -> None:
        super().__init__()
        self.resnets = block2d.resnets
        self.attentions = getattr(block2d, "attentions", None)
        self.downsamplers = block2d.downsamplers
        self.adaptors = _adaptors_for(self.resnets, config)
        self.temporal_attentions = _temporal_attentions_for(self.attentions, config)
        self.config = config

    def forward(
        self, hidden_states: torch.Tensor, temb: torch.Tensor, encoder_hidden_states: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        output_states: tuple[torch.Tensor, ...] = ()
        for i, resnet in enumerate(self.resnets):
            hidden_states = _adapted(self.adaptors, i, resnet(hidden_states, temb))
            hidden_states = _attended(self, i, hidden_states, encoder_hidden_states)
            output_states += (hidden_states,)
        if self.downsamplers is not None:
            for downsampler in self.downsamplers:
                hidden_states = downsampler(hidden_states)
            output_states += (hidden_states,)
        return hidden_states, output_states


class VideoMidBlock(nn.Module):
    """diffusers' ``UNetMidBlock2DCrossAttn`` (resnet, then (attention, resnet) pairs) per-video."""

    def __init__(self, block2d: nn.Module, config: KeyframeUNetConfig) -> None:
        super().__init__()
        self.resnets = block2d.resnets
        self.attentions = block2d.attentions
        self.adaptors = _adaptors_for(self.resnets, config)
        self.temporal_attentions = _temporal_attentions_for(self.attentions, config)
        self.config = config

    def forward(
        self, hidden_states: torch.Tensor, temb: torch.Tensor, encoder_hidden_states: torch.Tensor
    ) -> torch.Tensor:
        hidden_states = _adapted(self.adaptors, 0, self.resnets[0](hidden_states, temb))
        for i, resnet in enumerate(self.resnets[1:]):
            hidden_states = _attended(self, i, hidden_states, encoder_hidden_states)
            hidden_states = _adapted(self.adaptors, i + 1, resnet(hidden_states, temb))
        return hidden_states


class VideoUpBlock(nn.Module):
    """A diffusers up block (``CrossAttnUpBlock2D`` or ``UpBlock2D``) made per-video."""

    def __init__(self, block2d: nn.Module, config: KeyframeUNetConfig) -> None:
        super().__init__()
        self.resnets = block2d.resnets
        self.attentions = getattr(block2d, "attentions", None)
        self.upsamplers = block2d.upsamplers
        self.adaptors = _adaptors_for(self.resnets, config)
        self.temporal_attentions = _temporal_attentions_for(self.attentions, config)
        self.config = config

    def forward(
        self,
        hidden_states: torch.Tensor,
        res_hidden_states_tuple: tuple[torch.Tensor, ...],
        temb: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        upsample_size: tuple[int, int] | None,
    ) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            res_hidden_states = res_hidden_states_tuple[-1]
            res_hidden_states_tuple = res_hidden_states_tuple[:-1]
            hidden_states = torch.cat([hidden_states, res_hidden_states], dim=1)
            hidden_states = _adapted(self.adaptors, i, resnet(hidden_states, temb))
            hidden_states = _attended(self, i, hidden_states, encoder_hidden_states)
        if self.upsamplers is not None:
            for upsampler in self.upsamplers:
                hidden_states = _upsample(upsampler, hidden_states, upsample_size)
        return hidden_states


def _upsample(
    upsampler: Upsample2D, hidden_states: torch.Tensor, output_size: tuple[int, int] | None
) -> torch.Tensor:
    """``Upsample2D.forward`` for the U-Net's upsamplers (nearest ×2 or to ``output_size``, then
    its conv), without its batch-size-dependent ``.contiguous()`` branches: with frames folded into
    the batch those become batch-size guards in ``torch.export`` (e.g. "3·batch < 64") that break a
    dynamic-batch ONNX export. ``.contiguous()`` does not change values, so the result is the same.
    """
    if output_size is None:
        hidden_states = F.interpolate(hidden_states, scale_factor=2.0, mode="nearest")
    else:
        hidden_states = F.interpolate(hidden_states, size=output_size, mode="nearest")
    return upsampler.conv(hidden_states)


def _adaptors_for(resnets: nn.ModuleList, config: KeyframeUNetConfig) -> nn.ModuleList | None:
    if not config.use_adaptor:
        return None
    return nn.ModuleList(FrameAdaptor(config.frames, resnet.conv2.out_channels) for resnet in resnets)


def _temporal_attentions_for(
    attentions: nn.ModuleList | None, config: KeyframeUNetConfig
) -> nn.ModuleList | None:
    if attentions is None:
        return None
    return nn.ModuleList(
        DirectedTemporalAttention(
            channels=spatial.config.in_channels,
            num_heads=spatial.config.num_attention_heads,
            directed=config.temporal_mask == "directed",
            window=config.temporal_window,
        )
        for spatial in attentions
    )


def _adapted(adaptors: nn.ModuleList | None, index: int, hidden_states: torch.Tensor) -> torch.Tensor:
    return hidden_states if adaptors is None else adaptors[index](hidden_states)


def _attended(
    block: VideoDownBlock | VideoMidBlock | VideoUpBlock,
    index: int,
    hidden_states: torch.Tensor,
    encoder_hidden_states: torch.Tensor,
) -> torch.Tensor:
    if block.attentions is None:
        return hidden_states
    return spatio_temporal_attention(
        block.attentions[index],
        block.temporal_attentions[index],
        hidden_states,
        encoder_hidden_states,
        num_frames=block.config.frames,
        mode=block.config.st_attention,
    )


class KeyframeUNet(nn.Module):
    """forward(sample [B,C,F,h,w], timestep [B], encoder_hidden_states [B,L,D], fps [B]) → [B,C,F,h,w]."""

    def __init__(self, config: KeyframeUNetConfig) -> None:
        super().__init__()
        for block_type in config.down_block_types:
            if block_type not in ("CrossAttnDownBlock2D", "DownBlock2D"):
                raise ValueError(f"unsupported down block type {block_type!r}")
        for block_type in config.up_block_types:
            if block_type not in ("CrossAttnUpBlock2D", "UpBlock2D"):
                raise ValueError(f"unsupported up block type {block_type!r}")
        self.config = config
        unet2d = UNet2DConditionModel(**config.to_diffusers_config())
        self.conv_in = unet2d.conv_in
        self.time_proj = unet2d.time_proj
        self.time_embedding = unet2d.time_embedding
        self.down_blocks = nn.ModuleList(VideoDownBlock(block, config) for block in unet2d.down_blocks)
        self.mid_block = VideoMidBlock(unet2d.mid_block, config)
        self.up_blocks = nn.ModuleList(VideoUpBlock(block, config) for block in unet2d.up_blocks)
        self.conv_norm_out = unet2d.conv_norm_out
        self.conv_act = unet2d.conv_act
        self.conv_out = unet2d.conv_out
        self.num_upsamplers = unet2d.num_upsamplers
        time_embed_dim = unet2d.time_embedding.linear_2.out_features
        self.fps_embedding = None
        if config.use_fps_embedding:
            self.fps_embedding = FPSEmbedding(
                config.block_out_channels[0], time_embed_dim, config.flip_sin_to_cos, config.freq_shift
            )

    def video_modules(self) -> list[nn.Module]:
        """The modules the paper adds to the 2D U-Net (not in a Stable Diffusion state dict)."""
        modules: list[nn.Module] = [] if self.fps_embedding is None else [self.fps_embedding]
        for block in [*self.down_blocks, self.mid_block, *self.up_blocks]:
            for group in (block.adaptors, block.temporal_attentions):
                if group is not None:
                    modules.extend(group)
        return modules

    def reset_video_modules(self) -> None:
        """Back to the inflation point: adaptors identity, temporal and FPS outputs zero."""
        for module in self.video_modules():
            if isinstance(module, FrameAdaptor):
                module.reset_parameters()
            elif isinstance(module, DirectedTemporalAttention | FPSEmbedding):
                module.reset_output_to_zero()

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        fps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        _, channels, frames, height, width = sample.shape
        if frames != self.config.frames:
            raise ValueError(f"expected {self.config.frames} frames (the adaptor's F), got {frames}")
        emb = self.time_embedding(self.time_proj(timestep).to(sample.dtype))  # [B, T]
        if self.fps_embedding is not None:
            if fps is None:
                raise ValueError("this U-Net is conditioned on fps (use_fps_embedding=True): pass fps [B]")
            emb = emb + self.fps_embedding(fps)  # eq. 5
        per_frame_emb = _fold_frames(emb, frames)  # [B*F, T]
        per_frame_text = _fold_frames(encoder_hidden_states, frames)  # [B*F, L, D]
        # [B, C, F, h, w] → [B*F, C, h, w]: 2D layers shared by all frames, norms per frame
        folded = sample.permute(0, 2, 1, 3, 4).reshape(-1, channels, height, width)
        out = self._denoise_frames(folded, per_frame_emb, per_frame_text)
        return out.reshape(-1, frames, out.shape[1], height, width).permute(0, 2, 1, 3, 4)

    def _denoise_frames(
        self, sample: torch.Tensor, emb: torch.Tensor, encoder_hidden_states: torch.Tensor
    ) -> torch.Tensor:
        """UNet2DConditionModel.forward's body on folded frames, with the video blocks."""
        upsample_factor = 2**self.num_upsamplers
        forward_upsample_size = any(dim % upsample_factor != 0 for dim in sample.shape[-2:])
        sample = self.conv_in(sample)
        down_block_res_samples: tuple[torch.Tensor, ...] = (sample,)
        for down_block in self.down_blocks:
            sample, res_samples = down_block(sample, emb, encoder_hidden_states)
            down_block_res_samples += res_samples
        sample = self.mid_block(sample, emb, encoder_hidden_states)
        for i, up_block in enumerate(self.up_blocks):
            res_samples = down_block_res_samples[-len(up_block.resnets) :]
            down_block_res_samples = down_block_res_samples[: -len(up_block.resnets)]
            is_final_block = i == len(self.up_blocks) - 1
            upsample_size = (
                tuple(down_block_res_samples[-1].shape[2:])
                if forward_upsample_size and not is_final_block
                else None
            )
            sample = up_block(sample, res_samples, emb, encoder_hidden_states, upsample_size)
        sample = self.conv_act(self.conv_norm_out(sample))
        return self.conv_out(sample)


def _fold_frames(per_video: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, ...] → [B*F, ...], each video's entry repeated for its F frames (frame index fastest)."""
    expanded = per_video.unsqueeze(1).expand(-1, frames, *per_video.shape[1:])
    return expanded.reshape(-1, *per_video.shape[1:])


def example_inputs(config: KeyframeUNetConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """Realistic inputs in forward order (keys = the ONNX input names of the model-folder contract)."""
    generator = torch.Generator().manual_seed(0)
    size = config.sample_size
    return {
        "sample": torch.randn(batch_size, config.in_channels, config.frames, size, size, generator=generator),
        "timestep": torch.randint(0, 1000, (batch_size,), generator=generator).to(torch.float32),
        "encoder_hidden_states": torch.randn(batch_size, 77, config.cross_attention_dim, generator=generator),
        "fps": 2.0 + 28.0 * torch.rand(batch_size, generator=generator),
    }
