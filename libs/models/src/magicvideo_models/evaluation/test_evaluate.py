import json
from collections import Counter

from magicvideo_models.evaluation.evaluate import main, parse_arguments
from magicvideo_models.evaluation.test_onnx_pipeline import SHIPPED

SMALL_RUN = [
    "--models",
    str(SHIPPED),
    "--clips-per-split",
    "3",
    "--steps",
    "1",
    "--interp-steps",
    "1",
    "--sr-steps",
    "1",
    "--speed-seeds",
    "1",
    "--speed-fps",
    "8,24",
    "--quality-clips",
    "1",
    "--cli-seeds",
    "0",
    "--threads",
    "1",
]


def test_arguments_default_to_200_clips_per_split_and_the_manifest_sampling():
    config, out, markdown = parse_arguments(["--models", str(SHIPPED)])
    assert config.clips_per_split == 200 and config.via == "python" and config.cli_seeds == 10
    assert config.sampling.steps is None and out is None and markdown is None


def test_small_run_on_the_shipped_folder_writes_every_row_in_range(tmp_path, capsys):
    report_path, markdown_path = tmp_path / "report.json", tmp_path / "report.md"

    main([*SMALL_RUN, "--out", str(report_path), "--markdown", str(markdown_path)])

    report = json.loads(report_path.read_text())
    rows = report["rows"]
    assert Counter(row["section"] for row in rows) == {
        "judge": 4,
        "faithfulness": 14,  # per split: 3 attributes, all three, object found; VAE ceiling: shape, all three
        "smoothness": 8,
        "speed": 3,
        "vae": 5,
        "interpolation": 5,  # whole frame, object region, both against the decoded true latents, flicker
        "sr": 1,
    }
    for row in rows:
        if row["unit"] == "%":
            assert 0.0 <= row["value"] <= 1.0, row
    # the judge's controls hold whatever the model: real clips right, random captions at chance
    assert all(row["passed"] for row in rows if row["section"] == "judge")
    assert report["settings"]["steps"] == 1 and report["settings"]["clips per split"] == 3
    assert len(report["results"]["faithfulness"]["heldout"]["clips"]) == 3
    ceiling = [row for row in rows if "VAE reconstructions" in row["metric"]]
    assert len(ceiling) == 4 and all(row["passed"] is None for row in ceiling)
    assert report["results"]["faithfulness"]["seen"]["vae_reconstructions"]["clips"] == 3

    printed = capsys.readouterr().out
    assert all(row["metric"] in printed for row in rows)
    assert markdown_path.read_text().count("\n| ") == len(rows) + 1
