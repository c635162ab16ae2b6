"""The frozen trained encoders, and a disk cache of training clips encoded by them.

The key-frame U-Net learns in the VAE's latent space, conditioned on CLIP image embeddings of the
clip's frames (unsupervised stage, paper §3.1.3) or on the text encoder's states of its caption
(eq. 6). The VAE and the CLIP encoders are trained before it and frozen, so a clip's encodings
never change. Measured here (tiny, 1 thread): encoding one clip's 16 key frames costs about
0.15 s in the VAE encoder and 0.03 s in the image encoder, more than the U-Net's training step
spends on that clip (about 0.1 s). So the key-frame stage trains on a fixed pool of N training
clips (train-split indices 0 … N−1), each encoded once, a shard at a time, the first time a step
needs it, and read back from disk after that: later epochs, resumed runs and the next session
pay nothing.

A cache folder is keyed by the model set, the data seed, the shard size and a digest of the
weights the encodings depend on (image encoder, VAE encoder), so retrained encoders never read
stale latents, while a VAE whose decoder alone was retrained keeps its cache. Shards are
written to `<file>.partial` and renamed (atomic), as checkpoints are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from magicvideo_models.image_encoder import ImageEncoder, pixel_values_from_frames
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import ShapesClip, sample_clip
from magicvideo_models.shapes.grammar import ShapeAttributes
from magicvideo_models.text_encoder import TextEncoder
from magicvideo_models.training.shapes_dataset import signed_pixels
from magicvideo_models.training.trained_weights import TrainedWeights, load_trained_weights
from magicvideo_models.video_vae import ENCODER_PREFIXES, VideoVAE

DEFAULT_CACHE_ROOT = Path(".cache/keyframe_latents")
SHARD_CLIPS = 64
ENCODER_STAGES = ("clip", "vae")


class MissingEncoderWeightsError(FileNotFoundError):
    """The weights folder lacks a trained stage the U-Nets are trained on (clip or vae)."""


@dataclass
class FrozenEncoders:
    """The trained text encoder, image encoder and VAE, in eval mode with gradients off."""

    text_encoder: TextEncoder
    image_encoder: ImageEncoder
    vae: VideoVAE
    latent_scaling_factor: float  # diffusion latents = VAE latents × this (vae.json's measured value)
    image_size: int
    digest: str  # of the weights the cached encodings depend on: the cache key
    device: str

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 frames [N, F, H, W, 3] → (unscaled posterior-mode latents [N, C, F, h, w],
        image embeddings [N, F, E]), both float32 on the CPU."""
        count, num_frames = frames.shape[:2]
        pixels = signed_pixels(frames.reshape(-1, *frames.shape[2:])).to(self.device)  # [N·F, 3, H, W]
        latents = torch.cat([self.vae.encode(chunk).mode() for chunk in pixels.split(256)])
        embeds = torch.cat(
            [
                self.image_encoder(pixel_values_from_frames(chunk, self.image_size))
                for chunk in pixels.split(256)
            ]
        )
        latents = latents.unflatten(0, (count, num_frames)).movedim(1, 2)
        return latents.float().cpu(), embeds.unflatten(0, (count, num_frames)).float().cpu()

    @torch.no_grad()
    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, 77] → last_hidden_state [B, 77, D]: the U-Net's text context τ(y)."""
        return self.text_encoder(input_ids.to(self.device))


def encodings_digest(weights: TrainedWeights) -> str:
    """Digest of the weights a cached encoding depends on: the image encoder, and the VAE's
    encoder and quant_conv (not its decoder, whose temporal layers may be retrained later)."""
    digest = hashlib.sha256()
    vae = weights.components["vae"]
    tensors = {f"image_encoder.{k}": v for k, v in weights.components["image_encoder"].items()} | {
        f"vae.{k}": v for k, v in vae.items() if k.startswith(ENCODER_PREFIXES)
    }
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def load_frozen_encoders(folder: Path, model_set: ModelSetConfig, device: str = "cpu") -> FrozenEncoders:
    """The trained clip and vae stages of `folder` (assets/checkpoints/magicvideo-shapes)."""
    missing = [stage for stage in ENCODER_STAGES if not (folder / f"{stage}.safetensors").is_file()]
    if missing:
        raise MissingEncoderWeightsError(
            f"{folder} has no trained {', '.join(missing)} weights: train those stages first"
        )
    weights = load_trained_weights(folder)
    scaling = weights.latent_scaling_factor
    if scaling is None:
        raise MissingEncoderWeightsError(f"{folder}/vae.json carries no latent_scaling_factor")
    text = TextEncoder(model_set.text_encoder)
    image = ImageEncoder(model_set.image_encoder)
    vae = VideoVAE(model_set.vae)
    for module, component in ((text, "text_encoder"), (image, "image_encoder"), (vae, "vae")):
        module.load_state_dict(weights.components[component], strict=True)
        module.eval().requires_grad_(False).to(device)
    return FrozenEncoders(
        text_encoder=text,
        image_encoder=image,
        vae=vae,
        latent_scaling_factor=scaling,
        image_size=model_set.image_encoder.image_size,
        digest=encodings_digest(weights),
        device=device,
    )


