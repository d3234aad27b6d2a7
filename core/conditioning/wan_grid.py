"""Wan's latent geometry for per-pixel-frame masks: the latent grid size and the temporal fold (SPEC §0.2).

One implementation shared by SCAIL-2's 28-channel binding masks (7 base channels × 4 sub-frames) and the
4-channel Wan-I2V masks of the DreamActor-M2 composite (1 channel × 4 sub-frames).
"""
from __future__ import annotations

import torch

from ..errors import InputError

TEMPORAL_GROUP = 4  # one latent frame per 4 pixel frames; frame 0 alone


def latent_size(height: int, width: int) -> tuple[int, int]:
    """The latent grid for a pixel size: three ceil-halvings, as the official code computes it."""
    for _ in range(3):
        height, width = (height + 1) // 2, (width + 1) // 2
    return height, width


def latent_frames(frames: int) -> int:
    return (frames - 1) // TEMPORAL_GROUP + 1


def check_frame_count(frames: int, input_name: str) -> None:
    """Wan needs ``T = 4k + 1`` pixel frames."""
    if frames < 1 or (frames - 1) % TEMPORAL_GROUP:
        keep = max(1, (frames - 1) // TEMPORAL_GROUP * TEMPORAL_GROUP + 1)
        raise InputError(input_name, f"has {frames} frames; Wan needs 4k+1 (e.g. 77, 81)", f"trim to {keep} frames")


def fold_time(channels: torch.Tensor, input_name: str = "mask video") -> torch.Tensor:
    """``(T, C, h, w)`` with ``T = 4k + 1`` -> ``(4C, F, h, w)``: frame 0 repeated four times, then groups of
    four frames stacked on channels, so ``channel = C·sub-frame + c``."""
    check_frame_count(channels.shape[0], input_name)
    padded = torch.cat([channels[:1].expand(TEMPORAL_GROUP, *channels.shape[1:]), channels[1:]], dim=0)
    folded = padded.reshape(padded.shape[0] // TEMPORAL_GROUP, TEMPORAL_GROUP * channels.shape[1],
                            *channels.shape[2:])
    return folded.permute(1, 0, 2, 3).contiguous()
