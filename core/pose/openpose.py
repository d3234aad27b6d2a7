"""COCO-WholeBody 133 ⇄ OpenPose-18 body (+ 70-point face, 21-point hands), the layout of ``POSE_KEYPOINT``.

The body remap is DWPose's (SPEC §0.4): the neck is the mean of the shoulders, visible only when both shoulders
score above 0.3, and the 17 COCO points move to their OpenPose-18 slots. The OpenPose face has 70 points: DWPose's
68 landmarks followed by the right and left eye taken from the body (what comfyui_controlnet_aux emits).
Going back, the neck and the two extra face points are dropped (they are derived), and the feet, which
OpenPose-18 does not carry, come back as "not seen" (confidence 0).
"""
from __future__ import annotations

import numpy as np

from .wholebody import FACE, LEFT_HAND, LEFT_SHOULDER, NUM_KEYPOINTS, RIGHT_HAND, RIGHT_SHOULDER

OPENPOSE_BODY = 18
OPENPOSE_FACE = 70
HAND_POINTS = 21
NECK = 1  # OpenPose-18 index of the neck, the one body point COCO does not have
OPENPOSE_RIGHT_EYE, OPENPOSE_LEFT_EYE = 14, 15

# DWPose's visibility threshold: a point under it is not drawn and is written as 0,0,0 by controlnet_aux.
VISIBLE_SCORE = 0.3

# OPENPOSE_FROM_COCO[k] is the COCO-17 index placed in OpenPose-18 slot k (-1: the neck, computed).
OPENPOSE_FROM_COCO = np.array([0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3])


def wholebody_to_openpose(keypoints: np.ndarray) -> dict[str, np.ndarray]:
    """Split ``(..., 133, 3)`` whole-body points into OpenPose parts: ``body`` ``(..., 18, 3)``, ``face``
    ``(..., 70, 3)``, ``hand_left`` and ``hand_right`` ``(..., 21, 3)``; scores are kept as they are."""
    kp = np.asarray(keypoints, dtype=np.float32)
    body = kp[..., OPENPOSE_FROM_COCO.clip(min=0), :].copy()
    body[..., NECK, :] = _neck(kp)
    face = np.concatenate([kp[..., FACE, :], body[..., [OPENPOSE_RIGHT_EYE, OPENPOSE_LEFT_EYE], :]], axis=-2)
    return {"body": body, "face": face, "hand_left": kp[..., LEFT_HAND, :].copy(),
            "hand_right": kp[..., RIGHT_HAND, :].copy()}


def _neck(kp: np.ndarray) -> np.ndarray:
    left, right = kp[..., LEFT_SHOULDER, :], kp[..., RIGHT_SHOULDER, :]
    seen = (left[..., 2] > VISIBLE_SCORE) & (right[..., 2] > VISIBLE_SCORE)
    neck = (left + right) / 2
    neck[..., 2] = np.minimum(left[..., 2], right[..., 2])
    return np.where(seen[..., None], neck, 0.0).astype(np.float32)


def openpose_to_wholebody(body: np.ndarray, face: np.ndarray | None = None, hand_left: np.ndarray | None = None,
                          hand_right: np.ndarray | None = None) -> np.ndarray:
    """Assemble one person's ``(133, 3)`` whole-body points from OpenPose parts (``(18, 3)``, ``(68|70, 3)``,
    ``(21, 3)``); a missing part (None or empty) is "not seen"."""
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    body = np.asarray(body, dtype=np.float32).reshape(OPENPOSE_BODY, 3)
    slots = OPENPOSE_FROM_COCO >= 0
    out[OPENPOSE_FROM_COCO[slots]] = body[slots]
    if face is not None and np.size(face):
        out[FACE] = np.asarray(face, dtype=np.float32).reshape(-1, 3)[: FACE.stop - FACE.start]
    if hand_left is not None and np.size(hand_left):
        out[LEFT_HAND] = np.asarray(hand_left, dtype=np.float32).reshape(HAND_POINTS, 3)
    if hand_right is not None and np.size(hand_right):
        out[RIGHT_HAND] = np.asarray(hand_right, dtype=np.float32).reshape(HAND_POINTS, 3)
    return out
