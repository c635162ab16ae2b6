"""Smoke runs of the contrastive encoder training: it trains, resumes exactly and writes its weights."""

import math
from pathlib import Path

import pytest
import torch

from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.training.test_stop_request import StopAfter
from magicvideo_models.training.train_clip import (
    ClipTrainingConfig,
    ContrastiveEncoders,
    parse_config,
    symmetric_info_nce,
    train,
)
from magicvideo_models.training.trained_weights import load_trained_weights


def _config(tmp_path: Path, name: str, steps: int) -> ClipTrainingConfig:
    # all steps inside the warm-up, so the learning rate does not depend on the total steps
    return ClipTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        steps=steps,
        batch_size=4,
        warmup_steps=10,
        threads=1,
        log_every=1,
        eval_clips=4,
        quiet=True,
    )


def test_a_stopped_then_resumed_run_gives_the_same_next_loss_as_an_uninterrupted_run(tmp_path: Path) -> None:
    uninterrupted = train(_config(tmp_path, "whole", steps=3))
    stopped = train(_config(tmp_path, "split", steps=2), StopAfter(1))  # as SIGTERM after step 1
    assert (stopped["steps"], stopped["finished"]) == (1, False)
    assert not (tmp_path / "split" / "weights").exists()
    train(_config(tmp_path, "split", steps=2))
    resumed = train(_config(tmp_path, "split", steps=3))
    assert list(resumed["losses"]) == [3]
    assert resumed["losses"][3] == pytest.approx(uninterrupted["losses"][3], rel=1e-5)
    assert (tmp_path / "split" / "train.log").read_text().count("resumed from") == 2


def test_run_writes_encoders_that_load_by_name_and_reports_zero_shot_accuracy(tmp_path: Path) -> None:
    summary = train(_config(tmp_path, "run", steps=1))
    assert set(summary["zero_shot_accuracy"]) == {"val", "heldout"}
    assert 0.0 <= summary["zero_shot_accuracy"]["val"]["colour"] <= 1.0
    weights = load_trained_weights(tmp_path / "run" / "weights")
    tiny = ModelSetConfig.tiny()
    encoders = ContrastiveEncoders(tiny.text_encoder, tiny.image_encoder, seed=1)
    encoders.text_encoder.load_state_dict(weights.components["text_encoder"], strict=True)
    encoders.image_encoder.load_state_dict(weights.components["image_encoder"], strict=True)
    assert weights.summaries["clip"]["steps"] == 1


def test_info_nce_is_low_for_matching_pairs_high_for_swapped_and_log_b_for_uninformative() -> None:
    images = torch.eye(3, 8)
    scale = torch.tensor(math.log(1 / 0.07))
    matching = symmetric_info_nce(images, images, scale)
    swapped = symmetric_info_nce(images, images[[1, 2, 0]], scale)
    uninformative = symmetric_info_nce(images, torch.zeros(3, 8), scale)
    assert matching.item() < 0.01
    assert swapped.item() > 10
    assert uninformative.item() == pytest.approx(math.log(3))


def test_command_line_flags_override_the_config() -> None:
    config = parse_config(
        ["--out", "runs/x", "--steps", "7", "--batch-size", "16", "--lr", "0.001", "--threads", "1"]
    )
    assert (config.out, config.steps, config.batch_size, config.lr, config.threads) == (
        Path("runs/x"),
        7,
        16,
        1e-3,
        1,
    )


def test_motion_head_starts_as_the_frames_mean_and_then_tells_the_frame_order_apart() -> None:
    tiny = ModelSetConfig.tiny()
    encoders = ContrastiveEncoders(tiny.text_encoder, tiny.image_encoder, seed=0)
    size = tiny.image_encoder.image_size
    early, late = torch.rand(2, 3, size, size), torch.rand(2, 3, size, size)
    mean = torch.nn.functional.normalize(
        (encoders.image_encoder(early) + encoders.image_encoder(late)) / 2, dim=-1
    )
    assert torch.allclose(encoders.clip_embeds(early, late), mean, atol=1e-5)
    with torch.no_grad():  # any head that is not symmetric in its two halves sees the order
        encoders.motion_head.weight[:, : tiny.image_encoder.projection_dim] *= -1
    assert not torch.allclose(encoders.clip_embeds(early, late), encoders.clip_embeds(late, early), atol=1e-3)


def test_early_and_late_frames_come_from_the_two_ends_of_the_clip() -> None:
    import numpy as np

    from magicvideo_models.training.train_clip import EDGE_FRAMES, KEYFRAME_COUNT, early_and_late_frames

    early, late = early_and_late_frames(np.random.default_rng(0), 500)
    assert set(early) == set(range(EDGE_FRAMES))
    assert set(late) == set(range(KEYFRAME_COUNT - EDGE_FRAMES, KEYFRAME_COUNT))


def test_reversed_negatives_caption_the_opposite_motion_and_skip_held_out_reversals() -> None:
    import numpy as np

    from magicvideo_models.shapes.grammar import parse_caption, time_reversed
    from magicvideo_models.shapes.heldout import is_heldout
    from magicvideo_models.training.shapes_dataset import training_clips
    from magicvideo_models.training.train_clip import reversed_negatives

    clips = [clip for step in range(8) for clip in training_clips(0, step, 32)]
    rows, captions = reversed_negatives(clips, np.random.default_rng(0))
    assert len(rows) > len(clips) // 2
    for row, caption in zip(rows, captions, strict=True):
        assert parse_caption(caption) == time_reversed(clips[row].attributes)
    skipped = [clip.attributes for row, clip in enumerate(clips) if row not in set(rows)]
    for attributes in skipped:
        backwards = time_reversed(attributes)
        assert is_heldout(backwards.colour, backwards.shape, backwards.motion)


def test_attribute_loss_is_low_for_the_right_classes_and_log_k_for_uninformative_logits() -> None:
    from magicvideo_models.shapes.grammar import ShapeAttributes
    from magicvideo_models.training.train_clip import ATTRIBUTE_CLASSES, attribute_labels, attribute_loss

    labels = attribute_labels(
        [ShapeAttributes("red", "circle", "moving left"), ShapeAttributes("blue", "square", "moving up")]
    )
    confident = torch.full((2, sum(ATTRIBUTE_CLASSES.values())), -20.0)
    offsets = [0, ATTRIBUTE_CLASSES["colour"], ATTRIBUTE_CLASSES["colour"] + ATTRIBUTE_CLASSES["shape"]]
    for row in range(2):
        for part, offset in enumerate(offsets):
            confident[row, offset + labels[row, part]] = 20.0
    assert attribute_loss(confident, labels).item() < 1e-6
    expected = sum(math.log(k) for k in ATTRIBUTE_CLASSES.values()) / 3
    assert attribute_loss(torch.zeros_like(confident), labels).item() == pytest.approx(expected)
