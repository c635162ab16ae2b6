"""Training clips encoded once for the interpolation U-Net: all 61 frames' latents and the key
frames' image embeddings, on disk.

An interpolation example is one neighbour pair of a clip (key frames 4k and 4k+4) and the 3
frames between them. Rendering the clip and VAE-encoding those 5 frames per example cost about
2–2.7 s per step of 16 pairs on one thread, twenty times the U-Net's own step, so this stage,
like the key-frame stage (latent_cache.py), trains on a fixed pool of N training clips (train
split, indices 0 … N−1), each encoded once, a shard at a time, and read back from disk after
that. A cached clip holds what every one of its 15 pairs needs:

- ``latents`` [C, 61, h, w]: the VAE posterior's mode of each of the 61 frames, unscaled (the
  trainer multiplies by the latent scaling factor, as the runtime's latents are scaled);
- ``keyframe_embeds`` [16, E]: the image embeddings the serving runtime gives the model. The
  interpolation stage (libs/diffusion/src/stages/interpolate.ts, and
  evaluation/onnx_pipeline.py's ``interpolate`` as evaluate calls it) embeds the *decoded* key
  frames: the 16 key-frame latents decoded together by the VideoVAE, rounded to bytes, then
  CLIP's pixel values. Training embeds the same, so the model learns on the embeddings it is
  served, not on those of the true frames it never sees at inference.

The cache folder is keyed like the key-frame cache (model set, data seed, shard size) plus a
digest of every weight the entries depend on: the image encoder and the VAE's encoder, as
``encodings_digest``, and here also the VAE's decoder (the embeddings are of decoded frames).
It lives beside the key-frame cache (.cache/interp_latents), never inside it.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from magicvideo_models.image_encoder import pixel_values_from_frames
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, ShapesClip
from magicvideo_models.training.latent_cache import (
    SHARD_CLIPS,
    FrozenEncoders,
    ShardedClipCache,
    load_frozen_encoders,
)
from magicvideo_models.training.trained_weights import DEFAULT_WEIGHTS_FOLDER
from magicvideo_models.video_vae import DECODER_PREFIXES

DEFAULT_INTERP_CACHE_ROOT = Path(".cache/interp_latents")


@dataclass(frozen=True)
class InterpolationClips:
    """Clips as the interpolation U-Net's training and final check read them."""

    latents: torch.Tensor  # [N, C, 61, h, w] unscaled posterior-mode latents of all 61 frames
    keyframe_embeds: torch.Tensor  # [N, 16, E] image embeddings of the decoded key frames


def decoded_keyframe_bytes(encoders: FrozenEncoders, keyframe_latents: torch.Tensor) -> torch.Tensor:
    """Unscaled key-frame latents [N, C, 16, h, w] → uint8-valued frames [N, 16, 3, H, W] (float32):
    the decode stage's output, the 16 frames decoded together, rounded half to even as the
    runtime's signedUnitToByte."""
    with torch.no_grad():
        video = torch.cat(
            [
                encoders.vae.decode(chunk.to(encoders.device)).float().cpu()
                for chunk in keyframe_latents.split(16)
            ]
        )  # [N, 3, 16, H, W]
    unit = (video * 0.5 + 0.5).clamp(0.0, 1.0)
    return torch.round(unit * 255.0).movedim(1, 2)


@torch.no_grad()
def decoded_keyframe_embeds(encoders: FrozenEncoders, keyframe_latents: torch.Tensor) -> torch.Tensor:
    """Unscaled key-frame latents [N, C, 16, h, w] → image embeddings [N, 16, E] of the decoded key
    frames, as the serving runtime's interpolation stage computes them."""
    frames = decoded_keyframe_bytes(encoders, keyframe_latents)  # [N, 16, 3, H, W] in 0 … 255
    signed = (frames / 127.5 - 1.0).flatten(0, 1).to(encoders.device)
    embeds = encoders.image_encoder(pixel_values_from_frames(signed, encoders.image_size))
    return embeds.unflatten(0, frames.shape[:2]).float().cpu()


def encode_for_interpolation(encoders: FrozenEncoders, clips: Sequence[ShapesClip]) -> InterpolationClips:
    """Encode clips' 61 frames and embed their decoded key frames."""
    latents, _ = encoders.encode_frames(np.stack([clip.frames for clip in clips]))  # [N, C, 61, h, w]
    embeds = decoded_keyframe_embeds(encoders, latents[:, :, ::INTERPOLATION_FACTOR])
    return InterpolationClips(latents=latents, keyframe_embeds=embeds)


def interpolation_cache_digest(encoders: FrozenEncoders) -> str:
    """The key-frame cache's digest (image encoder, VAE encoder) extended by the VAE's decoder."""
    digest = hashlib.sha256(encoders.digest.encode())
    state = encoders.vae.state_dict()
    for name in sorted(k for k in state if k.startswith(DECODER_PREFIXES)):
        digest.update(name.encode())
        digest.update(state[name].detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


class InterpolationLatentCache(ShardedClipCache):
    """The interpolation stage's cache: all 61 frames' latents and the decoded key frames' embeddings."""

    def _digest(self, encoders: FrozenEncoders) -> str:
        return interpolation_cache_digest(encoders)  # the decoder too: the embeddings are of decoded frames

    @property
    def shard_count(self) -> int:
        return -(-self.pool_clips // self.shard_clips)

    def fill(self, progress: Callable[[str], None] | None = None) -> None:
        """Load or encode every shard of the pool (so that steps cost only the U-Net)."""
        for shard in range(self.shard_count):
            self._shard(shard)
            if progress is not None:
                progress(f"interpolation cache: shard {shard + 1}/{self.shard_count}")

    def clips(self, indices: Sequence[int]) -> InterpolationClips:
        rows = self._rows(indices)
        return InterpolationClips(
            latents=torch.stack([s["latents"][r] for s, r in rows]),
            keyframe_embeds=torch.stack([s["keyframe_embeds"][r] for s, r in rows]),
        )

    def _encode_clips(self, clips: Sequence[ShapesClip]) -> dict:
        encoded = encode_for_interpolation(self.encoders, clips)
        return {"latents": encoded.latents, "keyframe_embeds": encoded.keyframe_embeds}


def main(argv: Sequence[str] | None = None) -> None:
    """Fill the cache ahead of a training run (the trainer fills whatever is missing itself)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--encoders-from", type=Path, default=DEFAULT_WEIGHTS_FOLDER)
    parser.add_argument("--cache-root", type=Path, default=DEFAULT_INTERP_CACHE_ROOT)
    parser.add_argument("--model-set", default="tiny")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--pool-clips", type=int, default=1024)
    parser.add_argument("--cache-shard-clips", type=int, default=SHARD_CLIPS)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model_set = ModelSetConfig.by_name(args.model_set)
    encoders = load_frozen_encoders(args.encoders_from, model_set)
    cache = InterpolationLatentCache(
        args.cache_root, encoders, args.model_set, args.data_seed, args.pool_clips, args.cache_shard_clips
    )
    cache.fill(lambda line: print(f"{cache.folder}: {line}", flush=True))


if __name__ == "__main__":
    main()
