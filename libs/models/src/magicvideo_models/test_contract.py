import copy
import json
import re
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from magicvideo_models.contract import (
    ModelFolderError,
    contract_path,
    load_contract,
    validate_manifest,
    validate_model_folder,
)

# Sizes of the tiny config (shared dimensions table): C=4, D=128, L=77, E=128, S=64.
MANIFEST = {
    "_class_name": "MagicVideoPipeline",
    "family": "magicvideo",
    "version": "0.1.0",
    "config_name": "tiny",
    "contract_version": 1,
    "frames": 16,
    "interp_factor": 4,
    "latent_channels": 4,
    "vae_scale_factor": 8,
    "latent_scaling_factor": 0.18215,
    "sample_size": {"height": 64, "width": 64},
    "sr_scale": 4,
    "text": {"max_length": 77, "hidden_size": 128},
    "image_encoder": {
        "image_size": 64,
        "embed_dim": 128,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
    "vae": {"decoder_context_frames": 2},
    "schedulers": {
        "unet": {
            "num_train_timesteps": 1000,
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "beta_schedule": "scaled_linear",
            "prediction_type": "epsilon",
            "timestep_spacing": "leading",
            "steps_offset": 1,
        }
    },
    "defaults": {"num_inference_steps": 25, "guidance_scale": 7.5, "sampler": "ddim"},
    "fps": {"min": 2, "max": 30, "default": 8},
    "models": {
        "text_encoder": "text_encoder/model.onnx",
        "unet": "unet/model.onnx",
        "vae_decoder": "vae_decoder/model.onnx",
    },
}

# Static sizes the fake models give their axes; B stays symbolic unless a test says otherwise.
STATIC_SIZES = {"C": 4, "2C": 8, "D": 128, "L": 77, "E": 128, "S": 64}

ONNX_DTYPES = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64, "int8": TensorProto.INT8}


def tensor_info(spec: dict, overrides: dict) -> onnx.ValueInfoProto:
    """A graph input/output from a contract tensor spec; ``overrides`` may set name, dtype or shape."""
    shape = overrides.get(
        "shape", [STATIC_SIZES.get(d, d) if isinstance(d, str) else d for d in spec["shape"]]
    )
    dtype = ONNX_DTYPES[overrides.get("dtype", spec["dtypes"][0])]
    return helper.make_tensor_value_info(overrides.get("name", spec["name"]), dtype, shape)


