"""FPS conditioning of MagicVideo (paper §3.1.3, eq. 5).

    emb_ν = Linear(SiLU(Linear(Sin(ν)))),    ν = 16 / L_s · FPS

"Sin(·)" is "the sinusoidal position embedding [46]" (the Transformer's): we read it as the same
sinusoidal embedding of a scalar that LDM uses for the timestep, diffusers' ``Timesteps``
(frequencies 1 … 1/10000 over the embedding's channels), applied to the real-valued ν; the
two linear layers with a SiLU between them are diffusers' ``TimestepEmbedding``.

Where it is added: the paper adds emb_ν ∈ R^C to "the video frame features" z ∈ R^{F×H×W×C}, one
vector for every frame and position. The U-Net already has exactly such a path: the timestep
embedding is projected by every ResNet block and added to its features, per channel, for every
frame and position (and at every level, whatever its channel count). So emb_ν is made with the
timestep embedding's size and added to it, as diffusers adds class embeddings.

The last linear layer is zero-initialised, so at initialisation the FPS embedding adds nothing and
an inflated 2D model is unchanged.
"""

import torch
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn


class FPSEmbedding(nn.Module):
    """ν [B] float → emb_ν [B, embedding_dim] (eq. 5)."""

    def __init__(
        self,
        sinusoid_channels: int,
        embedding_dim: int,
        flip_sin_to_cos: bool = True,
        freq_shift: float = 0.0,
    ) -> None:
        super().__init__()
        self.sinusoid = Timesteps(sinusoid_channels, flip_sin_to_cos, freq_shift)
        self.mlp = TimestepEmbedding(sinusoid_channels, embedding_dim, act_fn="silu")
        self.reset_output_to_zero()

    def reset_output_to_zero(self) -> None:
        with torch.no_grad():
            self.mlp.linear_2.weight.zero_()
            self.mlp.linear_2.bias.zero_()

    def forward(self, fps: torch.Tensor) -> torch.Tensor:
        sinusoid = self.sinusoid(fps).to(self.mlp.linear_1.weight.dtype)
        return self.mlp(sinusoid)
