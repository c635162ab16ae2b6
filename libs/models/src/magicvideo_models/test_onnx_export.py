"""ONNX export: the generic machinery on a toy model, then the whole tiny model set."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from .onnx_export import (
    EXTERNAL_DATA_FILE,
    OnnxExportError,
    check_parity,
    export_onnx,
    onnx_parameter_count,
)


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
