"""Parameters and FLOPs of a model set, and the paper's latent-vs-pixel cost claim.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` on one forward at batch 1 of
each model's example inputs, with the model built on the meta device: shapes flow, no weights
are allocated, so even `base` (an SD-sized U-Net, and that U-Net on 256x256 pixels) costs
seconds. On meta, scaled-dot-product attention runs as its math decomposition, so attention's
matmuls are counted too (on CPU the fused kernel is not). Counted: matmuls and convolutions,
as multiply-adds x 2; norms and activations are not.

Paper §1 and §3: diffusing in a latent space 8x smaller per side "reduces the computational
cost by around 64x for every single frame". `latent_vs_pixel_flops` measures it for the
key-frame U-Net: the same architecture (in and out channels 3) run on pixels at the key-frame
resolution against its latent-space self, per denoising step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import keyframe_unet
from .contract import MANIFEST_FILE
from .keyframe_unet import KeyframeUNet
from .model_set import CONFIG_NAMES, ExportableModel, ModelSetConfig, build_models
from .onnx_export import onnx_parameter_count


@dataclass(frozen=True)
class ModelCost:
    name: str
    parameters: int
    flops: int | None  # per forward at batch 1; None when unknown


@dataclass(frozen=True)
class LatentPixelComparison:
    config_name: str
    latent_shape: tuple[int, ...]  # [1, C, F, h, w]
    pixel_shape: tuple[int, ...]  # [1, 3, F, H, W]
    latent_flops: int
    pixel_flops: int
    latent_convolution_flops: int
    pixel_convolution_flops: int

    @property
    def ratio(self) -> float:
        return self.pixel_flops / self.latent_flops

    @property
    def convolution_ratio(self) -> float:
        """The convolutions alone: 64x per frame, minus the 3-vs-4 channels of conv_in."""
        return self.pixel_convolution_flops / self.latent_convolution_flops


def count_flops(module: nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """FLOPs of one forward of `module` (built on the meta device) on `inputs` (any device)."""
    return sum(count_flops_by_operator(module, inputs).values())


def count_flops_by_operator(module: nn.Module, inputs: dict[str, torch.Tensor]) -> dict[str, int]:
    """FLOPs of one forward per counted aten operator ("convolution", "mm", "bmm", ...)."""
    return _measure(module, inputs)[0]


def count_used_parameters(module: nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """Parameters of the submodules one forward calls: what an export of it holds (the VAE's
    exported encoder and decoder each wrap the whole VAE but use half of it)."""
    return _measure(module, inputs)[1]


def _measure(module: nn.Module, inputs: dict[str, torch.Tensor]) -> tuple[dict[str, int], int]:
    meta_inputs = [tensor.to("meta") for tensor in inputs.values()]
    used: dict[int, int] = {}

    def record(called: nn.Module, _args: object, _output: object) -> None:
        for parameter in called.parameters(recurse=False):
            used[id(parameter)] = parameter.numel()

    hooks = [submodule.register_forward_hook(record) for submodule in module.modules()]
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(*meta_inputs)
    finally:
        for hook in hooks:
            hook.remove()
    flops = {str(op).removeprefix("aten."): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return flops, sum(used.values())


def model_set_costs(config: ModelSetConfig) -> list[ModelCost]:
    """Parameters and FLOPs per forward (batch 1) of every model of the set, in contract order."""
    with torch.device("meta"):
        built = build_models(config)
    return [_cost(model) for model in built.models]


def latent_vs_pixel_flops(config: ModelSetConfig) -> LatentPixelComparison:
    """The key-frame U-Net per step on latents vs the same U-Net on key-frame pixels."""
    latent_config = config.keyframe_unet
    pixel_config = replace(
        latent_config,
        in_channels=3,
        out_channels=3,
        sample_size=latent_config.sample_size * config.vae_scale_factor,
    )
    counts = []
    shapes = []
    for unet_config in (latent_config, pixel_config):
        with torch.device("meta"):
            unet = KeyframeUNet(unet_config).eval()
        inputs = keyframe_unet.example_inputs(unet_config, 1)
        counts.append(count_flops_by_operator(unet, inputs))
        shapes.append(tuple(inputs["sample"].shape))
    latent, pixel = counts
    return LatentPixelComparison(
        config.name,
        latent_shape=shapes[0],
        pixel_shape=shapes[1],
        latent_flops=sum(latent.values()),
        pixel_flops=sum(pixel.values()),
        latent_convolution_flops=latent.get("convolution", 0),
        pixel_convolution_flops=pixel.get("convolution", 0),
    )


def folder_costs(folder: Path) -> tuple[str, list[ModelCost]]:
    """Parameters from each ONNX file's initializers; FLOPs from the config the manifest names
    (an ONNX graph alone does not say them), None for a config this package does not know."""
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    config_name = manifest["config_name"]
    config_flops: dict[str, int | None] = {}
    if config_name in CONFIG_NAMES:
        config_flops = {c.name: c.flops for c in model_set_costs(ModelSetConfig.by_name(config_name))}
    costs = [
        ModelCost(name, onnx_parameter_count(folder / file), config_flops.get(name))
        for name, file in manifest["models"].items()
    ]
    return config_name, costs


def format_costs(costs: list[ModelCost]) -> str:
    rows = [("model", "parameters", "GFLOPs / forward (batch 1)")]
    for cost in costs:
        gflops = "?" if cost.flops is None else f"{cost.flops / 1e9:,.2f}"
        rows.append((cost.name, f"{cost.parameters:,}", gflops))
    total_parameters = sum(c.parameters for c in costs)
    rows.append(("total", f"{total_parameters:,}", ""))
    return _table(rows)


def format_latent_vs_pixel(comparisons: list[LatentPixelComparison]) -> str:
    rows = [
        (
            "config",
            "latent input",
            "GFLOPs / step",
            "pixel input",
            "GFLOPs / step",
            "pixel / latent",
            "convolutions only",
        )
    ]
    for c in comparisons:
        rows.append(
            (
                c.config_name,
                "x".join(map(str, c.latent_shape)),
                f"{c.latent_flops / 1e9:,.1f}",
                "x".join(map(str, c.pixel_shape)),
                f"{c.pixel_flops / 1e9:,.1f}",
                f"{c.ratio:,.1f}x",
                f"{c.convolution_ratio:,.1f}x",
            )
        )
    return _table(rows)


def explain_latent_vs_pixel() -> str:
    return (
        "Paper §1/§3: an 8x smaller latent per side should cut the cost ~64x per frame. The "
        "convolutions show exactly that; the whole U-Net saves more, because spatial "
        "self-attention grows with the square of the token count (64x the tokens, 4096x the cost)."
    )


def _cost(model: ExportableModel) -> ModelCost:
    flops, parameters = _measure(model.module, model.inputs_for_batch(1))
    return ModelCost(model.name, parameters, sum(flops.values()))


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join(lines)
