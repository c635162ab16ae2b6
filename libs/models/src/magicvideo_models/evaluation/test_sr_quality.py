import math

from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.evaluation.sr_quality import evaluate_sr, keyframe_indices, sr_rows
from magicvideo_models.evaluation.test_onnx_pipeline import SHIPPED
from magicvideo_models.shapes.clips import sample_clip


def test_key_frames_are_the_middle_one_or_evenly_spread():
    assert keyframe_indices(1) == [8]
    assert keyframe_indices(4) == [0, 5, 10, 15]


def test_shipped_folder_sr_is_compared_with_bicubic_on_true_high_res_frames():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    settings = SamplingSettings(sr_steps=1).resolved(folder.manifest)
    clips = [sample_clip(0, index, "val", high_resolution=256) for index in range(2)]

    result = evaluate_sr(folder, clips, settings=settings, seed=0, frames_per_clip=2)

    assert result.frames == 4 and result.steps == 1
    assert math.isfinite(result.sr_psnr_db)
    # bicubic from the true 64² render of the same scene is close to the 256² render
    assert result.bicubic_psnr_db > 25
    (row,) = sr_rows(result)
    assert row.passed == (result.sr_psnr_db > result.bicubic_psnr_db)
