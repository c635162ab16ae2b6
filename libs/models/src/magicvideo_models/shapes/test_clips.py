import numpy as np
import pytest

from magicvideo_models.shapes.clips import (
    FRAME_COUNT,
    KEYFRAME_COUNT,
    MOTION_DIRECTIONS,
    NATIVE_FPS,
    WINDOW_LENGTHS,
    fps_condition,
    make_clip,
    sample_clip,
    window_times,
)
from magicvideo_models.shapes.grammar import BACKGROUND, MOTIONS, ShapeAttributes, parse_caption
from magicvideo_models.shapes.heldout import heldout_combinations


def test_a_clip_is_a_pure_function_of_seed_split_and_index() -> None:
    first, again = sample_clip(5, 17), sample_clip(5, 17)
    assert first.caption == again.caption and first.attributes == again.attributes
    np.testing.assert_array_equal(first.frames, again.frames)
    others = [sample_clip(5, 18), sample_clip(6, 17), sample_clip(5, 17, "val")]
    assert all(not np.array_equal(first.frames, other.frames) for other in others)


def test_key_frames_are_every_fourth_of_61_frames_spaced_ls_over_16_native_frames() -> None:
    for window_length in WINDOW_LENGTHS:
        times = window_times(window_length)
        assert times.shape == (FRAME_COUNT,) == (61,)
        keyframe_times = times[::4]
        assert keyframe_times.shape == (KEYFRAME_COUNT,)
        np.testing.assert_allclose(np.diff(keyframe_times), window_length / KEYFRAME_COUNT)
        assert times[-1] < window_length
        # ν = 16/Ls · FPS is exactly the rate at which the key frames sample the scene (paper §3.1.3).
        keyframe_interval_seconds = (window_length / KEYFRAME_COUNT) / NATIVE_FPS
        assert fps_condition(window_length) == pytest.approx(1.0 / keyframe_interval_seconds)


def test_clip_carries_61_frames_whose_every_fourth_is_a_key_frame() -> None:
    clip = sample_clip(0, 3, high_resolution=128)
    assert clip.frames.shape == (61, 64, 64, 3) and clip.frames.dtype == np.uint8
    np.testing.assert_array_equal(
        clip.keyframes, clip.frames[[0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]]
    )
    assert clip.high_res_keyframes is not None
    assert clip.high_res_keyframes.shape == (16, 128, 128, 3)
    downsampled = clip.high_res_keyframes.reshape(16, 64, 2, 64, 2, 3).mean(axis=(2, 4))
    assert np.abs(downsampled - clip.keyframes).mean() < 0.5


def test_training_splits_never_show_a_heldout_combination_and_heldout_shows_only_those() -> None:
    held = heldout_combinations()
    train = {sample_clip(1, i, "train", resolution=8).attributes for i in range(300)}
    val = {sample_clip(1, i, "val", resolution=8).attributes for i in range(100)}
    heldout = {sample_clip(1, i, "heldout", resolution=8).attributes for i in range(60)}
    assert not train & held and not val & held
    assert len(train) >= 45  # most of the 52 training combinations in 300 draws
    assert heldout == held


def test_caption_names_the_clip_attributes() -> None:
    for index in range(50):
        clip = sample_clip(2, index, resolution=8)
        assert parse_caption(clip.caption) == clip.attributes


def test_object_stays_inside_the_frame_and_travels_visibly_in_its_direction() -> None:
    background = np.asarray(BACKGROUND, dtype=np.uint8)
    for index in range(60):
        clip = sample_clip(3, index)
        frames = clip.frames
        border = np.concatenate(
            [frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], axis=1
        )  # [61, 4·64, 3]
        assert (border == background).all(), index
        start = np.array(clip.scene.centre_at(0.0))
        end = np.array(clip.scene.centre_at(window_times(clip.window_length)[-1]))
        travel = (end - start) @ np.array(MOTION_DIRECTIONS[clip.attributes.motion])
        assert travel >= 0.14, (index, travel)


def test_longer_windows_mean_a_smaller_fps_condition_and_more_motion_between_key_frames() -> None:
    attributes = ShapeAttributes("red", "square", MOTIONS[1])
    clips = [
        make_clip(attributes, np.random.default_rng(0), window_length=ls, native_speed=0.01)
        for ls in WINDOW_LENGTHS
    ]
    conditions = [clip.fps_condition for clip in clips]
    steps = [clip.keyframe_speed for clip in clips]
    assert conditions == sorted(conditions, reverse=True)
    assert steps == sorted(steps)
    assert conditions == [24.0, 16.0, 12.0, 8.0]


def test_impossible_travel_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot travel"):
        make_clip(
            ShapeAttributes("red", "circle", "moving up"),
            np.random.default_rng(0),
            window_length=60,
            native_speed=0.05,
        )


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        sample_clip(0, 0, "test")
