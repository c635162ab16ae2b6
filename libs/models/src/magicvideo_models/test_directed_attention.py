import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from magicvideo_models.directed_attention import DirectedTemporalAttention, temporal_attention_mask

FRAMES = 6


def _random_attention(**options: object) -> DirectedTemporalAttention:
    torch.manual_seed(0)
    return DirectedTemporalAttention(channels=8, num_heads=2, zero_init=False, **options).eval()


def _changed_frame(hidden: torch.Tensor, frame: int) -> torch.Tensor:
    """hidden [B*F, C, h, w] with frame `frame` of every video replaced by new values."""
    changed = hidden.clone().reshape(-1, FRAMES, *hidden.shape[1:])
    changed[:, frame] = torch.randn_like(changed[:, frame])
    return changed.reshape(hidden.shape)


def _per_frame(out: torch.Tensor) -> torch.Tensor:
    return out.reshape(-1, FRAMES, *out.shape[1:])


def test_contributes_nothing_at_zero_initialisation() -> None:
    attention = DirectedTemporalAttention(channels=8, num_heads=2)
    hidden = torch.randn(2 * FRAMES, 8, 3, 3)
    assert torch.count_nonzero(attention(hidden, FRAMES)) == 0


def test_directed_mask_is_lower_triangular_and_bidirectional_has_none() -> None:
    assert torch.equal(
        temporal_attention_mask(4, directed=True, window=None), torch.ones(4, 4, dtype=torch.bool).tril()
    )
    assert temporal_attention_mask(4, directed=False, window=None) is None


@settings(max_examples=12, deadline=None)
@given(frame=st.integers(min_value=0, max_value=FRAMES - 1), seed=st.integers(0, 2**16))
def test_directed_attention_never_lets_a_frame_see_later_frames(frame: int, seed: int) -> None:
    attention = _random_attention(directed=True)
    torch.manual_seed(seed)
    hidden = torch.randn(2 * FRAMES, 8, 3, 3)
    with torch.no_grad():
        before = _per_frame(attention(hidden, FRAMES))
        after = _per_frame(attention(_changed_frame(hidden, frame), FRAMES))
    torch.testing.assert_close(after[:, :frame], before[:, :frame], rtol=0, atol=1e-6)
    assert (after[:, frame] - before[:, frame]).abs().max() > 1e-4


def test_bidirectional_attention_lets_earlier_frames_see_later_ones() -> None:
    attention = _random_attention(directed=False)
    hidden = torch.randn(FRAMES, 8, 3, 3)
    with torch.no_grad():
        before = _per_frame(attention(hidden, FRAMES))
        after = _per_frame(attention(_changed_frame(hidden, FRAMES - 1), FRAMES))
    assert (after[:, 0] - before[:, 0]).abs().max() > 1e-4


def test_a_window_limits_attention_to_the_last_frames() -> None:
    attention = _random_attention(directed=True, window=2)
    hidden = torch.randn(FRAMES, 8, 3, 3)
    with torch.no_grad():
        before = _per_frame(attention(hidden, FRAMES))
        after = _per_frame(attention(_changed_frame(hidden, 1), FRAMES))
    # frame 2 sees frames 1 and 2; frame 3 sees frames 2 and 3 only
    assert (after[:, 2] - before[:, 2]).abs().max() > 1e-4
    torch.testing.assert_close(after[:, 3:], before[:, 3:], rtol=0, atol=1e-6)
    torch.testing.assert_close(after[:, :1], before[:, :1], rtol=0, atol=1e-6)


def test_attention_stays_at_its_own_spatial_position() -> None:
    attention = _random_attention(directed=False)
    hidden = torch.randn(FRAMES, 8, 3, 3)
    changed = hidden.clone()
    changed[:, :, 0, 0] = torch.randn(FRAMES, 8)
    with torch.no_grad():
        before = attention(hidden, FRAMES)
        after = attention(changed, FRAMES)
    torch.testing.assert_close(after[:, :, 1:, :], before[:, :, 1:, :], rtol=0, atol=1e-6)
    assert (after[:, :, 0, 0] - before[:, :, 0, 0]).abs().max() > 1e-4
