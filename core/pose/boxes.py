"""Axis-aligned person boxes (``x0, y0, x1, y1`` pixels): built from points, compared by IoU. Used by tracking,
pose augmentation and the tracking metrics alike."""
from __future__ import annotations

import numpy as np

EPS = np.finfo(float).eps


def points_box(xy: np.ndarray) -> np.ndarray:
    """The ``(4,)`` box around ``(N, 2)`` points (N ≥ 1)."""
    xy = np.asarray(xy).reshape(-1, 2)
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes ``(n, 4)`` × ``(m, 4)``; 0 where both boxes are empty."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, EPS), 0.0)
