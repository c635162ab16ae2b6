"""The caption grammar of MagicVideo Shapes, and the text corpus the tokenizer is trained on.

One place for the words: the data generator captions clips from it, the judge reads colour,
shape and motion back against it, and the tokenizer is trained on every sentence it can say
plus plain English (data/tokenizer_corpus.txt), so prompts outside the grammar still
tokenize into sensible pieces.

A caption names a colour, a shape and a motion: the canonical form is
"a red circle moving right"; paraphrases swap in shape synonyms ("ball", "box"), other verbs
("rolling", "sliding", "drifting") and other direction phrases ("to the right", "upwards").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources

# The first five of each are the training set's core; the rest are there to grow into.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "white": (245, 245, 245),
    "orange": (245, 140, 30),
    "purple": (140, 60, 190),
    "cyan": (40, 200, 210),
    "pink": (240, 130, 180),
    "black": (15, 15, 15),
}
CORE_COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "white")

# canonical shape name -> the words a caption may use for it (canonical first)
SHAPES: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "ball", "disc"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle",),
    "star": ("star",),
    "diamond": ("diamond",),
}
CORE_SHAPES: tuple[str, ...] = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Motion:
    """A motion direction: its canonical phrase, unit direction in image coordinates (y down)
    and the direction phrases a paraphrase may use (canonical first)."""

    name: str
    direction: tuple[int, int]
    phrases: tuple[str, ...]

    @property
    def canonical(self) -> str:
        return f"moving {self.phrases[0]}"


MOTIONS: dict[str, Motion] = {
    "left": Motion("left", (-1, 0), ("left", "to the left", "leftwards")),
    "right": Motion("right", (1, 0), ("right", "to the right", "rightwards")),
    "up": Motion("up", (0, -1), ("up", "upwards", "to the top")),
    "down": Motion("down", (0, 1), ("down", "downwards", "to the bottom")),
}

# "moving" first: it is the canonical verb.
VERBS: tuple[str, ...] = ("moving", "rolling", "sliding", "drifting", "gliding", "travelling")


def canonical_caption(colour: str, shape: str, motion: str) -> str:
    """The one caption the generator writes by default: 'a red circle moving right'."""
    return f"a {colour} {SHAPES[shape][0]} {MOTIONS[motion].canonical}"


def paraphrases(colour: str, shape: str, motion: str) -> list[str]:
    """Every way the grammar says (colour, shape, motion); the canonical caption is first."""
    return [
        f"a {colour} {shape_word} {verb} {phrase}"
        for shape_word, verb, phrase in itertools.product(SHAPES[shape], VERBS, MOTIONS[motion].phrases)
    ]


def all_captions() -> list[str]:
    """Every caption of the full grammar (all colours, shapes, motions, paraphrases), in a fixed order."""
    return [
        caption
        for colour, shape, motion in itertools.product(COLOURS, SHAPES, MOTIONS)
        for caption in paraphrases(colour, shape, motion)
    ]


def english_sentences() -> list[str]:
    """The plain English sentences shipped in data/tokenizer_corpus.txt (one per line)."""
    text = resources.files(__package__).joinpath("data/tokenizer_corpus.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def tokenizer_corpus() -> list[str]:
    """The tokenizer's training text: the grammar's captions, then plain English."""
    return all_captions() + english_sentences()
