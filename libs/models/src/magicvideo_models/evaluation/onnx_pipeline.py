"""A model folder's stages through onnxruntime, sampled by the Python reference sampler.

Evaluation scores what ships: the folder's ONNX files, run as the TypeScript runtime runs them
(libs/diffusion/src/stages), with ``sampling.sample`` and the seeded noise of docs/noise.md, so
a clip made here from (prompt, seed, ν) is the clip ``magicvideo generate`` makes up to float
rounding (the key-frame parity fixture proves it for the key frames):

- text: the tokenizer on [negative prompt, prompt] in one text-encoder batch (``encodeText``);
- key frames: ``sample`` with the key-frame streams, classifier-free guidance, FPS condition ν;
- interpolation: all neighbour pairs as one [P, C, 3, h, w] run with the interpolation streams,
  neighbours' clean latents and their decoded frames' CLIP image embeddings (``interpolate``);
- decode: latents ÷ latent_scaling_factor through the VideoVAE decoder, bytes rounded half to
  even as ``signedUnitToByte``; one call over all frames, which equals the runtime's chunked
  decode (the directed, windowed attention sees the same frames either way);
- super-resolution: bicubic upsampling, noise conditioning augmentation to the noise level,
  then ``sample`` with the SR streams and no guidance (``superResolve``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from diffusers import DDPMScheduler
from tokenizers import Tokenizer

from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id
from magicvideo_models.sampling import (
    INTERP_STREAMS,
    KEYFRAME_STREAMS,
    SR_STREAMS,
    SamplerName,
    onnx_denoiser,
    sample,
)
from magicvideo_models.training.train_sr import noise_augmented, upsampled


@dataclass(frozen=True)
class SamplingSettings:
    """How clips are sampled; None takes the manifest's default (``defaults``)."""

    steps: int | None = None
    guidance_scale: float | None = None
    sampler: SamplerName | None = None
    interp_steps: int | None = None
    sr_steps: int | None = None

    def resolved(self, manifest: Mapping[str, Any]) -> ResolvedSettings:
        defaults = manifest["defaults"]
        return ResolvedSettings(
            steps=self.steps if self.steps is not None else int(defaults["num_inference_steps"]),
            guidance_scale=(
                self.guidance_scale if self.guidance_scale is not None else float(defaults["guidance_scale"])
            ),
            sampler=self.sampler if self.sampler is not None else defaults["sampler"],
            interp_steps=(
                self.interp_steps
                if self.interp_steps is not None
                else int(defaults["interp_num_inference_steps"])
            ),
            sr_steps=self.sr_steps if self.sr_steps is not None else int(defaults["sr_num_inference_steps"]),
            sr_noise_level=int(defaults["sr_noise_level"]),
        )


@dataclass(frozen=True)
class ResolvedSettings:
    steps: int
    guidance_scale: float
    sampler: SamplerName
    interp_steps: int
    sr_steps: int
    sr_noise_level: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def signed_to_bytes(frames: np.ndarray) -> np.ndarray:
    """Float frames in [-1, 1] → bytes, as the runtime's signedUnitToByte (float32, half to even)."""
    unit = np.clip(frames.astype(np.float32) * np.float32(0.5) + np.float32(0.5), 0.0, 1.0)
    return np.rint(unit * np.float32(255.0)).astype(np.uint8)


def bytes_to_signed(frames: np.ndarray) -> np.ndarray:
    """uint8 frames → float32 in [-1, 1], as the runtime's byteToSignedUnit."""
    return (np.float32(2.0) * (frames.astype(np.float32) / np.float32(255.0)) - np.float32(1.0)).astype(
        np.float32
    )


def channels_last_frames(video: np.ndarray) -> np.ndarray:
    """Decoder output [1, 3, N, H, W] → [N, H, W, 3]."""
    return np.ascontiguousarray(video[0].transpose(1, 2, 3, 0))


