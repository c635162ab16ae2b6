"""ONNX export: the generic machinery on a toy model, then the whole tiny model set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from .contract import validate_model_folder
from .model_folder import FolderExport, export_model_folder
from .model_set import ModelSetConfig, build_models
from .onnx_export import (
    EXTERNAL_DATA_FILE,
    OnnxExportError,
    check_parity,
    export_onnx,
    onnx_parameter_count,
    onnx_session,
    run_session,
)
from .text_encoder import TextEncoderConfig
from .video_vae import VideoVAEConfig


class ToySuperResolution(nn.Module):
    """The sr_unet contract's signature on a convolution and a linear noise-level embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(6, 16, 3, padding=1)
        self.conv_out = nn.Conv2d(16, 3, 3, padding=1)
        self.embed = nn.Linear(2, 3)

    def forward(self, sample, low_res, timestep, noise_level):
        conditions = torch.stack([timestep, noise_level], dim=1) / 1000
        features = torch.relu(self.conv_in(torch.cat([sample, low_res], dim=1)))
        return self.conv_out(features) + self.embed(conditions)[:, :, None, None]


def toy_inputs(batch_size: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(batch_size)
    return {
        "sample": torch.randn(batch_size, 3, 16, 16, generator=generator),
        "low_res": torch.randn(batch_size, 3, 16, 16, generator=generator),
        "timestep": torch.linspace(10, 900, batch_size),
        "noise_level": torch.full((batch_size,), 20.0),
    }


def toy_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return ToySuperResolution().eval()


def test_export_matches_pytorch_at_both_batch_sizes_and_a_larger_frame(tmp_path: Path) -> None:
    report = export_onnx("sr_unet", toy_model(), toy_inputs, tmp_path / "sr_unet" / "model.onnx")
    assert [p.label for p in report.parity] == ["batch 1", "batch 2", "H=32, W=32"]
    assert report.worst_relative_error <= 1e-4
    parameters = (6 * 16 * 9 + 16) + (16 * 3 * 9 + 3) + (2 * 3 + 3)
    assert report.parameters == onnx_parameter_count(report.path) == parameters


def test_export_names_inputs_outputs_and_dynamic_axes_after_the_contract(tmp_path: Path) -> None:
    report = export_onnx("sr_unet", toy_model(), toy_inputs, tmp_path / "model.onnx")
    graph = onnx.load(str(report.path)).graph
    dims = {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*graph.input, *graph.output]
    }
    assert dims == {
        "sample": ["B", 3, "H", "W"],
        "low_res": ["B", 3, "H", "W"],
        "timestep": ["B"],
        "noise_level": ["B"],
        "out_sample": ["B", 3, "H", "W"],
    }


def test_parity_check_raises_when_onnx_differs_from_pytorch(tmp_path: Path) -> None:
    report = export_onnx("sr_unet", toy_model(seed=0), toy_inputs, tmp_path / "model.onnx")
    with pytest.raises(OnnxExportError, match="relative error"):
        check_parity("sr_unet", toy_model(seed=1), report.path, toy_inputs)


def test_export_refuses_inputs_that_are_not_the_contracts(tmp_path: Path) -> None:
    def misnamed(batch_size: int) -> dict[str, torch.Tensor]:
        inputs = toy_inputs(batch_size)
        inputs["noise"] = inputs.pop("noise_level")
        return inputs

    with pytest.raises(OnnxExportError, match="contract's inputs"):
        export_onnx("sr_unet", toy_model(), misnamed, tmp_path / "model.onnx")


