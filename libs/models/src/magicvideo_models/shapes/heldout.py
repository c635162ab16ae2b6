"""The colour × shape × motion combinations never shown in training (the composition test, DESIGN.md §7).

The list is committed data (heldout_combinations.txt) rather than computed, so that growing the
grammar never silently moves a combination between training and evaluation.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from magicvideo_models.shapes.grammar import ShapeAttributes, all_combinations

HELDOUT_FILE = Path(__file__).with_name("heldout_combinations.txt")


def parse_heldout_lines(text: str) -> frozenset[ShapeAttributes]:
    """Combinations from 'colour, shape, motion' lines; '#' starts a comment."""
    combinations: set[ShapeAttributes] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 3:
            raise ValueError(f"line {number}: expected 'colour, shape, motion', got {raw!r}")
        combinations.add(ShapeAttributes(*fields))
    return frozenset(combinations)


@cache
def heldout_combinations() -> frozenset[ShapeAttributes]:
    """The committed held-out combinations."""
    return parse_heldout_lines(HELDOUT_FILE.read_text(encoding="utf-8"))


def is_heldout(colour: str, shape: str, motion: str) -> bool:
    """Whether the combination is reserved for evaluation."""
    return ShapeAttributes(colour, shape, motion) in heldout_combinations()


def training_combinations() -> list[ShapeAttributes]:
    """Every combination except the held-out ones, in table order."""
    held = heldout_combinations()
    return [attributes for attributes in all_combinations() if attributes not in held]


def evaluation_combinations() -> list[ShapeAttributes]:
    """The held-out combinations, in table order."""
    held = heldout_combinations()
    return [attributes for attributes in all_combinations() if attributes in held]
