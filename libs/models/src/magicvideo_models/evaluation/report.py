"""The evaluation table: one row per measured figure, printed to the terminal and as markdown for
the model card (DESIGN.md §7: "a shipped model folder carries a model card … evaluation table").

Each evaluation module turns its result into rows; a row carries the figure, what it is compared
with (chance, a baseline, the real clips), the target the issue sets, and whether it was met.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ReportRow:
    section: str  # "judge", "faithfulness", "smoothness", "speed", "vae", "interpolation", "sr", "cli"
    metric: str
    value: float
    reference: str = ""  # what the value is compared with, written out ("chance 0.017", "bicubic 24.1 dB")
    target: str = ""  # the requirement, written out ("≥ 0.80"); empty when the row is informative only
    passed: bool | None = None  # None: no target
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["value"] = None if math.isnan(self.value) else self.value
        return values


def format_value(value: float, unit: str = "") -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "dB":
        return f"{value:.2f} dB"
    if unit == "count":
        return f"{value:.0f}"
    magnitude = abs(value)
    text = f"{value:.4f}" if magnitude < 0.1 else f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else ("pass" if passed else "FAIL")


def _cells(row: ReportRow) -> list[str]:
    return [
        row.section,
        row.metric,
        format_value(row.value, row.unit),
        row.reference,
        row.target,
        _verdict(row.passed),
    ]


HEADER = ["section", "metric", "value", "compared with", "target", "met"]


def format_table(rows: Sequence[ReportRow]) -> str:
    """A fixed-width text table of the rows, for the terminal."""
    table = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _escaped(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_table(rows: Sequence[ReportRow]) -> str:
    """The rows as a GitHub markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_escaped(cell) for cell in _cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def markdown_report(rows: Sequence[ReportRow], settings: dict[str, Any], title: str = "Evaluation") -> str:
    """A model-card section: how the table was made, then the table."""
    described = ", ".join(f"{key} {value}" for key, value in settings.items())
    met = [row.passed for row in rows if row.passed is not None]
    summary = f"{sum(met)} of {len(met)} targets met." if met else "No targets checked."
    return f"## {title}\n\n{described}.\n\n{markdown_table(rows)}\n\n{summary}\n"
