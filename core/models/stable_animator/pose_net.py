"""StableAnimator's PoseNet: an RGB pose map at pixel size → features at latent size with the UNet's width.

The module and parameter names equal StableAnimator's ``animation/modules/pose_net.py`` so its released
``pose_net`` weights load with the exact key check (SPEC §2.2 (4)). Layers: eight convolutions with SiLU between
(three of them 4×4 stride 2, so /8), a zero-initialised 1×1 projection to ``channels`` and a learned scale
(init 2.0).
"""
from __future__ import annotations

import torch
from torch import nn

POSE_NET_SCALE_INIT = 2.0
# (in, out, kernel, stride) of the convolutions in ``conv_layers``; a SiLU follows each one.
_CONVS = ((3, 3, 3, 1), (3, 16, 4, 2), (16, 16, 3, 1), (16, 32, 4, 2), (32, 32, 3, 1), (32, 64, 4, 2),
          (64, 64, 3, 1), (64, 128, 3, 1))
POSE_NET_DOWNSAMPLE = 8


class PoseNet(nn.Module):
    """``(M, 3, H, W)`` pose maps in −1..1 → ``(M, channels, H/8, W/8)``."""

    def __init__(self, channels: int = 320) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out, kernel, stride in _CONVS:
            conv = nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=stride, padding=1)
            nn.init.normal_(conv.weight, 0.0, (2.0 / (kernel * kernel * c_in)) ** 0.5)  # He, as StableAnimator
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.SiLU()]
        self.conv_layers = nn.Sequential(*layers)
        self.final_proj = nn.Conv2d(128, channels, kernel_size=1)
        nn.init.zeros_(self.final_proj.weight)
        nn.init.zeros_(self.final_proj.bias)
        self.scale = nn.Parameter(torch.full((1,), POSE_NET_SCALE_INIT))

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        return self.final_proj(self.conv_layers(pose)) * self.scale
