"""What DWPose draws between points: its 17 body limbs and 20 hand edges, in its drawing (and colour) order.

The OpenPose-18 body itself (neck insertion, COCO reordering; SPEC §0.4) lives in ``core.pose.openpose``; this
module adds the drawing semantics every skeleton renderer and pose-derived body shape reads, so the limb
tables exist once.
"""
from __future__ import annotations

import numpy as np

from ..pose.openpose import NECK, OPENPOSE_BODY, VISIBLE_SCORE, wholebody_to_openpose

NUM_BODY18 = OPENPOSE_BODY
DWPOSE_MIN_SCORE = VISIBLE_SCORE  # DWPose's visibility threshold (SPEC §0.4)
__all__ = ["DWPOSE_MIN_SCORE", "HAND_EDGES", "LIMBS", "NECK", "NUM_BODY18", "body18"]

# The 17 limbs DWPose draws, as 0-based OpenPose-18 joint pairs, in its drawing (and colour) order.
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)

# The 20 hand edges over the 21 hand points (wrist first), in DWPose's order; finger = edge // 4.
HAND_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)


def body18(keypoints: np.ndarray) -> np.ndarray:
    """``(..., 133, 3)`` whole-body points -> ``(..., 18, 3)`` OpenPose-18 body (neck score 0 unless both
    shoulders are visible)."""
    return wholebody_to_openpose(keypoints)["body"]
