"""The video distribution adaptor of MagicVideo (paper §3.1.1, eq. 1).

    z_t^i = S_i · Conv2d(z_t^i) + B_i,        S, B ∈ R^{F×C}

The 2D convolutions are shared by every frame (frames are folded into the batch); the adaptor then
shifts the mean and scales the variance of each frame's features with a per-frame, per-channel
affine map. It is the paper's cheap replacement for the 1D temporal convolution of "2D+1D" video
models: frames of one clip are semantically alike, so their differences are modelled by 2·F·C
numbers per layer rather than by a temporal convolution.

Where it sits: after every ResNet block of the U-Net (the ResNet block is where the U-Net's 2D
convolutions live, so its output is "Conv2d(z)" of eq. 1). At initialisation S = 1 and B = 0, so
the adaptor is the identity and a 2D U-Net inflated into the video U-Net is unchanged.

The frame count F is fixed by the parameters' shape: export with the config's frame count (16 key
frames, 3 interpolated frames).
"""

import torch
from torch import nn


class FrameAdaptor(nn.Module):
    """Per-frame affine map of eq. 1 on frames folded into the batch."""

    def __init__(self, num_frames: int, channels: int) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.channels = channels
        self.scale = nn.Parameter(torch.ones(num_frames, channels))  # S of eq. 1, [F, C]
        self.shift = nn.Parameter(torch.zeros(num_frames, channels))  # B of eq. 1, [F, C]

    def reset_parameters(self) -> None:
        """Back to the identity (S = 1, B = 0): how a 2D model's weights are inflated."""
        with torch.no_grad():
            self.scale.fill_(1.0)
            self.shift.zero_()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """hidden_states: [B*F, C, h, w], frame index fastest within each video → same shape."""
        _, channels, height, width = hidden_states.shape
        frames = hidden_states.reshape(-1, self.num_frames, channels, height, width)  # [B, F, C, h, w]
        adapted = frames * self.scale[:, :, None, None] + self.shift[:, :, None, None]
        return adapted.reshape(-1, channels, height, width)
