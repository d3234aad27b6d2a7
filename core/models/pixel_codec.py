"""A weight-free, Wan-shaped video codec: what lets a tiny SCAIL-2 train and sample with no VAE download.

Each latent frame is the mean of its Wan frame group (frame 0 alone, then groups of 4), area-resized to a quarter
and space-to-depth folded 2×2, so 12 of the 16 latent channels hold exactly recoverable colour at ``H/8 × W/8``;
the last 4 are zero. Decoding is nearest-neighbour (exact on 4×4-blocky frames). It follows the
``sampling.loop.VideoCodec`` protocol, so the samplers decode with it as with the Wan VAE (tests, CI, the demo).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..conditioning.wan_grid import check_frame_count

LATENT_CHANNELS = 16
COLOUR_CHANNELS = 12
TEMPORAL_GROUP = 4
SPATIAL_FACTOR = 8


class PixelCodec:
    """Weight-free, Wan-shaped codec: ``(T,H,W,3)`` in 0..1 with ``T = 4k+1`` ⇄ ``(1,16,k+1,H/8,W/8)``."""

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        check_frame_count(frames.shape[0], "frames")
        t, h, w, _ = frames.shape
        if h % SPATIAL_FACTOR or w % SPATIAL_FACTOR:
            raise ValueError(f"frames are {w}x{h}; the pixel codec needs multiples of {SPATIAL_FACTOR}")
        x = frames.float().permute(0, 3, 1, 2) * 2 - 1
        groups = [x[:1]] + [x[i:i + TEMPORAL_GROUP].mean(0, keepdim=True) for i in range(1, t, TEMPORAL_GROUP)]
        x = F.interpolate(torch.cat(groups), size=(h // 4, w // 4), mode="area")
        colour = F.pixel_unshuffle(x, 2)  # (F, 12, h/8, w/8)
        pad = colour.new_zeros(colour.shape[0], LATENT_CHANNELS - COLOUR_CHANNELS, *colour.shape[2:])
        return torch.cat([colour, pad], 1).permute(1, 0, 2, 3).unsqueeze(0)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        x = latent[0, :COLOUR_CHANNELS].float().permute(1, 0, 2, 3)  # (F, 12, h, w)
        x = F.interpolate(F.pixel_shuffle(x, 2), scale_factor=4, mode="nearest")
        frames = torch.cat([x[:1]] + [x[i:i + 1].expand(TEMPORAL_GROUP, -1, -1, -1) for i in range(1, x.shape[0])])
        return ((frames + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
