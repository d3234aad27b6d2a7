"""Frame arrays in the one byte layout every writer, renderer and overlay draws on."""
from __future__ import annotations

import numpy as np

from ..errors import InputError


def to_uint8_rgb(frames: np.ndarray, input_name: str = "images") -> np.ndarray:
    """``(T, H, W, C)`` float in [0, 1] (or uint8) → uint8 RGB; grey is repeated, alpha dropped."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4) or frames.shape[0] == 0:
        raise InputError(input_name, f"expected an IMAGE batch (frames, height, width, 1|3|4); got {frames.shape}",
                         "connect an IMAGE output")
    if frames.dtype != np.uint8:
        frames = (np.clip(frames.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    return np.ascontiguousarray(frames[..., :3])
