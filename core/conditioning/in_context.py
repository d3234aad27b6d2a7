"""DreamActor-M2's spatiotemporal in-context input, ported to Wan-I2V's 36-channel interface (SPEC §4.1).

The reference and the motion share one double-width canvas: ``C[0] = I_ref ⊕_w D[0]``, ``C[t>0] = 0 ⊕_w D[t]``,
with the mask ``M = M_r ⊕_w M_m`` (left half given only at frame 0, right half given while motion is shown).
"0" is mid-grey (zero in [−1, 1]), like Wan-I2V's blank frames. At inference the first second is padded with
zero-motion frames whose motion mask is 0, and the generated video is the left half with those frames dropped.

The pixel composite and pixel mask can go to a stock Wan-I2V graph as a concat image + mask at double width;
``latent_mask`` folds the mask to Wan's ``(4, F, h, 2w)`` layout for our own sampler.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from .wan_grid import TEMPORAL_GROUP, check_frame_count, fold_time, latent_size

BLANK = 0.5  # zero in [-1, 1]
DEFAULT_PAD_FRAMES = 16  # one second at 16 fps (SPEC §4.1 first-second masking)


@dataclass(frozen=True)
class InContextInput:
    """``composite`` ``(T', H, 2W, 3)`` float32 0..1; ``mask`` ``(T', H, 2W)`` float32 {0, 1}; the first
    ``pad_frames`` frames are zero-motion padding to drop from the output."""

    composite: np.ndarray
    mask: np.ndarray
    pad_frames: int

    def __post_init__(self) -> None:
        if self.composite.shape[:3] != self.mask.shape or self.composite.shape[2] % 2:
            raise ValueError(f"composite {self.composite.shape} and mask {self.mask.shape} disagree")

    @property
    def width(self) -> int:
        """Width of one half (the output width)."""
        return self.composite.shape[2] // 2

    def latent_mask(self) -> torch.Tensor:
        """``(4, F, h, 2w)`` Wan-I2V mask: area-pooled to the latent grid, then folded in time (SPEC §0.2)."""
        m = torch.from_numpy(self.mask)[:, None]
        grid = latent_size(m.shape[2], m.shape[3])
        pooled = (F.interpolate(m, size=grid, mode="area") > 0.5).float()
        return fold_time(pooled, "in-context mask")


def _video(value: np.ndarray, input_name: str, frames: bool) -> np.ndarray:
    v = np.asarray(value, dtype=np.float32)
    if v.max(initial=0.0) > 1.0:
        v = v / 255.0
    expected = 4 if frames else 3
    if v.ndim == expected + 1 and not frames and v.shape[0] == 1:
        v = v[0]
    if v.ndim != expected or v.shape[-1] < 3:
        what = "a video (frames, H, W, 3)" if frames else "one image (H, W, 3)"
        raise InputError(input_name, f"shape {v.shape} is not {what}", f"connect {what}")
    return v[..., :3]


def in_context_input(reference: np.ndarray, driving: np.ndarray, pad_frames: int = DEFAULT_PAD_FRAMES
                     ) -> InContextInput:
    """Build the composite and mask; ``driving`` (pose render or RGB) must have ``4k+1`` frames and the
    reference's size, and ``pad_frames`` (0 to disable) must be a multiple of 4 so the total stays ``4k+1``."""
    ref = _video(reference, "reference_image", frames=False)
    drive = _video(driving, "driving", frames=True)
    check_frame_count(drive.shape[0], "driving")
    if drive.shape[1:3] != ref.shape[:2]:
        raise InputError("driving", f"is {drive.shape[2]}x{drive.shape[1]} but the reference is "
                         f"{ref.shape[1]}x{ref.shape[0]}", "resize both to the generation size")
    if pad_frames < 0 or pad_frames % TEMPORAL_GROUP:
        raise InputError("pad_frames", f"{pad_frames} is not a non-negative multiple of 4",
                         "use 16 (one second at 16 fps) or 0")
    total, (h, w) = pad_frames + drive.shape[0], ref.shape[:2]
    composite = np.full((total, h, 2 * w, 3), BLANK, dtype=np.float32)
    composite[0, :, :w] = ref
    composite[pad_frames:, :, w:] = drive
    mask = np.zeros((total, h, 2 * w), dtype=np.float32)
    mask[0, :, :w] = 1.0
    mask[pad_frames:, :, w:] = 1.0
    return InContextInput(composite, mask, pad_frames)


def generated_frames(decoded: np.ndarray, pad_frames: int) -> np.ndarray:
    """The animation from a decoded double-width output: its left half, without the padding frames."""
    out = np.asarray(decoded)
    if out.ndim != 4 or out.shape[2] % 2:
        raise InputError("decoded", f"shape {out.shape} is not a double-width video", "decode the full latent")
    return out[pad_frames:, :, : out.shape[2] // 2]
