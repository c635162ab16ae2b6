"""One MagicVideo model set: every model's config plus the pipeline facts of its manifest.

A model folder (DESIGN.md §5) is made from exactly one `ModelSetConfig`: the six model configs
give the ONNX files, the rest becomes `model_index.json` (schedulers in diffusers' key names,
sampling defaults, the FPS range of paper eq. 5).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial

import torch
from torch import nn

from . import image_encoder, interp_unet, keyframe_unet, sr_unet, text_encoder, video_vae
from .image_encoder import ImageEncoder, ImageEncoderConfig
from .interp_unet import InterpUNet, InterpUNetConfig
from .keyframe_unet import KeyframeUNet, KeyframeUNetConfig
from .sr_unet import SRUNet, SRUNetConfig
from .text_encoder import TextEncoder, TextEncoderConfig
from .video_vae import VideoVAE, VideoVAEConfig

CONFIG_NAMES = ("tiny", "small", "base")


@dataclass(frozen=True)
class SchedulerConfig:
    """A diffusers scheduler config (DDIMScheduler's keys; DDPM, DPM-Solver++ and Euler read
    the same ones)."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: str = "epsilon"
    timestep_spacing: str = "leading"
    steps_offset: int = 1
    clip_sample: bool = False
    set_alpha_to_one: bool = False

    @classmethod
    def latent_diffusion(cls) -> SchedulerConfig:
        """Stable Diffusion 1.x's schedule: the key-frame U-Net is initialised from it
        (paper §4) and the interpolation U-Net from the key-frame U-Net (§3.2)."""
        return cls()

    @classmethod
    def super_resolution(cls) -> SchedulerConfig:
        """Pixel-space SR (paper §3.4), after SD's x4 upscaler: linear betas 1e-4 -> 0.02.

        v-prediction, as that upscaler: with the 4-8 sampling steps the CPU budget allows, the
        first steps start at low SNR, where an epsilon model's x0 estimate is unstable and a
        v model's is not. "trailing" spacing, so that few steps still start at t = 999, where
        sampling's pure-noise start belongs ("leading" starts 6 steps at t = 831).
        The same betas define the noise conditioning augmentation of the low-res input (the
        upscaler's low_res_scheduler): low_res_noisy = sqrt(alpha_bar[n]) * low_res
        + sqrt(1 - alpha_bar[n]) * noise, with n = sr_noise_level.
        """
        return cls(
            beta_start=0.0001,
            beta_end=0.02,
            beta_schedule="linear",
            prediction_type="v_prediction",
            timestep_spacing="trailing",
        )


@dataclass(frozen=True)
class SamplingDefaults:
    """What the serving runtime uses when a request says nothing. Sized for the ~30 s budget
    of the whole tiny pipeline on 2 CPU cores."""

    num_inference_steps: int = 25
    guidance_scale: float = 7.5
    sampler: str = "ddim"
    interp_num_inference_steps: int = 10
    sr_num_inference_steps: int = 6
    sr_noise_level: int = 20


@dataclass(frozen=True)
class FpsRange:
    """Range of the FPS condition nu = 16 / Ls * FPS (paper §3.1.3, eq. 5) seen in training."""

    min: float = 2.0
    max: float = 30.0
    default: float = 8.0


