"""Comparison videos: panels of equal size placed side by side, with each identity's region outlined in its colour.

Why: a generated clip alone cannot show whether each person kept their own look; next to the reference, the
driving skeletons and the ground truth, with every identity outlined in its binding colour, a swap is visible
at a glance.
"""
from __future__ import annotations

import cv2
import numpy as np

from .frames import to_uint8_rgb

GAP_PX = 2  # dark column between panels


def outline_identities(frames: np.ndarray, masks: np.ndarray, colours: np.ndarray, thickness: int = 1
                       ) -> np.ndarray:
    """``frames`` ``(T,H,W,3)`` uint8 with the boundary of each ``(T,P,H,W)`` mask drawn in ``colours[p]``."""
    out = np.array(frames, dtype=np.uint8, copy=True)
    kernel = np.ones((2 * thickness + 1, 2 * thickness + 1), np.uint8)
    for t in range(out.shape[0]):
        for p in range(masks.shape[1]):
            mask = (np.asarray(masks[t, p]) > 0.5).astype(np.uint8)
            if mask.any():
                edge = mask.astype(bool) & ~cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT,
                                                      borderValue=0).astype(bool)
                out[t][edge] = colours[p]
    return out


def side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    """Panels ``(T,H,W,C)`` (float 0–1 or uint8; a single frame is repeated over time) as one uint8 video.

    Panels of another size are resized (area) to the first panel's height and width."""
    videos = [to_uint8_rgb(p) for p in panels]
    frames = max(len(v) for v in videos)
    height, width = videos[0].shape[1:3]
    gap = np.zeros((frames, height, GAP_PX, 3), np.uint8)
    row: list[np.ndarray] = []
    for video in videos:
        if video.shape[1:3] != (height, width):
            video = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in video])
        if len(video) != frames:
            video = np.repeat(video[:1], frames, axis=0) if len(video) == 1 else _pad_time(video, frames)
        row.extend([video, gap])
    return np.concatenate(row[:-1], axis=2)


def _pad_time(video: np.ndarray, frames: int) -> np.ndarray:
    """A shorter panel holds its last frame."""
    return np.concatenate([video, np.repeat(video[-1:], frames - len(video), axis=0)])
