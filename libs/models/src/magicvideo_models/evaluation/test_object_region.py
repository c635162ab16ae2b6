import math

import numpy as np
import pytest

from magicvideo_models.evaluation.cli_check import repo_root
from magicvideo_models.evaluation.interpolation_quality import (
    InterpolationQuality,
    evaluate_interpolation,
    interpolation_rows,
    object_region_rows,
)
from magicvideo_models.evaluation.object_region import (
    dilate,
    middle_frame_regions,
    object_region,
    psnr_of,
    squared_error,
)
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.shapes.clips import sample_clip

SHIPPED = repo_root() / "assets" / "models" / "magicvideo-shapes"
BACKGROUND = (10, 20, 30)


def moving_dot(frames: int, size: int = 8) -> np.ndarray:
    """A one-pixel object moving right along row 2, one column per frame, over the background."""
    video = np.empty((frames, size, size, 3), dtype=np.uint8)
    video[:] = BACKGROUND
    for t in range(frames):
        video[t, 2, t] = (200, 20, 30)
    return video


def test_the_region_is_where_any_frame_leaves_the_background_by_more_than_the_threshold():
    video = moving_dot(5)
    video[0, 6, 6] = (18, 20, 30)  # 8 above the background: not more than the threshold
    video[3, 7, 7] = (10, 11, 30)  # 9 below: counts

    region = object_region(video, BACKGROUND, threshold=8, dilation=0)

    expected = np.zeros((8, 8), dtype=bool)
    expected[2, 0:5] = True
    expected[7, 7] = True
    assert np.array_equal(region, expected)


def test_dilation_grows_the_region_by_a_square():
    mask = np.zeros((7, 7), dtype=bool)
    mask[3, 3] = True
    assert dilate(mask, 1).sum() == 9 and dilate(mask, 2).sum() == 25 and dilate(mask, 0).sum() == 1
    assert np.array_equal(
        object_region(moving_dot(5), BACKGROUND, dilation=1)[1:4, 0:6], np.ones((3, 6), bool)
    )
    assert object_region(moving_dot(5), BACKGROUND, dilation=1).sum() == 18


def test_each_middle_frame_carries_its_own_pairs_region_and_key_frames_none():
    video = moving_dot(9, size=10)
    regions = middle_frame_regions(video, BACKGROUND, factor=4)
    assert not regions[[0, 4, 8]].any()
    for frame in (1, 2, 3):
        assert np.array_equal(regions[frame], object_region(video[0:5], BACKGROUND))
    for frame in (5, 6, 7):
        assert np.array_equal(regions[frame], object_region(video[4:9], BACKGROUND))
    assert not np.array_equal(regions[1], regions[5])


def test_psnr_over_the_region_counts_only_the_regions_errors():
    truth = np.zeros((3, 2, 4, 4), dtype=np.float32)
    decoded = np.zeros_like(truth)
    region = np.zeros((2, 4, 4), dtype=bool)
    region[1, 0, 0:2] = True  # 2 pixels × 3 channels
    decoded[:, 1, 0, 0:2] = 0.1  # error 0.1 in the region
    decoded[:, 0, 3, 3] = 5.0  # outside it, clamped to 1 before the error

    error, count = squared_error(decoded, truth, region)
    assert count == 6 and error == pytest.approx(6 * 0.01)
    assert psnr_of(error, count) == pytest.approx(10 * math.log10(4 / 0.01))

    everything = np.ones_like(region)
    error, count = squared_error(decoded, truth, everything)
    assert count == 96 and error == pytest.approx(6 * 0.01 + 3 * 1.0)
    assert math.isnan(psnr_of(0.0, 0))


def quality(interpolation: float, linear: float, region_interpolation: float, region_linear: float):
    return InterpolationQuality(
        clips=2,
        steps=10,
        interpolation_psnr_db=interpolation,
        linear_psnr_db=linear,
        true_latents_psnr_db=33.0,
        object_region_interpolation_psnr_db=region_interpolation,
        object_region_linear_psnr_db=region_linear,
        object_region_true_latents_psnr_db=30.0,
        object_region_fraction=0.05,
    )


def test_the_object_region_row_passes_only_above_the_blend_and_the_whole_frame_row_not_below_it():
    (row,) = object_region_rows(quality(32.9, 32.9, 27.0, 25.0))
    assert row.passed and row.value == 27.0 and "linear blend 25.00 dB" in row.reference
    assert "5.0% of middle-frame pixels" in row.metric
    (row,) = object_region_rows(quality(32.9, 32.9, 24.0, 25.0))
    assert not row.passed
    (whole,) = interpolation_rows(quality(32.9, 32.9, 24.0, 25.0))
    assert whole.passed and whole.target == "≥ linear blend"
    (whole,) = interpolation_rows(quality(32.8, 32.9, 27.0, 25.0))
    assert not whole.passed


def test_the_shipped_folder_gives_object_region_figures_beside_the_whole_frame_ones():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    settings = SamplingSettings(interp_steps=1).resolved(folder.manifest)

    result = evaluate_interpolation(folder, [sample_clip(0, 0, "val")], settings=settings, seed=0)

    for value in (
        result.object_region_interpolation_psnr_db,
        result.object_region_linear_psnr_db,
        result.object_region_true_latents_psnr_db,
    ):
        assert math.isfinite(value) and value > 0
    assert 0 < result.object_region_fraction < 0.5
    # the object is where the errors are: every method does worse there than on the whole frame
    assert result.object_region_linear_psnr_db < result.linear_psnr_db
    assert result.object_region_true_latents_psnr_db < result.true_latents_psnr_db
