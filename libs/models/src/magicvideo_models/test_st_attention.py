import pytest
import torch
from diffusers.models.transformers.transformer_2d import Transformer2DModel

from magicvideo_models.directed_attention import DirectedTemporalAttention
from magicvideo_models.st_attention import spatio_temporal_attention

FRAMES = 4


def _modules(zero_temporal: bool) -> tuple[Transformer2DModel, DirectedTemporalAttention]:
    torch.manual_seed(0)
    spatial = Transformer2DModel(2, 8, in_channels=16, cross_attention_dim=12, norm_num_groups=8).eval()
    temporal = DirectedTemporalAttention(16, 2, zero_init=zero_temporal).eval()
    return spatial, temporal


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.randn(FRAMES, 16, 4, 4), torch.randn(FRAMES, 5, 12)


def test_parallel_sums_spatial_and_temporal_attention_of_the_same_input() -> None:
    spatial, temporal = _modules(zero_temporal=False)
    hidden, text = _inputs()
    with torch.no_grad():
        out = spatio_temporal_attention(spatial, temporal, hidden, text, FRAMES, "parallel")
        spatial_out = spatial(hidden, encoder_hidden_states=text, return_dict=False)[0]
        expected = spatial_out + temporal(hidden, FRAMES)
    torch.testing.assert_close(out, expected)


def test_parallel_and_sequential_differ_once_temporal_attention_is_trained() -> None:
    spatial, temporal = _modules(zero_temporal=False)
    hidden, text = _inputs()
    with torch.no_grad():
        parallel = spatio_temporal_attention(spatial, temporal, hidden, text, FRAMES, "parallel")
        sequential = spatio_temporal_attention(spatial, temporal, hidden, text, FRAMES, "sequential")
    assert (parallel - sequential).abs().max() > 1e-4


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_zero_temporal_attention_leaves_the_spatial_transformer_alone(mode: str) -> None:
    spatial, temporal = _modules(zero_temporal=True)
    hidden, text = _inputs()
    with torch.no_grad():
        out = spatio_temporal_attention(spatial, temporal, hidden, text, FRAMES, mode)  # type: ignore[arg-type]
        expected = spatial(hidden, encoder_hidden_states=text, return_dict=False)[0]
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