@dataclass(frozen=True)
class ModelSetConfig:
    name: str
    text_encoder: TextEncoderConfig
    image_encoder: ImageEncoderConfig
    keyframe_unet: KeyframeUNetConfig
    interp_unet: InterpUNetConfig
    vae: VideoVAEConfig
    sr_unet: SRUNetConfig
    sample_size: int  # key-frame pixels per side
    frames: int = 16  # key frames per clip (paper §3.1)
    interp_factor: int = 4  # (frames - 1) * 4 + 1 = 61 latent frames after interpolation (§3.2)
    latent_channels: int = 4
    vae_scale_factor: int = 8
    # diffusion latents = VAE latents * factor. 0.18215 is SD 1.x's measured value (base
    # starts from SD weights). A trained set measures it as 1 / std of its VAE's latents; the
    # untrained tiny and small sets use 1.0 until their training measures it.
    latent_scaling_factor: float = 1.0
    sr_scale: int = 4  # pixel-space super-resolution factor (§3.4)
    text_max_length: int = 77
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig.latent_diffusion)
    sr_scheduler: SchedulerConfig = field(default_factory=SchedulerConfig.super_resolution)
    defaults: SamplingDefaults = field(default_factory=SamplingDefaults)
    fps: FpsRange = field(default_factory=FpsRange)

    @property
    def latent_size(self) -> int:
        return self.sample_size // self.vae_scale_factor

    @property
    def sr_size(self) -> int:
        return self.sample_size * self.sr_scale

    @property
    def interp_frames(self) -> int:
        return (self.frames - 1) * self.interp_factor + 1

    @classmethod
    def tiny(cls) -> ModelSetConfig:
        """The trained demo and the tests: 64x64 key frames, 4x8x8 latents, SR to 256x256."""
        return cls(
            name="tiny",
            text_encoder=TextEncoderConfig.tiny(),
            image_encoder=ImageEncoderConfig.tiny(),
            keyframe_unet=KeyframeUNetConfig.tiny(),
            interp_unet=InterpUNetConfig.tiny(),
            vae=VideoVAEConfig.tiny(),
            sr_unet=SRUNetConfig.tiny(),
            sample_size=64,
        )

    @classmethod
    def small(cls) -> ModelSetConfig:
        """CPU benchmarks: 128x128 key frames, 4x16x16 latents, SR to 512x512."""
        return cls(
            name="small",
            text_encoder=TextEncoderConfig.small(),
            image_encoder=ImageEncoderConfig.small(),
            keyframe_unet=KeyframeUNetConfig.small(),
            interp_unet=InterpUNetConfig.small(),
            vae=VideoVAEConfig.small(),
            sr_unet=SRUNetConfig.small(),
            sample_size=128,
        )

    @classmethod
    def base(cls) -> ModelSetConfig:
        """The paper's scale: an SD 1.x sized U-Net on 4x32x32 latents for 256x256, SR to 1024."""
        return cls(
            name="base",
            text_encoder=TextEncoderConfig.base(),
            image_encoder=ImageEncoderConfig.base(),
            keyframe_unet=KeyframeUNetConfig.base(),
            interp_unet=InterpUNetConfig.base(),
            vae=VideoVAEConfig.base(),
            sr_unet=SRUNetConfig.base(),
            sample_size=256,
            latent_scaling_factor=0.18215,
        )

    @classmethod
    def by_name(cls, name: str) -> ModelSetConfig:
        if name not in CONFIG_NAMES:
            raise UnknownConfigError(name)
        return getattr(cls, name)()

    def to_dict(self) -> dict:
        return asdict(self)


class UnknownConfigError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model-set config {name!r}: choose one of {', '.join(CONFIG_NAMES)}")
        self.name = name


@dataclass(frozen=True)
class ExportableModel:
    """One ONNX file of the folder: a contract model name, its module and its example inputs."""

    name: str  # a key of the contract's `models` (text_encoder, unet, vae_decoder, ...)
    module: nn.Module
    inputs_for_batch: Callable[[int], dict[str, torch.Tensor]]


def model_seed(seed: int, component: str) -> int:
    """Each model draws its weights from its own seed, so one model's weights never depend on
    which others were built before it."""
    return (seed * 1_000_003 + zlib.crc32(component.encode())) % 2**63


@dataclass(frozen=True)
class BuiltModelSet:
    models: list[ExportableModel]  # in the contract's order
    decoder_context_frames: int  # the VideoVAE's, for the manifest


def build_models(config: ModelSetConfig, seed: int = 0) -> BuiltModelSet:
    """Every model of the set, randomly initialised from `seed`, in the contract's order.

    Works under `torch.device("meta")` too (info.py counts FLOPs without allocating weights).
    """

    def seeded(component: str) -> None:
        torch.manual_seed(model_seed(seed, component))

    seeded("text_encoder")
    text = TextEncoder(config.text_encoder).eval()
    seeded("image_encoder")
    image = ImageEncoder(config.image_encoder).eval()
    seeded("unet")
    unet = KeyframeUNet(config.keyframe_unet).eval()
    seeded("interp_unet")
    interp = InterpUNet(config.interp_unet).eval()
    seeded("vae")
    vae = VideoVAE(config.vae).eval()
    seeded("sr_unet")
    sr = SRUNet(config.sr_unet).eval()
    models = [
        ExportableModel("text_encoder", text, partial(text_encoder.example_inputs, config.text_encoder)),
        ExportableModel("image_encoder", image, partial(image_encoder.example_inputs, config.image_encoder)),
        ExportableModel("unet", unet, partial(keyframe_unet.example_inputs, config.keyframe_unet)),
        ExportableModel("interp_unet", interp, partial(interp_unet.example_inputs, config.interp_unet)),
        ExportableModel(
            "vae_encoder", vae.encode_for_export(), partial(video_vae.example_encoder_inputs, config.vae)
        ),
        ExportableModel(
            "vae_decoder", vae.decoder_for_export(), partial(video_vae.example_inputs, config.vae)
        ),
        ExportableModel("sr_unet", sr, partial(sr_unet.example_inputs, config.sr_unet)),
    ]
    return BuiltModelSet(models, int(vae.decoder_context_frames))
