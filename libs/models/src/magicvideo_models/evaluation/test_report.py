import math

from magicvideo_models.evaluation.report import ReportRow, format_table, format_value, markdown_report

ROWS = [
    ReportRow("judge", "seen: real clips", 1.0, target="≥ 98%", passed=True, unit="%"),
    ReportRow("sr", "PSNR", 21.5, reference="bicubic 24.00 dB", target="> bicubic", passed=False, unit="dB"),
    ReportRow("speed", "ρ(speed, ν)", math.nan),
]


def test_table_has_a_line_per_row_with_its_verdict():
    lines = format_table(ROWS).splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert "100.0%" in lines[2] and lines[2].endswith("pass")
    assert "21.50 dB" in lines[3] and lines[3].endswith("FAIL")
    assert "n/a" in lines[4]


def test_markdown_counts_targets_met_and_escapes_pipes():
    rows = [*ROWS, ReportRow("cli", "a | b", 3.0, unit="count")]
    text = markdown_report(rows, {"steps": 2})
    assert "steps 2." in text
    assert "a \\| b" in text
    assert "1 of 2 targets met." in text
    assert text.count("\n| ") == len(rows) + 1


def test_nan_values_become_null_in_dicts():
    assert ROWS[2].to_dict()["value"] is None
    assert format_value(0.5, "%") == "50.0%"
