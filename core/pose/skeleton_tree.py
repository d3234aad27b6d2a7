"""The body as a tree rooted at the neck, for bone-length edits (retargeting and augmentation, SPEC §4.2).

Each bone is ``(parent, child, group)`` over COCO-WholeBody indices, with ``NECK`` the virtual root (the mean of the
shoulders, as in OpenPose). Groups are DreamActor-M2's anatomical groups — torso, neck→head, upper arm, forearm,
thigh, shin, hand, foot — plus ``shoulder`` for the neck→shoulder half-widths, which the paper leaves out. Left and
right bones share a group, so one factor per group keeps the body symmetric. Hands, feet and the face are "parts":
their points move with their root (wrist, ankle, nose) and scale about it by their group's factor.
"""
from __future__ import annotations

import numpy as np

from . import wholebody as wb

NECK = -1
GROUPS = ("torso", "shoulder", "head", "upper_arm", "forearm", "thigh", "shin", "hand", "foot")

BONES: tuple[tuple[int, int, str], ...] = (
    (NECK, wb.LEFT_SHOULDER, "shoulder"), (NECK, wb.RIGHT_SHOULDER, "shoulder"),
    (NECK, wb.LEFT_HIP, "torso"), (NECK, wb.RIGHT_HIP, "torso"),
    (NECK, wb.NOSE, "head"), (wb.NOSE, wb.LEFT_EYE, "head"), (wb.NOSE, wb.RIGHT_EYE, "head"),
    (wb.LEFT_EYE, wb.LEFT_EAR, "head"), (wb.RIGHT_EYE, wb.RIGHT_EAR, "head"),
    (wb.LEFT_SHOULDER, wb.LEFT_ELBOW, "upper_arm"), (wb.RIGHT_SHOULDER, wb.RIGHT_ELBOW, "upper_arm"),
    (wb.LEFT_ELBOW, wb.LEFT_WRIST, "forearm"), (wb.RIGHT_ELBOW, wb.RIGHT_WRIST, "forearm"),
    (wb.LEFT_HIP, wb.LEFT_KNEE, "thigh"), (wb.RIGHT_HIP, wb.RIGHT_KNEE, "thigh"),
    (wb.LEFT_KNEE, wb.LEFT_ANKLE, "shin"), (wb.RIGHT_KNEE, wb.RIGHT_ANKLE, "shin"),
)

# (root, point indices, group): parts that follow their root and scale about it.
PARTS: tuple[tuple[int, np.ndarray, str], ...] = (
    (wb.LEFT_WRIST, np.arange(wb.LEFT_HAND.start, wb.LEFT_HAND.stop), "hand"),
    (wb.RIGHT_WRIST, np.arange(wb.RIGHT_HAND.start, wb.RIGHT_HAND.stop), "hand"),
    (wb.LEFT_ANKLE, np.array([17, 18, 19]), "foot"),
    (wb.RIGHT_ANKLE, np.array([20, 21, 22]), "foot"),
    (wb.NOSE, np.arange(wb.FACE.start, wb.FACE.stop), "head"),
)


def neck(keypoints: np.ndarray, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(..., 2)`` neck position and ``(...)`` bool: both shoulders seen."""
    left, right = keypoints[..., wb.LEFT_SHOULDER, :], keypoints[..., wb.RIGHT_SHOULDER, :]
    seen = (left[..., 2] > min_confidence) & (right[..., 2] > min_confidence)
    return (left[..., :2] + right[..., :2]) / 2, seen


def joint(keypoints: np.ndarray, index: int, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Position and seen-flag of a body point or of the virtual neck."""
    if index == NECK:
        return neck(keypoints, min_confidence)
    return keypoints[..., index, :2], keypoints[..., index, 2] > min_confidence


def bone_vectors(keypoints: np.ndarray, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(..., B, 2)`` child − parent vectors of ``BONES`` and ``(..., B)`` bool: both ends seen."""
    vectors, seen = [], []
    for parent, child, _ in BONES:
        p, p_seen = joint(keypoints, parent, min_confidence)
        c, c_seen = joint(keypoints, child, min_confidence)
        vectors.append(c - p)
        seen.append(p_seen & c_seen)
    return np.stack(vectors, axis=-2), np.stack(seen, axis=-1)


def apply_bone_scales(keypoints: np.ndarray, bone_scale: np.ndarray, part_scale: dict[str, float],
                      min_confidence: float = 0.0) -> np.ndarray:
    """Forward kinematics from the neck outward: ``child' = parent' + s·(child − parent)`` per frame, for
    ``keypoints (T, 133, 3)`` and one factor per bone. A point whose parent is not seen moves with the parent's
    displacement; parts move with their root and scale about it. Confidences are unchanged."""
    out = keypoints.copy()
    shift = np.zeros(keypoints.shape[:-1] + (2,), dtype=np.float32)  # (T, 133, 2) displacement of each point
    for (parent, child, _), scale in zip(BONES, bone_scale):
        p, p_seen = joint(keypoints, parent, min_confidence)
        c = keypoints[:, child, :2]
        p_shift = np.zeros_like(p) if parent == NECK else shift[:, parent]
        moved = p + p_shift + scale * (c - p)
        shift[:, child] = np.where(p_seen[:, None], moved - c, p_shift)
    for root, points, group in PARTS:
        local = keypoints[:, points, :2] - keypoints[:, root, None, :2]
        root_seen = keypoints[:, root, None, 2:] > min_confidence  # no root: follow it, but do not rescale
        growth = np.where(root_seen, (part_scale.get(group, 1.0) - 1.0) * local, 0.0)
        shift[:, points] = shift[:, root, None] + growth
    seen = keypoints[..., 2:] > 0
    out[..., :2] = np.where(seen, keypoints[..., :2] + shift, keypoints[..., :2])
    return out
