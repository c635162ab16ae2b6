"""Spatio-temporal attention, ST-Attn, of MagicVideo (paper §3.1.2, eq. 2–3, Fig. 2(b)).

    z_t  = S-Attn(z_{t-1}) + T-Attn(z_{t-1})                        (eq. 2, "parallel")
    S-Attn = Cross-Attn(LN(MHSA(LN(z_{t-1}))), τ(y))                (eq. 3)

S-Attn is diffusers' ``Transformer2DModel`` (GroupNorm, projection in, BasicTransformerBlock:
LN → self-attention → LN → cross-attention to the text → LN → feed-forward, each with its residual,
projection out, and the block's residual): exactly LDM's spatial transformer, and it keeps
Stable Diffusion's parameter names. It returns z + its update. T-Attn is
``DirectedTemporalAttention``, which returns its update only, so eq. 2's sum is
"z + spatial update + temporal update", and a zero temporal output gives back the 2D model.

``sequential`` is the ablation the paper argues against (and what VDM-style factorised attention
does): spatial first, then temporal on its output, z' = S(z); z'' = z' + T(z').

The spatial and temporal modules are owned by the U-Net block (``attentions[i]`` and
``temporal_attentions[i]``) so that the spatial ones keep diffusers' names; this file is the rule
that combines them.
"""

from typing import Literal

import torch
from diffusers.models.transformers.transformer_2d import Transformer2DModel

from magicvideo_models.directed_attention import DirectedTemporalAttention

STAttentionMode = Literal["parallel", "sequential"]


def spatio_temporal_attention(
    spatial: Transformer2DModel,
    temporal: DirectedTemporalAttention,
    hidden_states: torch.Tensor,
    encoder_hidden_states: torch.Tensor,
    num_frames: int,
    mode: STAttentionMode,
) -> torch.Tensor:
    """hidden_states [B*F, C, h, w], encoder_hidden_states [B*F, L, D] → [B*F, C, h, w]."""
    spatial_out = spatial(hidden_states, encoder_hidden_states=encoder_hidden_states, return_dict=False)[0]
    if mode == "parallel":
        return spatial_out + temporal(hidden_states, num_frames)  # eq. 2
    if mode == "sequential":
        return spatial_out + temporal(spatial_out, num_frames)
    raise ValueError(f"unknown st_attention mode {mode!r}: expected 'parallel' or 'sequential'")
