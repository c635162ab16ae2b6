"""The judge's acceptance criteria (DESIGN.md §7): right on real clips, chance on shuffled captions."""

import math

import numpy as np
import pytest

from magicvideo_models.shapes.clips import WINDOW_LENGTHS, ShapesClip, make_clip, sample_clip
from magicvideo_models.shapes.grammar import BACKGROUND, ShapeAttributes, UnparseableCaptionError
from magicvideo_models.shapes.judge import STATIC, JudgeVerdict, judge_clip
from magicvideo_models.shapes.render import ShapeScene, render_frames

CLIP_COUNT = 200
HIGH_RES_COUNT = 40
SEED = 2024


@pytest.fixture(scope="module")
def clips() -> list[ShapesClip]:
    # Both training and held-out combinations: the judge must know all 60.
    return [
        sample_clip(
            SEED, i, "heldout" if i % 5 == 0 else "train", high_resolution=256 if i < HIGH_RES_COUNT else None
        )
        for i in range(CLIP_COUNT)
    ]


def _accuracy(verdicts: list[JudgeVerdict], clips: list[ShapesClip]) -> float:
    return float(np.mean([v.attributes() == c.attributes for v, c in zip(verdicts, clips, strict=True)]))


def test_judge_is_right_on_real_64px_key_frames(clips: list[ShapesClip]) -> None:
    verdicts = [judge_clip(clip.keyframes) for clip in clips]
    assert _accuracy(verdicts, clips) >= 0.98
    assert np.mean([v.matches(c.caption) for v, c in zip(verdicts, clips, strict=True)]) >= 0.98


def test_judge_is_right_on_real_61_frame_clips(clips: list[ShapesClip]) -> None:
    subset = clips[:100]
    assert _accuracy([judge_clip(clip.frames) for clip in subset], subset) >= 0.98


def test_judge_is_right_on_real_256px_key_frames(clips: list[ShapesClip]) -> None:
    subset = clips[:HIGH_RES_COUNT]
    verdicts = [judge_clip(clip.high_res_keyframes) for clip in subset]  # type: ignore[arg-type]
    assert _accuracy(verdicts, subset) >= 0.98


def test_shuffled_captions_match_at_chance(clips: list[ShapesClip]) -> None:
    verdicts = [judge_clip(clip.keyframes) for clip in clips]
    order = np.random.default_rng(0).permutation(len(clips))
    shuffled = [clips[j].caption for j in order]
    match_rate = np.mean([v.matches(caption) for v, caption in zip(verdicts, shuffled, strict=True)])
    assert match_rate <= 0.05  # chance: about 1/60 of pairs ask for the clip's own combination


def test_measured_speed_follows_true_speed() -> None:
    attributes = [
        ShapeAttributes("green", "circle", "moving right"),
        ShapeAttributes("white", "triangle", "moving up"),
    ]
    true_speeds, measured = [], []
    for k, (window_length, native_speed) in enumerate(
        (ls, v) for ls in WINDOW_LENGTHS for v in (0.008, 0.01, 0.012)
    ):
        clip = make_clip(
            attributes[k % 2],
            np.random.default_rng(k),
            window_length=window_length,
            native_speed=native_speed,
        )
        true_speeds.append(clip.keyframe_speed)
        measured.append(judge_clip(clip.keyframes).speed)
    ranks_true = np.argsort(np.argsort(true_speeds))
    ranks_measured = np.argsort(np.argsort(measured))
    spearman = np.corrcoef(ranks_true, ranks_measured)[0, 1]
    assert spearman >= 0.9
    np.testing.assert_allclose(measured, true_speeds, rtol=0.05)


def _still(shape: str = "circle", count: int = 8) -> np.ndarray:
    scene = ShapeScene(shape, (220, 40, 40), 0.12, (0.5, 0.5), (0.0, 0.0))
    return render_frames(scene, np.arange(count, dtype=np.float64), 64)


def test_a_still_object_is_static_and_matches_no_caption() -> None:
    verdict = judge_clip(_still())
    assert verdict.motion == STATIC and verdict.colour == "red" and verdict.shape == "circle"
    assert verdict.attributes() is None
    assert not verdict.matches("a red circle moving left")
    assert math.isnan(verdict.motion_irregularity)


def test_an_empty_clip_has_no_object() -> None:
    frames = np.broadcast_to(np.asarray(BACKGROUND, dtype=np.uint8), (4, 32, 32, 3))
    verdict = judge_clip(frames)
    assert verdict.colour is None and verdict.shape is None and verdict.object_frames == 0
    assert verdict.background_flicker == 0.0


def test_flickering_frames_score_worse_than_clean_frames() -> None:
    clean = sample_clip(9, 1).frames
    rng = np.random.default_rng(0)
    brightness = rng.integers(-6, 7, size=(len(clean), 1, 1, 1))
    flickering = np.clip(clean.astype(np.int16) + brightness, 0, 255).astype(np.uint8)
    clean_verdict, flicker_verdict = judge_clip(clean), judge_clip(flickering)
    assert clean_verdict.background_flicker == 0.0
    assert flicker_verdict.background_flicker > 0.005
    assert flicker_verdict.foreground_flicker > clean_verdict.foreground_flicker
    assert flicker_verdict.attributes() == clean_verdict.attributes()


def test_jerky_motion_is_less_regular_than_constant_motion() -> None:
    clip = sample_clip(9, 2)
    times = np.arange(61, dtype=np.float64) * clip.window_length / 64
    jitter = np.random.default_rng(1).uniform(-0.4, 0.4, size=61) * clip.window_length / 64
    jerky = render_frames(clip.scene, times + jitter, 64)
    smooth_verdict, jerky_verdict = judge_clip(clip.frames), judge_clip(jerky)
    assert smooth_verdict.motion_irregularity < 0.2
    assert jerky_verdict.motion_irregularity > 2 * smooth_verdict.motion_irregularity
    assert jerky_verdict.motion == smooth_verdict.motion == clip.attributes.motion


def test_judge_reads_any_frame_count_from_two() -> None:
    clip = sample_clip(9, 3)
    assert judge_clip(clip.frames[[0, 60]]).attributes() == clip.attributes
    with pytest.raises(ValueError, match="T >= 2"):
        judge_clip(clip.frames[:1])


def test_matches_refuses_a_caption_outside_the_grammar() -> None:
    verdict = judge_clip(sample_clip(9, 4).keyframes)
    with pytest.raises(UnparseableCaptionError):
        verdict.matches("a cat playing the piano")
