"""The MagicVideo Shapes caption grammar: colours, shapes, motions, paraphrases, and parsing back.

A clip shows one object of a palette colour and a shape moving in one direction on a plain
background (DESIGN.md §7). Captions are drawn from templates with paraphrased nouns and motion
phrases, so the text encoder has to learn that "ball", "disc" and "circle" name one thing;
`parse_caption` maps any caption of the grammar (and free text that uses its words) back to
the attributes, which is how evaluation knows what a prompt asked for.

Growing the set means appending to PALETTE, SHAPE_NOUNS, MOTION_VERBS or DIRECTION_PHRASES (and the
tokenizer corpus); the judge and the clip sampler read these tables, and held-out combinations
stay in heldout_combinations.txt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

import numpy as np

from ..captions_corpus import COLOURS as CORPUS_COLOURS
from ..captions_corpus import CORE_COLOURS, CORE_SHAPES, VERBS
from ..captions_corpus import MOTIONS as CORPUS_MOTIONS
from ..captions_corpus import SHAPES as CORPUS_SHAPES

Rgb = tuple[int, int, int]

# The words and colours come from one place, captions_corpus (the tokenizer is trained on it);
# the training set uses its core entries. Those colours are far apart in RGB (every pair ≥ 170
# apart, each ≥ 150 from the background), so that both the renderer's anti-aliased edges and a
# generated clip's colour drift still land nearest the intended entry. White and yellow are
# both bright, hence a dark background.
PALETTE: dict[str, Rgb] = {colour: CORPUS_COLOURS[colour] for colour in CORE_COLOURS}
BACKGROUND: Rgb = (32, 32, 32)

COLOURS: tuple[str, ...] = tuple(PALETTE)
SHAPES: tuple[str, ...] = CORE_SHAPES
MOTIONS: tuple[str, ...] = tuple(CORPUS_MOTIONS[name].canonical for name in ("left", "right", "up", "down"))

# Paraphrases for each shape; the first is the canonical name.
SHAPE_NOUNS: dict[str, tuple[str, ...]] = {shape: CORPUS_SHAPES[shape] for shape in SHAPES}

# A motion phrase is a verb and a direction phrase ("rolling to the left"); the first of each
# is canonical, so the canonical phrase is "moving left".
MOTION_VERBS: tuple[str, ...] = VERBS
DIRECTION_PHRASES: dict[str, tuple[str, ...]] = {
    motion.canonical: motion.phrases for motion in CORPUS_MOTIONS.values()
}
MOTION_PHRASES: dict[str, tuple[str, ...]] = {
    motion: tuple(f"{verb} {direction}" for verb in MOTION_VERBS for direction in directions)
    for motion, directions in DIRECTION_PHRASES.items()
}

TEMPLATES: tuple[str, ...] = (
    "a {colour} {noun} {motion}",
    "{colour} {noun} {motion}",
    "the {colour} {noun} is {motion}",
    "there is a {colour} {noun} {motion}",
    "a {colour} {noun} {motion} on a dark background",
)

# Words that decide the direction when parsing: those the phrases above use, and a few more
# that free-text prompts use for vertical motion.
_DIRECTION_WORDS: dict[str, str] = {
    "left": "moving left",
    "leftwards": "moving left",
    "right": "moving right",
    "rightwards": "moving right",
    "up": "moving up",
    "upwards": "moving up",
    "top": "moving up",
    "rising": "moving up",
    "down": "moving down",
    "downwards": "moving down",
    "bottom": "moving down",
    "falling": "moving down",
    "sinking": "moving down",
}
_NOUN_TO_SHAPE: dict[str, str] = {noun: shape for shape, nouns in SHAPE_NOUNS.items() for noun in nouns}
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class ShapeAttributes:
    """What a clip shows and a caption asks for: one colour, one shape, one motion."""

    colour: str
    shape: str
    motion: str

    def __post_init__(self) -> None:
        if self.colour not in PALETTE:
            raise ValueError(f"unknown colour {self.colour!r}; known: {COLOURS}")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {SHAPES}")
        if self.motion not in MOTIONS:
            raise ValueError(f"unknown motion {self.motion!r}; known: {MOTIONS}")


# Played backwards, a clip shows the same object moving the opposite way.
OPPOSITE_MOTION: dict[str, str] = {
    "moving left": "moving right",
    "moving right": "moving left",
    "moving up": "moving down",
    "moving down": "moving up",
}


def time_reversed(attributes: ShapeAttributes) -> ShapeAttributes:
    """What the clip shows played backwards."""
    return ShapeAttributes(attributes.colour, attributes.shape, OPPOSITE_MOTION[attributes.motion])


class UnparseableCaptionError(ValueError):
    """The caption does not name exactly one colour, one shape and one direction of the grammar."""


def all_combinations() -> list[ShapeAttributes]:
    """Every colour × shape × motion, in table order."""
    return [ShapeAttributes(c, s, m) for c, s, m in product(COLOURS, SHAPES, MOTIONS)]


def caption_for(colour: str, shape: str, motion: str, rng: np.random.Generator) -> str:
    """One paraphrased caption for the attributes, chosen by `rng` (template, noun, motion phrase)."""
    ShapeAttributes(colour, shape, motion)
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    nouns = SHAPE_NOUNS[shape]
    phrases = MOTION_PHRASES[motion]
    return template.format(
        colour=colour, noun=nouns[rng.integers(len(nouns))], motion=phrases[rng.integers(len(phrases))]
    )


def all_captions(colour: str, shape: str, motion: str) -> list[str]:
    """Every caption the grammar can produce for the attributes."""
    return [
        template.format(colour=colour, noun=noun, motion=phrase)
        for template in TEMPLATES
        for noun in SHAPE_NOUNS[shape]
        for phrase in MOTION_PHRASES[motion]
    ]


def caption_vocabulary() -> set[str]:
    """Every word any caption of the grammar uses (for tokenizer corpora and checks against them)."""
    words: set[str] = set()
    for attributes in all_combinations():
        for caption in all_captions(attributes.colour, attributes.shape, attributes.motion):
            words.update(_WORD.findall(caption))
    return words


def parse_caption(text: str) -> ShapeAttributes:
    """The attributes a caption asks for; UnparseableCaptionError unless it names one of each."""
    words = _WORD.findall(text.lower())
    colours = {w for w in words if w in PALETTE}
    shapes = {_NOUN_TO_SHAPE[w] for w in words if w in _NOUN_TO_SHAPE}
    motions = {_DIRECTION_WORDS[w] for w in words if w in _DIRECTION_WORDS}
    if len(colours) != 1 or len(shapes) != 1 or len(motions) != 1:
        raise UnparseableCaptionError(
            f"caption {text!r} names colours {sorted(colours)}, shapes {sorted(shapes)}, "
            f"motions {sorted(motions)}; expected exactly one of each"
        )
    return ShapeAttributes(colours.pop(), shapes.pop(), motions.pop())
