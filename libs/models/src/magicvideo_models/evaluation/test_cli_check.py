from pathlib import Path

import numpy as np
import pytest

from magicvideo_models.evaluation.cli_check import (
    HELDOUT_CAPTION,
    SEEN_CAPTION,
    CliOptions,
    CliRunError,
    cli_check,
    cli_command,
    cli_rows,
    run_cli,
    target_for,
)
from magicvideo_models.evaluation.evaluate import python_generator
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.evaluation.test_onnx_pipeline import ROOT, SHIPPED
from magicvideo_models.shapes.grammar import parse_caption
from magicvideo_models.shapes.heldout import is_heldout

KEYFRAMES_ONLY = CliOptions(steps=1, interpolate=False, super_resolution=False, threads=1)


def test_check_captions_are_one_seen_and_one_heldout_combination():
    assert not is_heldout(*vars(parse_caption(SEEN_CAPTION)).values())
    assert is_heldout(*vars(parse_caption(HELDOUT_CAPTION)).values())


def test_targets_are_8_and_7_of_10_scaled_up_to_the_seeds():
    assert target_for(SEEN_CAPTION, 10) == 8
    assert target_for(HELDOUT_CAPTION, 10) == 7
    assert target_for(SEEN_CAPTION, 1) == 1
    assert target_for(HELDOUT_CAPTION, 3) == 3


def test_command_passes_only_the_flags_given():
    command = cli_command(
        ROOT, "a red circle moving right", 4, SHIPPED, Path("/tmp/x.mp4"), KEYFRAMES_ONLY, 12.0
    )
    text = " ".join(command)
    assert "generate a red circle moving right --seed 4" in text
    assert "--fps 12 --steps 1 --threads 1 --no-interp --no-sr -o /tmp/x.mp4" in text
    assert "--guidance" not in text


def test_cli_frames_equal_the_python_reference_pipeline():
    frames = run_cli("a red circle moving right", 3, SHIPPED, KEYFRAMES_ONLY, fps=12.0)

    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    expected = python_generator(folder, SamplingSettings(steps=1).resolved(folder.manifest))(
        "a red circle moving right", 3, 12.0
    )
    assert frames.shape == expected.shape == (16, 64, 64, 3)
    # same latents up to float32 kernel rounding: bytes differ by at most one level
    assert np.abs(frames.astype(int) - expected.astype(int)).max() <= 1


def test_check_judges_each_seed_and_reports_a_row_per_caption():
    check = cli_check(SEEN_CAPTION, [0], SHIPPED, KEYFRAMES_ONLY)
    assert len(check.verdicts) == 1 and check.target == 1
    (row,) = cli_rows([check])
    assert row.value == check.matches and row.passed == (check.matches >= 1)


def test_a_failing_cli_run_raises_with_its_exit_code(tmp_path):
    with pytest.raises(CliRunError, match="exited"):
        run_cli("a red circle moving right", 0, tmp_path / "no-such-folder", KEYFRAMES_ONLY)
