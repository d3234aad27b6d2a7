"""Who is in front: the per-frame back-to-front order every renderer and mask compositor shares (SPEC §0.5).

With per-person depth (``PoseSequence.depth``, larger = farther) the farthest person comes first. Without it,
the person whose visible keypoints sit lower in the image (larger mean y, closer to the camera on a ground
plane) is nearer and comes last. Absent people come first; they draw nothing.
"""
from __future__ import annotations

import numpy as np

from ..pose.sequence import PoseSequence


def nearness(poses: PoseSequence, min_score: float = 0.3) -> np.ndarray:
    """``(T, P)`` float: larger is nearer the camera (``-inf`` for a person absent in that frame)."""
    visible = poses.keypoints[..., 2] > min_score
    count = visible.sum(axis=-1)
    if poses.depth is not None:
        score = -poses.depth.astype(np.float64)
    else:
        y = np.where(visible, poses.keypoints[..., 1], 0.0).sum(axis=-1)
        score = y / np.maximum(count, 1)
    return np.where(count > 0, score, -np.inf)


def back_to_front(poses: PoseSequence, min_score: float = 0.3) -> np.ndarray:
    """``(T, P)`` int: person columns per frame, farthest first (stable on ties, so column order breaks them)."""
    return np.argsort(nearness(poses, min_score), axis=1, kind="stable")
