"""The model tools' command line: what it does, and how it refuses mistakes (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from safetensors import safe_open

from .cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from .keyframe_unet import KeyframeUNet, KeyframeUNetConfig
from .model_folder import TOKENIZER_FILE, build_manifest
from .model_set import ModelSetConfig

REPO_ROOT = Path(__file__).resolve().parents[4]
SHIPPED_FOLDER = REPO_ROOT / "assets" / "models" / "magicvideo-shapes"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_usage_error(result: tuple[int, str, str], *named: str) -> None:
    code, _, err = result
    assert code == EXIT_USAGE
    assert "Traceback" not in err
    for text in named:
        assert text in err


def test_export_of_an_unknown_config_names_the_choices(capsys, tmp_path: Path) -> None:
    result = run_cli(capsys, "export", "--config", "huge", "--out", str(tmp_path))
    assert_usage_error(result, "'huge'", "tiny, small, base")


def test_export_refuses_an_output_path_that_is_a_file(capsys, tmp_path: Path) -> None:
    existing = tmp_path / "model_index.json"
    existing.write_text("{}")
    assert_usage_error(run_cli(capsys, "export", "--config", "tiny", "--out", str(existing)), str(existing))


def test_info_of_something_neither_a_folder_nor_a_config_is_refused(capsys, tmp_path: Path) -> None:
    assert_usage_error(run_cli(capsys, "info", str(tmp_path / "nowhere")), "nowhere", "config name")


def test_info_of_a_folder_without_manifest_is_refused(capsys, tmp_path: Path) -> None:
    assert_usage_error(run_cli(capsys, "info", str(tmp_path)), "model_index.json")


def test_info_of_a_config_lists_every_model(capsys) -> None:
    code, out, _ = run_cli(capsys, "info", "tiny")
    assert code == EXIT_OK
    for name in (
        "text_encoder",
        "image_encoder",
        "unet",
        "interp_unet",
        "vae_encoder",
        "vae_decoder",
        "sr_unet",
    ):
        assert f"\n{name} " in out


@pytest.fixture(scope="module")
def exported_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """`export --config tiny` once for this module: its folder, exit code and output."""
    folder = tmp_path_factory.mktemp("cli-export") / "magicvideo-tiny"
    code = main(["export", "--config", "tiny", "--seed", "0", "--out", str(folder)])
    return folder, code, (folder / "model_index.json").read_text()


def test_export_writes_a_folder_that_validate_accepts(capsys, exported_tiny) -> None:
    folder, code, manifest = exported_tiny
    assert code == EXIT_OK
    assert json.loads(manifest)["config_name"] == "tiny"
    code, out, _ = run_cli(capsys, "validate", str(folder))
    assert code == EXIT_OK
    assert "valid" in out


def test_info_of_a_folder_reads_parameters_from_its_onnx_files(capsys, exported_tiny) -> None:
    folder, _, _ = exported_tiny
    code, out, _ = run_cli(capsys, "info", str(folder))
    assert code == EXIT_OK
    assert "config tiny" in out and "\nunet " in out


def test_validate_of_a_missing_folder_is_a_usage_error(capsys, tmp_path: Path) -> None:
    assert_usage_error(run_cli(capsys, "validate", str(tmp_path / "absent")), "absent")


def test_validate_lists_every_violation_naming_file_and_tensor(capsys, tmp_path: Path) -> None:
    manifest = build_manifest(ModelSetConfig.tiny(), 0, 14, ["text_encoder", "unet", "vae_decoder"])
    (tmp_path / "model_index.json").write_text(json.dumps(manifest))
    (tmp_path / "text_encoder").mkdir()
    torch.onnx.export(
        torch.nn.Identity(),
        (torch.zeros(1, 77, dtype=torch.int64),),
        str(tmp_path / "text_encoder" / "model.onnx"),
        dynamo=False,
        input_names=["token_ids"],
        output_names=["last_hidden_state"],
    )
    code, _, err = run_cli(capsys, "validate", str(tmp_path))
    assert code == EXIT_FAILED
    assert TOKENIZER_FILE in err
    assert 'text_encoder/model.onnx: input "token_ids"' in err
    assert 'text_encoder/model.onnx: input "input_ids": missing' in err
    assert "unet/model.onnx: missing" in err
    assert "Traceback" not in err


@pytest.mark.skipif(not SHIPPED_FOLDER.is_dir(), reason=f"{SHIPPED_FOLDER} is not in this checkout")
def test_validate_accepts_the_shipped_folder(capsys) -> None:
    code, out, _ = run_cli(capsys, "validate", str(SHIPPED_FOLDER))
    assert code == EXIT_OK
    assert "valid" in out


def test_inflate_refuses_a_folder_without_a_unet(capsys, tmp_path: Path) -> None:
    result = run_cli(capsys, "inflate", str(tmp_path), "--out", str(tmp_path / "unet.safetensors"))
    assert_usage_error(result, "config.json")


def test_inflate_writes_the_key_frame_unet_weights_as_safetensors(capsys, tmp_path: Path) -> None:
    config = KeyframeUNetConfig.tiny()
    UNet2DConditionModel(**config.to_diffusers_config()).save_pretrained(tmp_path / "sd" / "unet")
    out = tmp_path / "keyframe_unet.safetensors"
    code, stdout, _ = run_cli(capsys, "inflate", str(tmp_path / "sd"), "--out", str(out))
    assert code == EXIT_OK, stdout
    with safe_open(str(out), framework="pt") as weights:
        assert set(weights.keys()) == set(KeyframeUNet(config).state_dict())
        assert json.loads(weights.metadata()["keyframe_unet_config"])["frames"] == config.frames


def test_flops_table_measures_the_latent_saving(capsys) -> None:
    code, out, _ = run_cli(capsys, "flops-table", "--configs", "tiny")
    assert code == EXIT_OK
    assert "1x4x16x8x8" in out and "1x3x16x64x64" in out


def test_flops_table_refuses_unknown_configs(capsys) -> None:
    assert_usage_error(run_cli(capsys, "flops-table", "--configs", "tiny", "xl"), "'xl'")


def test_python_dash_m_runs_the_tools() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "magicvideo_models", "--help"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    for command in ("export", "info", "validate", "inflate", "flops-table"):
        assert command in completed.stdout
