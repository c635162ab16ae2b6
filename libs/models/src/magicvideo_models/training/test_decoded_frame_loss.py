import numpy as np
import pytest
import torch

from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.training.decoded_frame_loss import decoded_frame_loss, true_middle_frames
from magicvideo_models.training.latent_cache import load_frozen_encoders
from magicvideo_models.training.shapes_dataset import signed_pixels
from magicvideo_models.training.test_train_interp_unet import SHIPPED_WEIGHTS


def test_true_middle_frames_are_the_pairs_three_frames_reversed_where_the_window_is() -> None:
    frames = true_middle_frames(0, [3, 3], [5, 5], [False, True])  # [2, 3, 3, H, W]

    expected = signed_pixels(sample_clip(0, 3, "train").frames[21:24]).movedim(0, 1)  # [3, 3 frames, H, W]
    torch.testing.assert_close(frames[0], expected, rtol=0, atol=0)
    torch.testing.assert_close(frames[1], expected.flip(1), rtol=0, atol=0)


def test_the_loss_is_the_error_of_the_middle_frames_as_the_whole_clip_decodes_them() -> None:
    # the shipped VAE, whose temporal layers are trained: the 4-frame window must still decode the
    # middle frames as the runtime's 61-frame decode does (the decoder is causal)
    encoders = load_frozen_encoders(SHIPPED_WEIGHTS, ModelSetConfig.tiny())
    clip = sample_clip(0, 0, "val")
    latents, _ = encoders.encode_frames(clip.frames[None])  # [1, C, 61, h, w] unscaled
    scale = encoders.latent_scaling_factor
    truth = signed_pixels(clip.frames).movedim(0, 1)[None]  # [1, 3, 61, H, W]
    with torch.no_grad():
        whole = encoders.vae.decode(latents)
    pairs = [2, 9]
    first_neighbour = torch.stack([latents[0, :, 4 * k : 4 * k + 1] for k in pairs]) * scale
    middle = torch.stack([latents[0, :, 4 * k + 1 : 4 * k + 4] for k in pairs]) * scale
    middle.requires_grad_(True)
    middle_truth = torch.stack([truth[0, :, 4 * k + 1 : 4 * k + 4] for k in pairs])
    weights = torch.tensor([1.0, 3.0])

    window = torch.cat([first_neighbour, middle], dim=2)
    loss = decoded_frame_loss(encoders.vae, window, middle_truth, weights, scale, context_frames=1)

    errors = [
        float((whole[0, :, 4 * k + 1 : 4 * k + 4] - truth[0, :, 4 * k + 1 : 4 * k + 4]).pow(2).mean())
        for k in pairs
    ]
    # to 1%: the window and the whole decode agree to about 69 dB, which moves a 25 dB error that much
    assert float(loss.detach()) == pytest.approx(float(np.mean(np.array(errors) * weights.numpy())), rel=1e-2)
    loss.backward()
    assert middle.grad is not None and middle.grad.abs().sum() > 0  # it trains the latents
    assert all(p.grad is None for p in encoders.vae.parameters())  # and never the decoder
