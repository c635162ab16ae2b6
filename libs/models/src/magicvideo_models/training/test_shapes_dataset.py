"""Training batches are pure functions of (seed, step); pixels and PSNR are in the agreed units."""

import numpy as np
import pytest
import torch

from magicvideo_models.training.lr_schedule import cosine_learning_rate
from magicvideo_models.training.shapes_dataset import (
    evaluation_clips,
    psnr,
    signed_pixels,
    step_generator,
    training_clips,
)


def test_a_steps_clips_are_the_same_on_every_call_and_differ_between_steps() -> None:
    first = training_clips(0, 5, 2)
    again = training_clips(0, 5, 2)
    following = training_clips(0, 6, 2)
    assert [c.index for c in first] == [10, 11]
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(first, again, strict=True))
    assert [c.index for c in following] == [12, 13]


def test_step_noise_is_a_pure_function_of_seed_and_step() -> None:
    draw = lambda seed, step: torch.randn(4, generator=step_generator(seed, step))  # noqa: E731
    assert torch.equal(draw(0, 3), draw(0, 3))
    assert not torch.equal(draw(0, 3), draw(0, 4))
    assert not torch.equal(draw(0, 3), draw(1, 3))


def test_evaluation_never_draws_from_the_training_split() -> None:
    with pytest.raises(ValueError, match="train"):
        evaluation_clips(0, "train", 1)
    assert [c.split for c in evaluation_clips(0, "heldout", 2)] == ["heldout", "heldout"]


def test_signed_pixels_map_uint8_frames_to_channels_first_minus_one_to_one() -> None:
    frames = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    frames[..., 0] = 255
    pixels = signed_pixels(frames)
    assert pixels.shape == (2, 3, 4, 4)
    assert torch.all(pixels[:, 0] == 1.0) and torch.all(pixels[:, 1:] == -1.0)


def test_psnr_of_an_error_of_one_eighth_of_the_range_is_18_db() -> None:
    target = torch.zeros(1, 3, 4, 4)
    assert psnr(target + 0.25, target) == pytest.approx(10 * np.log10(4 / 0.0625))


def test_learning_rate_warms_up_then_decays_to_a_tenth() -> None:
    lr = lambda step: cosine_learning_rate(step, max_lr=1.0, warmup_steps=10, total_steps=110)  # noqa: E731
    assert lr(0) == pytest.approx(0.1)
    assert lr(9) == pytest.approx(1.0)
    assert lr(60) == pytest.approx(0.55)
    assert lr(110) == pytest.approx(0.1)