def write_fake_model(path: Path, model_name: str, overrides: dict | None = None) -> None:
    """An ONNX model with the contract's tensors of ``model_name`` (an Identity per output)."""
    overrides = overrides or {}
    spec = load_contract()["models"][model_name]
    inputs = [tensor_info(s, overrides.get(s["name"], {})) for s in spec["inputs"]]
    outputs = [tensor_info(s, overrides.get(s["name"], {})) for s in spec["outputs"]]
    nodes = [helper.make_node("Identity", [inputs[0].name], [output.name]) for output in outputs]
    graph = helper.make_graph(nodes, model_name, inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    (tmp_path / "model_index.json").write_text(json.dumps(MANIFEST))
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer/tokenizer.json").write_text("{}")
    for name, file in MANIFEST["models"].items():
        write_fake_model(tmp_path / file, name)
    return tmp_path


def messages(folder: Path) -> list[str]:
    return [str(v) for v in validate_model_folder(folder).violations]


def test_a_folder_with_the_contract_tensors_is_valid(model_folder):
    report = validate_model_folder(model_folder)
    assert report.violations == []
    assert sorted(report.models_checked) == ["text_encoder", "unet", "vae_decoder"]
    report.raise_if_invalid()


def test_every_contract_model_can_be_built_valid(tmp_path):
    manifest = copy.deepcopy(MANIFEST)
    manifest["models"] = {name: spec["file"] for name, spec in load_contract()["models"].items()}
    (tmp_path / "model_index.json").write_text(json.dumps(manifest))
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer/tokenizer.json").write_text("{}")
    for name, file in manifest["models"].items():
        write_fake_model(tmp_path / file, name)
    assert messages(tmp_path) == []


def test_a_missing_model_file_is_named(model_folder):
    (model_folder / "unet/model.onnx").unlink()
    assert messages(model_folder) == ["unet/model.onnx: missing (listed as unet)"]


def test_a_missing_tokenizer_is_named(model_folder):
    (model_folder / "tokenizer/tokenizer.json").unlink()
    assert messages(model_folder) == ["tokenizer/tokenizer.json: missing"]


def test_a_wrong_tensor_name_names_file_and_both_tensors(model_folder):
    write_fake_model(model_folder / "unet/model.onnx", "unet", {"timestep": {"name": "t"}})
    found = messages(model_folder)
    assert any(m.startswith('unet/model.onnx: input "t": not in the contract') for m in found)
    assert any(m.startswith('unet/model.onnx: input "timestep": missing') for m in found)


def test_a_wrong_dtype_names_file_tensor_and_allowed_dtypes(model_folder):
    write_fake_model(model_folder / "unet/model.onnx", "unet", {"timestep": {"dtype": "int8"}})
    assert messages(model_folder) == ['unet/model.onnx: input "timestep": dtype int8 not in [float32, int64]']


def test_a_wrong_rank_is_reported(model_folder):
    write_fake_model(
        model_folder / "vae_decoder/model.onnx", "vae_decoder", {"latents": {"shape": ["B", 4, 8, 8]}}
    )
    (message,) = messages(model_folder)
    assert message.startswith('vae_decoder/model.onnx: input "latents": rank 4')


def test_a_static_batch_dimension_is_rejected(model_folder):
    write_fake_model(
        model_folder / "text_encoder/model.onnx",
        "text_encoder",
        {"last_hidden_state": {"shape": [1, 77, 128]}},
    )
    assert messages(model_folder) == [
        'text_encoder/model.onnx: output "last_hidden_state": axis 0 (batch B) must be dynamic, is static 1'
    ]


def test_a_static_size_must_match_the_manifest(model_folder):
    write_fake_model(
        model_folder / "text_encoder/model.onnx",
        "text_encoder",
        {"last_hidden_state": {"shape": ["B", 77, 256]}},
    )
    assert messages(model_folder) == [
        'text_encoder/model.onnx: output "last_hidden_state": axis 2 (D) is 256, the manifest says 128'
    ]


def test_a_fixed_axis_must_have_its_size(model_folder):
    write_fake_model(
        model_folder / "vae_decoder/model.onnx", "vae_decoder", {"frames": {"shape": ["B", 4, "F", "H", "W"]}}
    )
    assert messages(model_folder) == ['vae_decoder/model.onnx: output "frames": axis 1 is 4, expected 3']


def test_one_letter_has_one_static_size_within_a_model(model_folder):
    overrides = {
        "sample": {"shape": ["B", 4, 16, 8, 8]},
        "out_sample": {"shape": ["B", 4, 16, 8, 16]},
    }
    write_fake_model(model_folder / "unet/model.onnx", "unet", overrides)
    assert messages(model_folder) == [
        'unet/model.onnx: output "out_sample": axis 4 (w) is 16, but 8 at input "sample" axis 4'
    ]


def test_a_manifest_without_a_required_key_is_rejected(model_folder):
    manifest = copy.deepcopy(MANIFEST)
    del manifest["latent_channels"]
    (model_folder / "model_index.json").write_text(json.dumps(manifest))
    (message,) = messages(model_folder)
    assert message.startswith("model_index.json: ")
    assert "'latent_channels' is a required property" in message


def test_a_manifest_enum_is_checked_with_its_path(model_folder):
    manifest = copy.deepcopy(MANIFEST)
    manifest["schedulers"]["unet"]["beta_schedule"] = "cosine"
    assert [str(v) for v in validate_manifest(manifest)] == [
        "model_index.json: schedulers/unet/beta_schedule: 'cosine' is not one of ['linear', 'scaled_linear']"
    ]


def test_a_model_name_outside_the_contract_is_rejected():
    manifest = copy.deepcopy(MANIFEST)
    manifest["models"]["motion_module"] = "motion_module/model.onnx"
    (violation,) = validate_manifest(manifest)
    assert violation.file == "model_index.json"
    assert '"motion_module" is not a contract model' in violation.message


def test_fps_default_must_lie_in_the_trained_range():
    manifest = copy.deepcopy(MANIFEST)
    manifest["fps"]["default"] = 60
    assert [v.message for v in validate_manifest(manifest)] == ["fps: default 60 outside [min, max]"]


def test_raise_if_invalid_lists_every_violation(model_folder):
    (model_folder / "unet/model.onnx").unlink()
    (model_folder / "tokenizer/tokenizer.json").unlink()
    with pytest.raises(ModelFolderError) as raised:
        validate_model_folder(model_folder).raise_if_invalid()
    assert len(raised.value.violations) == 2
    assert "unet/model.onnx" in str(raised.value) and "tokenizer/tokenizer.json" in str(raised.value)


def test_the_contract_file_can_be_overridden_by_environment(model_folder, tmp_path, monkeypatch):
    contract = copy.deepcopy(load_contract())
    contract["models"]["unet"]["inputs"][1]["dtypes"] = ["int64"]
    override = tmp_path / "contract.json"
    override.write_text(json.dumps(contract))
    monkeypatch.setenv("MAGICVIDEO_CONTRACT", str(override))
    assert contract_path() == override
    assert messages(model_folder) == ['unet/model.onnx: input "timestep": dtype float32 not in [int64]']


def test_models_doc_lists_every_contract_tensor():
    """docs/models.md's tensor table says what the contract says, row for row."""
    repo_root = next(p for p in Path(__file__).resolve().parents if (p / "nx.json").exists())
    doc = (repo_root / "docs/models.md").read_text()
    rows = re.findall(
        r"^\| `([a-z_]+/model\.onnx)` \| (input|output) \| `(\w+)` \| ([\w, ]+) \| \[([\w, ]+)\] \|",
        doc,
        re.M,
    )
    documented = {(file, role, name): (dtypes, shape) for file, role, name, dtypes, shape in rows}
    expected = {
        (spec["file"], role[:-1], tensor["name"]): (
            ", ".join(tensor["dtypes"]),
            ", ".join(map(str, tensor["shape"])),
        )
        for spec in load_contract()["models"].values()
        for role in ("inputs", "outputs")
        for tensor in spec[role]
    }
    assert documented == expected
