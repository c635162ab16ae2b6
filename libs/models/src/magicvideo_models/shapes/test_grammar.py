import itertools
import re

import numpy as np
import pytest

from magicvideo_models.captions_corpus import tokenizer_corpus
from magicvideo_models.shapes.grammar import (
    BACKGROUND,
    COLOURS,
    MOTION_PHRASES,
    MOTIONS,
    PALETTE,
    SHAPE_NOUNS,
    SHAPES,
    TEMPLATES,
    ShapeAttributes,
    UnparseableCaptionError,
    all_captions,
    all_combinations,
    caption_for,
    caption_vocabulary,
    parse_caption,
)
from magicvideo_models.shapes.heldout import (
    evaluation_combinations,
    heldout_combinations,
    is_heldout,
    parse_heldout_lines,
    training_combinations,
)


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def test_palette_colours_are_far_apart_and_far_from_the_background() -> None:
    for a, b in itertools.combinations(PALETTE.values(), 2):
        assert _distance(a, b) >= 170
    for colour in PALETTE.values():
        assert _distance(colour, BACKGROUND) >= 150


def test_every_caption_of_every_combination_parses_back_to_its_attributes() -> None:
    for attributes in all_combinations():
        captions = all_captions(attributes.colour, attributes.shape, attributes.motion)
        expected = (
            len(TEMPLATES) * len(SHAPE_NOUNS[attributes.shape]) * len(MOTION_PHRASES[attributes.motion])
        )
        assert len(set(captions)) == len(captions) == expected
        for caption in captions:
            assert parse_caption(caption) == attributes, caption


def test_caption_for_is_seeded_and_varies_its_paraphrases() -> None:
    first = [caption_for("red", "circle", "moving right", np.random.default_rng(3)) for _ in range(2)]
    assert first[0] == first[1]
    rng = np.random.default_rng(0)
    drawn = {caption_for("red", "circle", "moving right", rng) for _ in range(200)}
    assert len(drawn) > 40
    assert all(parse_caption(c) == ShapeAttributes("red", "circle", "moving right") for c in drawn)


def test_parse_caption_understands_free_text_in_the_grammar_words() -> None:
    assert parse_caption("A Yellow BALL, rolling to the right!") == ShapeAttributes(
        "yellow", "circle", "moving right"
    )
    assert parse_caption("the white disc drifting to the top") == ShapeAttributes(
        "white", "circle", "moving up"
    )
    assert parse_caption("blue block falling") == ShapeAttributes("blue", "square", "moving down")


@pytest.mark.parametrize(
    "caption",
    ["a red circle", "a red green circle moving left", "a red circle and a square moving up", "a cat"],
)
def test_parse_caption_rejects_captions_without_exactly_one_of_each(caption: str) -> None:
    with pytest.raises(UnparseableCaptionError):
        parse_caption(caption)


def test_vocabulary_holds_every_attribute_word() -> None:
    vocabulary = caption_vocabulary()
    assert set(COLOURS) <= vocabulary
    assert set(SHAPES) <= vocabulary
    assert {"left", "right", "up", "down", "ball", "box", "rolling"} <= vocabulary


def test_every_caption_word_is_in_the_tokenizer_corpus() -> None:
    corpus_words = {word for line in tokenizer_corpus() for word in re.findall(r"[a-z]+", line.lower())}
    assert caption_vocabulary() <= corpus_words


def test_heldout_is_about_an_eighth_of_the_combinations() -> None:
    held = heldout_combinations()
    total = len(COLOURS) * len(SHAPES) * len(MOTIONS)
    assert 0.10 <= len(held) / total <= 0.15
    assert len(training_combinations()) + len(evaluation_combinations()) == total
    assert set(evaluation_combinations()) == held


def test_every_pair_inside_a_heldout_combination_still_appears_in_training() -> None:
    training = training_combinations()
    for held in heldout_combinations():
        assert any(t.colour == held.colour and t.shape == held.shape for t in training)
        assert any(t.colour == held.colour and t.motion == held.motion for t in training)
        assert any(t.shape == held.shape and t.motion == held.motion for t in training)
    assert {t.colour for t in training} == set(COLOURS)
    assert {t.shape for t in training} == set(SHAPES)
    assert {t.motion for t in training} == set(MOTIONS)


def test_is_heldout_reads_the_committed_list() -> None:
    assert is_heldout("red", "circle", "moving left")
    assert not is_heldout("red", "circle", "moving right")


def test_heldout_lines_reject_a_malformed_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_heldout_lines("# comment\nred circle moving left\n")
    with pytest.raises(ValueError, match="unknown colour"):
        parse_heldout_lines("mauve, circle, moving left\n")