def test_large_models_keep_their_weights_in_one_external_data_file(tmp_path: Path) -> None:
    report = export_onnx(
        "sr_unet", toy_model(), toy_inputs, tmp_path / "model.onnx", external_data_threshold_bytes=0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", EXTERNAL_DATA_FILE]
    assert report.file_bytes == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert report.worst_relative_error <= 1e-4


def test_same_weights_export_to_identical_bytes(tmp_path: Path) -> None:
    first = export_onnx("sr_unet", toy_model(), toy_inputs, tmp_path / "a" / "model.onnx")
    second = export_onnx("sr_unet", toy_model(), toy_inputs, tmp_path / "b" / "model.onnx")
    assert first.path.read_bytes() == second.path.read_bytes()


# The whole tiny set, exported once for this module.

CONTRACT_ORDER = [
    "text_encoder",
    "image_encoder",
    "unet",
    "interp_unet",
    "vae_encoder",
    "vae_decoder",
    "sr_unet",
]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> FolderExport:
    return export_model_folder("tiny", seed=0, out_dir=tmp_path_factory.mktemp("magicvideo-tiny"))


def test_every_tiny_model_matches_pytorch_in_onnxruntime(tiny_folder: FolderExport) -> None:
    assert [report.name for report in tiny_folder.models] == CONTRACT_ORDER
    for report in tiny_folder.models:
        assert {"batch 1", "batch 2"} <= {p.label for p in report.parity}, report.name
        assert report.worst_relative_error <= 1e-4, report.name


def test_tiny_folder_passes_the_contract_validator(tiny_folder: FolderExport) -> None:
    report = validate_model_folder(tiny_folder.folder)
    assert report.ok, report.violations
    assert report.models_checked == CONTRACT_ORDER
    manifest = json.loads((tiny_folder.folder / "model_index.json").read_text())
    assert manifest["config_name"] == "tiny"
    assert manifest["training"]["status"] == "untrained"
    assert manifest["vae"]["decoder_context_frames"] == VideoVAEConfig.tiny().decoder_context_frames
    assert manifest["text"] == {"max_length": 77, "hidden_size": TextEncoderConfig.tiny().hidden_size}


def test_same_config_and_seed_export_a_byte_identical_folder(
    tiny_folder: FolderExport, tmp_path: Path
) -> None:
    again = export_model_folder("tiny", seed=0, out_dir=tmp_path, compare_with_pytorch=False)
    first = {p.relative_to(tiny_folder.folder): p for p in tiny_folder.folder.rglob("*") if p.is_file()}
    second = {p.relative_to(again.folder): p for p in again.folder.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    assert len(first) == 1 + 1 + len(CONTRACT_ORDER)  # manifest, tokenizer, models
    for relative, path in first.items():
        assert path.read_bytes() == second[relative].read_bytes(), relative


# Causality of the exported files (paper eq. 4, masked before the softmax; DESIGN.md §5). At
# random init the temporal attentions' output projections are zero, which would make any
# causality test pass; the weights are perturbed first so the temporal paths carry signal.

CAUSAL_MODELS = {"unet": "sample", "vae_decoder": "latents"}  # model -> its [B, C, F, h, w] input


@pytest.fixture(scope="module")
def perturbed_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    folder = tmp_path_factory.mktemp("perturbed")
    generator = torch.Generator().manual_seed(7)
    exports = {}
    for model in build_models(ModelSetConfig.tiny(), seed=0).models:
        if model.name not in CAUSAL_MODELS:
            continue
        with torch.no_grad():
            for parameter in model.module.parameters():
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
        report = export_onnx(
            model.name, model.module, model.inputs_for_batch, folder / model.name / "model.onnx"
        )
        exports[model.name] = (report.path, model.inputs_for_batch(1))
    return exports


@pytest.mark.parametrize("model_name", sorted(CAUSAL_MODELS))
@pytest.mark.parametrize("frame", [1, 9])
def test_changing_a_frame_of_the_onnx_model_never_changes_earlier_output_frames(
    perturbed_exports: dict[str, tuple[Path, dict]], model_name: str, frame: int
) -> None:
    path, inputs = perturbed_exports[model_name]
    session = onnx_session(path)
    changed = dict(inputs)
    input_name = CAUSAL_MODELS[model_name]
    changed[input_name] = inputs[input_name].clone()
    changed[input_name][:, :, frame] += torch.randn(changed[input_name][:, :, frame].shape)
    before, after = run_session(session, inputs), run_session(session, changed)  # [B, C, F, ...]
    difference = np.abs(after - before)
    assert difference[:, :, :frame].max() <= 1e-6
    assert difference[:, :, frame].max() > 1e-3
    # the temporal attention is live: the change reaches the following frame
    assert difference[:, :, frame + 1].max() > 1e-5
