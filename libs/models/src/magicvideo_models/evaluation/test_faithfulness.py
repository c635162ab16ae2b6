import pytest

from magicvideo_models.evaluation.faithfulness import (
    CHANCE,
    JUDGE_TARGET,
    RANDOM_CAPTION_CEILING,
    FaithfulnessScores,
    compare,
    faithfulness_rows,
    judge_generated,
    judge_real,
    judge_rows,
    random_caption_matches,
    reconstruction_rows,
    scores,
)
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.evaluation.test_onnx_pipeline import SHIPPED
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.shapes.grammar import ShapeAttributes
from magicvideo_models.shapes.heldout import is_heldout
from magicvideo_models.shapes.judge import judge_clip

SANITY_CLIPS = 40


@pytest.mark.parametrize("split", ["seen", "heldout"])
def test_judge_on_real_clips_scores_at_least_98_percent_and_chance_against_random_captions(split):
    real = judge_real(split, SANITY_CLIPS, data_seed=0, resolution=64)

    assert scores(real).all_three >= JUDGE_TARGET
    random_captions = FaithfulnessScores.of(random_caption_matches(real), [clip.verdict for clip in real])
    assert random_captions.all_three <= RANDOM_CAPTION_CEILING
    assert all(row.passed for row in judge_rows(split, scores(real), random_captions))


def test_seen_split_asks_for_seen_combinations_and_heldout_for_heldout_ones():
    seen = judge_real("seen", 10, data_seed=0, resolution=64)
    heldout = judge_real("heldout", 10, data_seed=0, resolution=64)
    assert not any(is_heldout(c.asked.colour, c.asked.shape, c.asked.motion) for c in seen)
    assert all(is_heldout(c.asked.colour, c.asked.shape, c.asked.motion) for c in heldout)


def test_a_wrong_attribute_fails_all_three_but_keeps_the_others():
    clip = sample_clip(0, 0, "val")
    verdict = judge_clip(clip.keyframes)
    asked = clip.attributes
    other_colour = "blue" if asked.colour != "blue" else "red"
    match = compare(verdict, ShapeAttributes(other_colour, asked.shape, asked.motion))
    assert (match.colour, match.shape, match.motion, match.all_three) == (False, True, True, False)


def test_generated_clips_are_judged_with_every_score_in_range():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    settings = SamplingSettings(steps=1).resolved(folder.manifest)

    def generate(caption, seed, fps):
        return folder.decode(folder.keyframe_latents(caption, seed=seed, fps=fps, settings=settings))

    judged = judge_generated(generate, "heldout", 3, data_seed=0, seed=5, resolution=64)

    assert [clip.seed for clip in judged] == [5, 6, 7]
    result = scores(judged)
    for value in (result.colour, result.shape, result.motion, result.all_three, result.object_found):
        assert 0.0 <= value <= 1.0
    assert result.all_three <= min(result.colour, result.shape, result.motion)
    rows = faithfulness_rows("heldout", result)
    assert [row.metric for row in rows] == [
        "heldout: colour",
        "heldout: shape",
        "heldout: motion",
        "heldout: all three (3 clips)",
        "heldout: object found",
    ]
    assert rows[3].passed == (result.all_three >= 0.8)
    assert rows[3].reference == f"chance {CHANCE['all_three']:.3f}"


def test_the_vae_ceiling_judges_the_reconstructions_of_the_same_real_clips_without_a_target():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    reconstructed = judge_real("seen", 6, data_seed=0, resolution=64, transform=folder.reconstruct)
    real = judge_real("seen", 6, data_seed=0, resolution=64)
    assert [c.caption for c in reconstructed] == [c.caption for c in real]
    assert scores(reconstructed).colour == 1.0  # the trained VAE keeps colours; shape is where it loses
    rows = reconstruction_rows("seen", scores(reconstructed))
    assert [row.passed for row in rows] == [None, None]
    assert rows[-1].value == scores(reconstructed).all_three


def test_a_transform_that_removes_the_object_leaves_the_judge_nothing_to_find():
    blanked = judge_real("seen", 3, data_seed=0, resolution=64, transform=lambda frames: frames * 0)
    assert scores(blanked).object_found == 0.0 and scores(blanked).all_three == 0.0
