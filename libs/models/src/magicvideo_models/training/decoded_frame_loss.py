"""A loss on the decoded middle frames, through the frozen VideoVAE decoder (train_interp_unet.py
--pixel-weight).

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


def decoded_middle_frame_loss(
    vae: VideoVAE,
    first_neighbour: torch.Tensor,
    clean_middle: torch.Tensor,
    truth: torch.Tensor,
    weights: torch.Tensor,
    latent_scaling_factor: float,
) -> torch.Tensor:
    """Mean over examples of weights[i] · MSE of the decoded middle frames against the true ones.

    first_neighbour [N, C, 1, h, w] and clean_middle [N, C, 3, h, w]: scaled latents (x̂0 carries the
    gradient); truth [N, 3, 3, H, W] in [-1, 1]; weights [N]."""
    window = torch.cat([first_neighbour.float(), clean_middle.float()], dim=2) / latent_scaling_factor
    decoded = vae.decode(window.to(next(vae.parameters()).dtype))[:, :, 1:].float()  # [N, 3, 3, H, W]
    per_example = (decoded - truth.to(decoded.device)).pow(2).flatten(1).mean(dim=1)
    return (per_example * weights.to(per_example.device)).mean()
