"""DreamActor-M2's bone-length augmentation of driving poses (SPEC §4.2), on COCO-WholeBody keypoints.

Scaling each anatomical group by ``U(0.8, 1.2)`` (left/right alike) makes the driving skeleton's proportions
differ from the target person's, so the model learns to take identity and body shape from the reference and
only motion from the pose. Joints are rebuilt outward from the neck: ``child' = parent' + s·(child − parent)``;
face points follow the nose rigidly, hand and foot points scale about their wrist / ankle.
"""
from __future__ import annotations

import numpy as np

from ..core.pose.sequence import PoseSequence

SCALE_RANGE = (0.8, 1.2)
GROUPS = ("torso", "head", "upper_arm", "forearm", "thigh", "shin", "hand", "foot")
NOSE, L_SHOULDER, R_SHOULDER = 0, 5, 6
FACE_FOLLOWERS = [1, 2, 3, 4, *range(23, 91)]
# (parent, children, group): in forward-kinematics order; parent −1 is the neck (mid-shoulders).
_CHAIN = (
    (-1, [NOSE], "head"),
    (-1, [11], "torso"), (-1, [12], "torso"),
    (5, [7], "upper_arm"), (6, [8], "upper_arm"),
    (7, [9], "forearm"), (8, [10], "forearm"),
    (9, list(range(91, 112)), "hand"), (10, list(range(112, 133)), "hand"),
    (11, [13], "thigh"), (12, [14], "thigh"),
    (13, [15], "shin"), (14, [16], "shin"),
    (15, [17, 18, 19], "foot"), (16, [20, 21, 22], "foot"),
)


def _with_neck(kp: np.ndarray) -> np.ndarray:
    """``(..., 134, 3)``: the keypoints plus a neck point (mid-shoulders) appended at index 133."""
    shoulders = kp[..., [L_SHOULDER, R_SHOULDER], :]
    neck = shoulders.mean(-2, keepdims=True)
    neck[..., 2] = shoulders[..., 2].min(-1, keepdims=True)
    return np.concatenate([kp, neck], axis=-2)


def scale_bones(poses: PoseSequence, rng: np.random.Generator,
                scales: dict[str, float] | None = None) -> PoseSequence:
    """``poses`` with every bone group rescaled (one factor per group, drawn once for the whole window)."""
    if scales is None:
        scales = {g: float(rng.uniform(*SCALE_RANGE)) for g in GROUPS}
    old = _with_neck(poses.keypoints)
    new = old.copy()
    neck = old.shape[-2] - 1
    for parent, children, group in _CHAIN:
        p = neck if parent < 0 else parent
        seen = (old[..., p, 2] > 0)[..., None] & (old[..., children, 2] > 0)
        moved = new[..., p:p + 1, :2] + scales[group] * (old[..., children, :2] - old[..., p:p + 1, :2])
        new[..., children, :2] = np.where(seen[..., None], moved, old[..., children, :2])
    shift = (new[..., NOSE, :2] - old[..., NOSE, :2])[..., None, :]
    seen = old[..., FACE_FOLLOWERS, 2:3] > 0
    new[..., FACE_FOLLOWERS, :2] = np.where(seen, old[..., FACE_FOLLOWERS, :2] + shift, old[..., FACE_FOLLOWERS, :2])
    return PoseSequence(new[..., :neck, :], poses.track_ids, poses.width, poses.height, poses.fps, poses.depth)
