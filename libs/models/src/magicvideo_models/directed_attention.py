"""Directed temporal self-attention of MagicVideo (paper §3.1.2, eq. 4, Fig. 2(c)).

Each spatial position of each frame is a token; attention runs across the frames of one position,
per head:

    A_t = Softmax(Q_t K_tᵀ / √d + log M),   M lower triangular (M_pq = 1 if q ≤ p else 0)

Eq. 4 as printed multiplies the softmax by M *after* normalising, which still lets future frames
in through the softmax's denominator (and leaves rows that no longer sum to one). The text's
intent, "the present token is only affected by the previous tokens", needs the mask *before* the
softmax: future frames get a score of -inf. A property test proves it: changing frame j never
changes output frames i < j.

Options:
- ``directed=False`` gives the conventional bidirectional attention (the paper's ablation).
- ``window=k`` limits attention to a band: with ``directed`` the present frame and the k-1 frames
  before it (frame p attends to q with p-k < q ≤ p), otherwise |p-q| < k. The VideoVAE decoder uses
  it to decode long videos in chunks with a bounded context.
- ``zero_init`` zeroes the output projection, so the module's output is exactly zero at
  initialisation: a 2D model inflated with it is unchanged.

The module returns the attention *update* only, with no residual: the caller adds it (the U-Net
sums it with the spatial attention, eq. 2; a decoder adds ``x + attention(x)``).

No positional encoding: with the directed mask the order of frames is in the mask itself, and the
per-frame adaptor (eq. 1) gives each frame its own statistics.
"""

import torch
import torch.nn.functional as F
from torch import nn


def temporal_attention_mask(
    num_frames: int, directed: bool, window: int | None, device: torch.device | None = None
) -> torch.Tensor | None:
    """Which frames each frame may attend to: bool [F, F] (True = allowed), or None for all.

    Built from the (static) frame count with tril/triu, so an ONNX export holds it as a constant.
    """
    if not directed and window is None:
        return None
    allowed = torch.ones(num_frames, num_frames, dtype=torch.bool, device=device)
    if directed:
        allowed = allowed.tril()  # paper eq. 4: only the present and previous frames
    if window is not None:
        allowed = allowed.triu(-(window - 1))
        if not directed:
            allowed = allowed.tril(window - 1)
    return allowed


class DirectedTemporalAttention(nn.Module):
    """Multi-head self-attention across frames at each spatial position (eq. 4).

    forward(hidden_states [B*F, C, h, w], num_frames) → update [B*F, C, h, w]; frames are folded
    into the batch, frame index fastest within each video (the U-Net's and a per-frame decoder's
    layout), so every 2D layer around it stays per frame.
    """

    def __init__(
        self,
        channels: int,
        num_heads: int,
        directed: bool = True,
        window: int | None = None,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        if channels % num_heads != 0:
            raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")
        if window is not None and window < 1:
            raise ValueError(f"window must be at least 1 frame, got {window}")
        self.channels = channels
        self.num_heads = num_heads
        self.directed = directed
        self.window = window
        self.zero_init = zero_init
        self.norm = nn.LayerNorm(channels)  # per token, so it never mixes frames
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)
        if zero_init:
            self.reset_output_to_zero()

    def reset_output_to_zero(self) -> None:
        """Zero the output projection: the module then contributes nothing (inflation, init)."""
        with torch.no_grad():
            self.to_out.weight.zero_()
            self.to_out.bias.zero_()

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        _, channels, height, width = hidden_states.shape
        head_dim = channels // self.num_heads
        # [B*F, C, h, w] → tokens [B*h*w, F, C]: one sequence of frames per spatial position
        tokens = (
            hidden_states.reshape(-1, num_frames, channels, height, width)
            .permute(0, 3, 4, 1, 2)
            .reshape(-1, num_frames, channels)
        )
        normed = self.norm(tokens)

        def split_heads(projected: torch.Tensor) -> torch.Tensor:  # [N, F, C] → [N, heads, F, d]
            return projected.reshape(-1, num_frames, self.num_heads, head_dim).transpose(1, 2)

        query = split_heads(self.to_q(normed))
        key = split_heads(self.to_k(normed))
        value = split_heads(self.to_v(normed))
        mask = temporal_attention_mask(num_frames, self.directed, self.window, hidden_states.device)
        # the mask is applied to the scores, before the softmax (see module docstring)
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        attended = attended.transpose(1, 2).reshape(-1, num_frames, channels)
        update = self.to_out(attended)  # [B*h*w, F, C]
        return (
            update.reshape(-1, height, width, num_frames, channels)
            .permute(0, 3, 4, 1, 2)
            .reshape(-1, channels, height, width)
        )
