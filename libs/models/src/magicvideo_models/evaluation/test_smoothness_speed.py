import math

import pytest

from magicvideo_models.evaluation.smoothness_speed import (
    SPEED_FPS_GRID,
    Smoothness,
    SpeedSweep,
    expected_keyframe_speed,
    real_speed_sweep,
    spearman,
    speed_captions,
    speed_rows,
    window_length_for,
)
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.shapes.heldout import is_heldout
from magicvideo_models.shapes.judge import judge_clip


def test_spearman_of_monotone_reversed_tied_and_constant_sequences():
    assert spearman([1, 2, 3, 4], [10, 20, 35, 100]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take their average rank: ranks (0.5, 0.5, 2) against (0, 1, 2)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.8660254)
    assert math.isnan(spearman([1, 2, 3], [5, 5, 5]))


def test_every_fps_of_the_grid_has_a_whole_window_and_others_are_refused():
    assert [window_length_for(fps) for fps in SPEED_FPS_GRID] == [60, 48, 40, 32, 30, 24, 20]
    with pytest.raises(ValueError, match="whole window"):
        window_length_for(14.0)


def test_training_speed_per_key_frame_falls_as_fps_rises():
    assert expected_keyframe_speed(8.0) == pytest.approx(3 * expected_keyframe_speed(24.0))


def test_speed_captions_cover_every_direction_with_seen_combinations():
    captions = speed_captions()
    assert sorted(attributes.motion for _, attributes in captions) == sorted(
        ["moving left", "moving right", "moving up", "moving down"]
    )
    assert not any(is_heldout(a.colour, a.shape, a.motion) for _, a in captions)


def test_judge_measures_real_clips_speed_following_fps():
    real = real_speed_sweep(seeds=1, resolution=64, data_seed=0)
    assert real.rank_correlation_with_expected == pytest.approx(1.0)
    assert real.rank_correlation_with_fps == pytest.approx(-1.0)
    assert real.speed_ratio == pytest.approx(3.0, rel=0.1)
    rows = speed_rows(real, real)
    assert rows[0].passed is True


def test_a_sweep_with_no_speed_differences_fails_the_target():
    flat = SpeedSweep((8.0, 16.0, 24.0), (0.01, 0.01, 0.01), clips_per_fps=4)
    assert math.isnan(flat.rank_correlation_with_expected)
    assert speed_rows(flat, flat)[0].passed is False


def test_smoothness_of_real_clips_is_in_range():
    verdicts = [judge_clip(sample_clip(0, index, "val").keyframes) for index in range(4)]
    smoothness = Smoothness.of(verdicts)
    assert smoothness.clips == 4
    assert 0 <= smoothness.background_flicker < 0.01  # a plain rendered background never changes
    assert 0 <= smoothness.motion_irregularity < 0.5  # rendered motion is uniform
