"""A loss on the decoded frames, through the frozen VideoVAE decoder (train_interp_unet.py and
train_keyframe_unet.py --pixel-weight).

The interpolation U-Net's epsilon loss teaches it the encoder's middle latents, but what a user sees
is their decoding, and the encoder's latents are not the ones this decoder renders best: optimising
the middle latents of 3 val clips against their true frames (60 Adam steps, the shipped VAE) raises
the middle frames from 34.4 to 37.9 dB, moving the latents by an MSE of 0.066; held near the
encoder's latents (a penalty 0.3·MSE, which leaves them 3.4e-4 away, the interpolation U-Net's own
error), still to 35.2 dB. A U-Net trained on latents alone cannot show in the frames that it
interpolates better than blending, since the VAE's error even from the true latents is 50× the blend's
distance from their decoding; trained on the frames as well, it can learn to render them.

Per step, for the first --pixel-examples examples of the batch: decode the earlier neighbour and the
three predicted clean middle latents x̂0 (the decoder is causal: this 4-frame window decodes the
middle frames as the runtime's 61-frame decode does, to 69 dB), and take the squared error of the
three middle frames against the rendered true frames, weighted per example as the latent loss
weighs its clean-sample error, clamp(SNR_t, φ, γ) (loss_weighting.clean_sample_weights).

The key-frame U-Net can take the same term (off by default): the judge's shape reading is limited
by the encoder's latents, not by the decoder (on 30 held-out clips, the judge reads 27 of the
VAE's reconstructions right and 30 of the decodings of latents optimised against the true frames).
There each step decodes a seeded window of --pixel-frames key frames of the first --pixel-examples
examples, decoded without left context (the window's first frames decode as a clip's first
frames do; how far that is from their decode inside all 16 key frames was not measured).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from magicvideo_models.shapes.clips import INTERPOLATION_FACTOR, sample_clip
from magicvideo_models.training.shapes_dataset import signed_pixels
from magicvideo_models.video_vae import VideoVAE


def true_middle_frames(
    data_seed: int, clip_indices: Sequence[int], pairs: Sequence[int], reverse: Sequence[bool]
) -> torch.Tensor:
    """Training clip clip_indices[i]'s frames 4k+1 … 4k+3 (k = pairs[i]), reversed where reverse[i],
    as float32 [N, 3, 3, H, W] in [-1, 1]: the pixels pair_windows' middle latents encode."""
    windows = []
    for index, k, backwards in zip(clip_indices, pairs, reverse, strict=True):
        first = INTERPOLATION_FACTOR * k + 1
        clip = sample_clip(data_seed, index, "train")
        frames = signed_pixels(clip.frames[first : first + 3])  # [3 frames, 3, H, W]
        windows.append(frames.flip(0) if backwards else frames)
    return torch.stack(windows).movedim(1, 2)  # [N, 3 channels, 3 frames, H, W]


def true_keyframes(
    data_seed: int, clip_indices: Sequence[int], reverse: Sequence[bool], first: int, count: int
) -> torch.Tensor:
    """Training clip clip_indices[i]'s key frames first … first + count − 1, of the clip played
    backwards where reverse[i], as float32 [N, 3, count, H, W] in [-1, 1]: the pixels of the
    key-frame stage's batch latents (train_keyframe_unet.augmented_batch)."""
    windows = []
    for index, backwards in zip(clip_indices, reverse, strict=True):
        keyframes = sample_clip(data_seed, index, "train").keyframes  # [16, H, W, 3]
        frames = signed_pixels(keyframes[::-1] if backwards else keyframes)[first : first + count]
        windows.append(frames)
    return torch.stack(windows).movedim(1, 2)


def decoded_frame_loss(
    vae: VideoVAE,
    latents: torch.Tensor,
    truth: torch.Tensor,
    weights: torch.Tensor,
    latent_scaling_factor: float,
    context_frames: int = 0,
) -> torch.Tensor:
    """Mean over examples of weights[i] · MSE of the decoded frames against the true ones.

    latents [N, C, F, h, w]: scaled (the predicted ones carry the gradient), of which the first
    context_frames are decoded only as the (causal) decoder's context; truth [N, 3, F − context_frames,
    H, W] in [-1, 1]; weights [N]."""
    window = latents.float() / latent_scaling_factor
    decoded = vae.decode(window.to(next(vae.parameters()).dtype))[:, :, context_frames:].float()
    per_example = (decoded - truth.to(decoded.device)).pow(2).flatten(1).mean(dim=1)
    return (per_example * weights.to(per_example.device)).mean()
