"""The COCO-WholeBody 133-keypoint layout used by DWPose, and therefore by every pose in the pack (SPEC §0.4).

Index ranges, not magic numbers: body 0–16 (COCO-17 order), feet 17–22, face 23–90 (68 iBUG points),
left hand 91–111, right hand 112–132 (21 points each, wrist first).
"""
from __future__ import annotations

NUM_KEYPOINTS = 133

BODY = slice(0, 17)
FEET = slice(17, 23)
FACE = slice(23, 91)
LEFT_HAND = slice(91, 112)
RIGHT_HAND = slice(112, 133)
HANDS = (LEFT_HAND, RIGHT_HAND)

BODY_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
FOOT_NAMES = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")

# Named body indices used across the pack (COCO-17 order).
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 1, 2, 3, 4
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = 5, 6, 7, 8, 9, 10
LEFT_HIP, RIGHT_HIP, LEFT_KNEE, RIGHT_KNEE, LEFT_ANKLE, RIGHT_ANKLE = 11, 12, 13, 14, 15, 16


def keypoint_names() -> tuple[str, ...]:
    """All 133 names, in index order (face and hand points are numbered within their part)."""
    face = tuple(f"face_{i}" for i in range(68))
    left = tuple(f"left_hand_{i}" for i in range(21))
    right = tuple(f"right_hand_{i}" for i in range(21))
    return BODY_NAMES + FOOT_NAMES + face + left + right