@dataclass
class OnnxModelFolder:
    """A model folder opened for evaluation: manifest, tokenizer, sessions loaded on first use."""

    path: Path
    manifest: dict[str, Any]
    tokenizer: Tokenizer
    threads: int | None = None
    _sessions: dict[str, ort.InferenceSession] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path, threads: int | None = None) -> OnnxModelFolder:
        folder = Path(path)
        manifest = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
        return cls(folder, manifest, tokenizer, threads)

    def session(self, model: str) -> ort.InferenceSession:
        """The onnxruntime session of a manifest model ("unet", "vae_decoder", ...)."""
        if model not in self._sessions:
            self._sessions[model] = self.session_for_bytes(
                (self.path / self.manifest["models"][model]).read_bytes()
            )
        return self._sessions[model]

    def session_for_bytes(self, model_bytes: bytes) -> ort.InferenceSession:
        """A session over a serialised ONNX model (a rewritten folder model), with this folder's threads."""
        options = ort.SessionOptions()
        if self.threads is not None:
            options.intra_op_num_threads = self.threads
        return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    @property
    def latent_scaling_factor(self) -> float:
        return float(self.manifest["latent_scaling_factor"])

    def encode_text(self, prompt: str, negative_prompt: str = "") -> tuple[torch.Tensor, torch.Tensor]:
        """(cond, uncond) last hidden states [1, L, D]: one batch [negative, prompt], as encodeText."""
        session = self.session("text_encoder")
        (ids_input,) = session.get_inputs()
        ids_dtype = np.int32 if ids_input.type == "tensor(int32)" else np.int64
        ids = np.array(
            [encoding.ids for encoding in self.tokenizer.encode_batch([negative_prompt, prompt])],
            dtype=ids_dtype,
        )
        (hidden, *_) = session.run(None, {ids_input.name: ids})
        hidden = torch.from_numpy(np.asarray(hidden, dtype=np.float32))
        return hidden[1:], hidden[:1]

    def keyframe_latents(
        self, prompt: str, *, seed: int, fps: float, settings: ResolvedSettings, negative_prompt: str = ""
    ) -> torch.Tensor:
        """Scaled key-frame latents [1, C, F, h, w] for a prompt (paper §3.1; eq. 5's ν = fps)."""
        cond, uncond = self.encode_text(prompt, negative_prompt)
        manifest = self.manifest
        scale = manifest["vae_scale_factor"]
        shape = (
            1,
            manifest["latent_channels"],
            manifest["frames"],
            manifest["sample_size"]["height"] // scale,
            manifest["sample_size"]["width"] // scale,
        )
        return sample(
            onnx_denoiser(self.session("unet")),
            {"encoder_hidden_states": cond},
            {"encoder_hidden_states": uncond},
            sampler=settings.sampler,
            steps=settings.steps,
            guidance_scale=settings.guidance_scale,
            seed=seed,
            shape=shape,
            scheduler_config=manifest["schedulers"]["unet"],
            shared={"fps": torch.tensor([fps], dtype=torch.float32)},
            streams=KEYFRAME_STREAMS,
        )

    def decode_unscaled(self, latents: np.ndarray, decoder: ort.InferenceSession | None = None) -> np.ndarray:
        """Unscaled VAE latents [1, C, N, h, w] → float frames [1, 3, N, H, W] in [-1, 1]."""
        session = decoder or self.session("vae_decoder")
        (frames, *_) = session.run(None, {"latents": np.ascontiguousarray(latents, dtype=np.float32)})
        return np.asarray(frames, dtype=np.float32)

    def decode(self, scaled_latents: torch.Tensor | np.ndarray) -> np.ndarray:
        """Scaled diffusion latents [1, C, N, h, w] → frames uint8 [N, H, W, 3] (the decode stage)."""
        latents = np.asarray(scaled_latents, dtype=np.float32) / np.float32(self.latent_scaling_factor)
        return signed_to_bytes(channels_last_frames(self.decode_unscaled(latents)))

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] → unscaled latents [N, C, h, w], the posterior's mode (its mean)."""
        signed = bytes_to_signed(frames).transpose(0, 3, 1, 2)
        (parameters, *_) = self.session("vae_encoder").run(None, {"frames": np.ascontiguousarray(signed)})
        return np.asarray(parameters, dtype=np.float32)[:, : self.manifest["latent_channels"]]

    def reconstruct(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] → the VideoVAE's decoding of their latents, uint8 [N, H, W, 3]."""
        return self.decode(self.video_latents(frames) * np.float32(self.latent_scaling_factor))

    def video_latents(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] → unscaled latent video [1, C, N, h, w]."""
        return self.encode_frames(frames).transpose(1, 0, 2, 3)[None]

    def image_embeds(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] → CLIP image embeddings [N, E] (docs/models.md pixel values)."""
        encoder = self.manifest["image_encoder"]
        size = int(encoder["image_size"])
        pixels = torch.from_numpy(frames.astype(np.float32) / np.float32(255.0)).permute(0, 3, 1, 2)
        if pixels.shape[-2:] != (size, size):
            pixels = torch.nn.functional.interpolate(
                pixels, size=(size, size), mode="bicubic", antialias=True
            )
        mean = torch.tensor(encoder["image_mean"], dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(encoder["image_std"], dtype=torch.float32).view(1, 3, 1, 1)
        values = ((pixels - mean) / std).numpy()
        (embeds, *_) = self.session("image_encoder").run(None, {"pixel_values": values})
        return np.asarray(embeds, dtype=np.float32)

    def interpolate(
        self,
        keyframe_latents: torch.Tensor,
        keyframe_frames: np.ndarray,
        *,
        seed: int,
        settings: ResolvedSettings,
    ) -> torch.Tensor:
        """Scaled key-frame latents [1, C, F, h, w] → [1, C, (F − 1)·4 + 1, h, w] (paper §3.2).

        ``keyframe_frames`` uint8 [F, H, W, 3] are the key frames whose CLIP embeddings condition
        the model (the decoded key frames in the pipeline)."""
        _, channels, count, height, width = keyframe_latents.shape
        pairs = count - 1
        between = int(self.manifest["interp_factor"]) - 1  # 3: the contract's interp_unet frames
        neighbours = torch.stack(
            [keyframe_latents[0, :, index : index + 2] for index in range(pairs)]
        )  # [P, C, 2, h, w]
        embeds = torch.from_numpy(self.image_embeds(keyframe_frames))  # [F, E]
        pair_embeds = torch.stack([embeds[index : index + 2] for index in range(pairs)])  # [P, 2, E]
        schedulers = self.manifest["schedulers"]
        middle = sample(
            onnx_denoiser(self.session("interp_unet")),
            {},
            sampler=settings.sampler,
            steps=settings.interp_steps,
            guidance_scale=1.0,
            seed=seed,
            shape=(pairs, channels, between, height, width),
            scheduler_config=schedulers.get("interp_unet", schedulers["unet"]),
            shared={"neighbours": neighbours, "image_embeds": pair_embeds},
            streams=INTERP_STREAMS,
        )
        return interleave(keyframe_latents, middle)

    def super_resolve(self, low_res: np.ndarray, *, seed: int, settings: ResolvedSettings) -> np.ndarray:
        """Float frames [N, 3, h, w] in [-1, 1] → [N, 3, s·h, s·w] (paper §3.4, noise conditioning
        augmentation at the manifest's noise level)."""
        config = self.manifest["schedulers"]["sr_unet"]
        bicubic = upsampled(torch.from_numpy(low_res), int(self.manifest["sr_scale"]))
        alphas_cumprod = DDPMScheduler.from_config(config).alphas_cumprod
        level = settings.sr_noise_level
        noise = seeded_gaussian_tensor(
            seed, stream_id(NoisePurpose.SR_NOISE_AUGMENTATION, 0), tuple(bicubic.shape)
        )
        count = bicubic.shape[0]
        augmented = noise_augmented(bicubic, torch.full((count,), level), alphas_cumprod, noise)
        frames = sample(
            onnx_denoiser(self.session("sr_unet")),
            {},
            sampler=settings.sampler,
            steps=settings.sr_steps,
            guidance_scale=1.0,
            seed=seed,
            shape=tuple(bicubic.shape),
            scheduler_config=config,
            shared={"low_res": augmented, "noise_level": torch.full((count,), float(level))},
            streams=SR_STREAMS,
        )
        return frames.clamp(-1, 1).numpy()


def interleave(keyframe_latents: torch.Tensor, middle: torch.Tensor) -> torch.Tensor:
    """Key frames [1, C, F, h, w] and the frames between them [F − 1, C, m, h, w] →
    [1, C, (F − 1)·(m + 1) + 1, h, w]: k0, m frames, k1, …, k_{F−1} (interleaveInterpolatedFrames)."""
    pieces = []
    for index in range(keyframe_latents.shape[2] - 1):
        pieces.append(keyframe_latents[:, :, index : index + 1])
        pieces.append(middle[index : index + 1])
    pieces.append(keyframe_latents[:, :, -1:])
    return torch.cat(pieces, dim=2)
