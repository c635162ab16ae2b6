"""FLOP and parameter counts, and the paper's latent-vs-pixel cost claim."""

from __future__ import annotations

import torch
from torch import nn

from .info import (
    count_flops,
    count_flops_by_operator,
    count_used_parameters,
    latent_vs_pixel_flops,
    model_set_costs,
)
from .model_set import ModelSetConfig, build_models


def test_a_linear_layer_costs_two_flops_per_multiply_add() -> None:
    with torch.device("meta"):
        layer = nn.Linear(32, 16)
    assert count_flops(layer, {"x": torch.zeros(5, 32)}) == 2 * 5 * 32 * 16


def test_attention_matmuls_are_counted_on_the_meta_device() -> None:
    with torch.device("meta"):
        attention = nn.MultiheadAttention(16, 2, batch_first=True)
    tokens = torch.zeros(1, 10, 16)
    counts = count_flops_by_operator(attention, {"query": tokens, "key": tokens, "value": tokens})
    projections = 2 * 10 * 16 * (3 * 16) + 2 * 10 * 16 * 16
    scores_and_mix = 2 * (2 * 10 * 10 * 16)
    assert sum(counts.values()) == projections + scores_and_mix


def test_parameters_count_only_the_submodules_a_forward_calls() -> None:
    with torch.device("meta"):
        used, unused = nn.Linear(4, 3), nn.Linear(4, 100)
    model = nn.ModuleDict({"used": used, "unused": unused})
    assert count_used_parameters(model["used"], {"x": torch.zeros(1, 4)}) == 4 * 3 + 3

    class CallsOne(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.parts = model

        def forward(self, x):
            return self.parts["used"](x)

    assert count_used_parameters(CallsOne(), {"x": torch.zeros(1, 4)}) == 4 * 3 + 3


def test_tiny_costs_count_every_model_at_most_its_built_parameters() -> None:
    costs = model_set_costs(ModelSetConfig.tiny())
    built = build_models(ModelSetConfig.tiny())
    assert [c.name for c in costs] == [m.name for m in built.models]
    for cost, model in zip(costs, built.models, strict=True):
        assert 0 < cost.parameters <= sum(p.numel() for p in model.module.parameters()), cost.name
        assert cost.flops is not None and cost.flops > 0, cost.name
    encoder, decoder = costs[4], costs[5]
    vae_parameters = sum(p.numel() for p in built.models[4].module.parameters())
    assert encoder.parameters + decoder.parameters <= vae_parameters


def test_latent_diffusion_costs_about_64_times_less_per_frame_than_pixel_diffusion() -> None:
    comparison = latent_vs_pixel_flops(ModelSetConfig.tiny())
    assert comparison.latent_shape == (1, 4, 16, 8, 8)
    assert comparison.pixel_shape == (1, 3, 16, 64, 64)
    # Convolutions scale with pixels: 64x, a little less for the 3-channel conv_in / conv_out.
    assert 60 < comparison.convolution_ratio <= 64
    # Spatial self-attention scales with pixels squared, so the whole U-Net saves more.
    assert comparison.ratio > 64