def load_or_encode_shard(path: Path, encode: Callable[[], dict]) -> dict:
    """The shard stored at `path`, or `encode()` written there first (to `<file>.partial`, then
    renamed, so a stopped run never leaves half a shard)."""
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=False)
    shard = encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(shard, partial)
    os.replace(partial, path)
    return shard


@dataclass(frozen=True)
class EncodedClips:
    """Clips of the pool as the key-frame U-Net's training sees them."""

    latents: torch.Tensor  # [B, C, 16, h, w] unscaled VAE latents of the key frames
    image_embeds: torch.Tensor  # [B, 16, E] CLIP image embeddings of the key frames
    fps: torch.Tensor  # [B] ν = 16/Ls · FPS (paper §3.1.3)
    attributes: list[ShapeAttributes]
    captions: list[str]


class ShardedClipCache:
    """Training clips 0 … pool_clips−1 of the train split, encoded once, in shards of shard_clips.

    The pool and shard bookkeeping every stage's cache shares; a subclass says how a shard's
    clips are encoded (``_encode_clips``), what a step reads (its ``clips``) and, where its entries
    depend on more weights than the encoders' digest covers, its own ``_digest``, which keys the
    folder by the weights the encodings depend on.
    """

    def __init__(
        self,
        root: Path,
        encoders: FrozenEncoders,
        model_set: str,
        data_seed: int,
        pool_clips: int,
        shard_clips: int = SHARD_CLIPS,
    ) -> None:
        if pool_clips < 1 or shard_clips < 1:
            raise ValueError(f"pool_clips and shard_clips must be positive, got {pool_clips}, {shard_clips}")
        self.digest = self._digest(encoders)
        self.folder = root / f"{model_set}-data{data_seed}-shard{shard_clips}-{self.digest}"
        self.shard_clips = shard_clips
        self.encoders = encoders
        self.data_seed = data_seed
        self.pool_clips = pool_clips
        self.shards: dict[int, dict] = {}
        self.encoded_clips = 0  # clips this process encoded (not read back): the cache's cost

    def _rows(self, indices: Sequence[int]) -> list[tuple[dict, int]]:
        """(shard contents, row in the shard) of each pool index, loading or encoding shards."""
        if any(not 0 <= index < self.pool_clips for index in indices):
            raise IndexError(f"clip indices must lie in the pool [0, {self.pool_clips})")
        return [(self._shard(index // self.shard_clips), index % self.shard_clips) for index in indices]

    def _shard(self, shard: int) -> dict:
        if shard not in self.shards:
            path = self.folder / f"shard_{shard:05d}.pt"
            self.shards[shard] = load_or_encode_shard(path, lambda: self._encode_shard(shard))
        return self.shards[shard]

    def _encode_shard(self, shard: int) -> dict:
        # always whole shards, so a shard's content never depends on the pool size
        first = shard * self.shard_clips
        clips = [
            sample_clip(self.data_seed, index, "train") for index in range(first, first + self.shard_clips)
        ]
        encoded = self._encode_clips(clips)
        self.encoded_clips += len(clips)
        return encoded

    def _digest(self, encoders: FrozenEncoders) -> str:
        """The weights the entries depend on: by default the image encoder and the VAE's encoder."""
        return encoders.digest

    def _encode_clips(self, clips: Sequence[ShapesClip]) -> dict:
        raise NotImplementedError


class LatentCache(ShardedClipCache):
    """The key-frame stage's cache: the 16 key frames' latents and image embeddings, ν, caption."""

    def clips(self, indices: Sequence[int]) -> EncodedClips:
        rows = self._rows(indices)
        return EncodedClips(
            latents=torch.stack([s["latents"][r] for s, r in rows]),
            image_embeds=torch.stack([s["image_embeds"][r] for s, r in rows]),
            fps=torch.stack([s["fps"][r] for s, r in rows]),
            attributes=[ShapeAttributes(*s["attributes"][r]) for s, r in rows],
            captions=[s["captions"][r] for s, r in rows],
        )

    def _encode_clips(self, clips: Sequence[ShapesClip]) -> dict:
        latents, embeds = self.encoders.encode_frames(np.stack([clip.keyframes for clip in clips]))
        return {
            "latents": latents,
            "image_embeds": embeds,
            "fps": torch.tensor([clip.fps_condition for clip in clips], dtype=torch.float32),
            "attributes": [
                (clip.attributes.colour, clip.attributes.shape, clip.attributes.motion) for clip in clips
            ],
            "captions": [clip.caption for clip in clips],
        }
