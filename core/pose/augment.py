"""DreamActor-M2's pose augmentations (SPEC §4.2): bone-length scaling and clip-level box normalisation.

Both stop a pose-driven model from copying the driving actor's body shape and screen placement into the
generated character: bone scaling (30 % of samples, one ``U(0.8, 1.2)`` factor per anatomical group, per person
and clip, left/right symmetric) breaks the link between proportions and identity; box normalisation maps the
person's whole-clip keypoint box, isotropically, onto a target box (the reference character's, with ±10 % scale
jitter in training), removing absolute position and scale while keeping the motion within the clip.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .boxes import points_box
from .sequence import PoseSequence
from .skeleton_tree import BONES, GROUPS, apply_bone_scales

SCALE_PROBABILITY = 0.3
SCALE_RANGE = (0.8, 1.2)
BOX_JITTER = 0.1


def random_group_factors(rng: np.random.Generator, low: float = SCALE_RANGE[0],
                         high: float = SCALE_RANGE[1]) -> dict[str, float]:
    """One factor per anatomical group (shared by left and right)."""
    return {group: float(rng.uniform(low, high)) for group in GROUPS}


def scale_bone_groups(keypoints: np.ndarray, factors: dict[str, float], min_confidence: float = 0.3) -> np.ndarray:
    """``(T, 133, 3)`` poses with every bone of a group scaled by its factor (missing groups: 1)."""
    bone_scale = np.array([factors.get(group, 1.0) for _, _, group in BONES])
    return apply_bone_scales(keypoints, bone_scale, factors, min_confidence)


def augment_bone_lengths(sequence: PoseSequence, rng: np.random.Generator,
                         probability: float = SCALE_PROBABILITY) -> PoseSequence:
    """Training augmentation: each person, with ``probability``, gets their own random group factors."""
    keypoints = sequence.keypoints.copy()
    for column in range(sequence.num_people):
        if rng.random() < probability:
            keypoints[:, column] = scale_bone_groups(keypoints[:, column], random_group_factors(rng))
    return PoseSequence(keypoints, sequence.track_ids, sequence.width, sequence.height, sequence.fps, sequence.depth)


def keypoint_box(keypoints: np.ndarray, min_confidence: float = 0.3) -> np.ndarray | None:
    """``(4,)`` ``x0, y0, x1, y1`` over every seen point of every frame of ``(..., 133, 3)``, or None."""
    seen = keypoints[..., 2] > min_confidence
    if not seen.any():
        return None
    return points_box(keypoints[..., :2][seen]).astype(np.float32)


def normalise_to_box(keypoints: np.ndarray, target: np.ndarray, scale_jitter: float = 0.0,
                     rng: np.random.Generator | None = None, min_confidence: float = 0.3) -> np.ndarray:
    """Map the clip box of ``(T, 133, 3)`` poses into ``target`` (x0, y0, x1, y1): one isotropic scale that
    fits it inside (times ``1 + U(-jitter, jitter)``), centres aligned. Unseen points are left as they are."""
    target = np.asarray(target, dtype=np.float32).reshape(4)
    if target[2] <= target[0] or target[3] <= target[1]:
        raise InputError("target_box", f"box {target.tolist()} has no area", "give x0 < x1 and y0 < y1")
    box = keypoint_box(keypoints, min_confidence)
    if box is None:
        return keypoints.copy()
    size = np.maximum(box[2:] - box[:2], 1e-3)
    scale = float(np.min((target[2:] - target[:2]) / size))
    if scale_jitter > 0:
        scale *= 1.0 + float((rng or np.random.default_rng()).uniform(-scale_jitter, scale_jitter))
    centre, target_centre = (box[:2] + box[2:]) / 2, (target[:2] + target[2:]) / 2
    out = keypoints.copy()
    seen = keypoints[..., 2:] > 0
    out[..., :2] = np.where(seen, (keypoints[..., :2] - centre) * scale + target_centre, keypoints[..., :2])
    return out


def normalise_to_reference(driving: PoseSequence, reference: PoseSequence, pairs: dict[int, int] | None = None,
                           reference_frame: int = 0, scale_jitter: float = 0.0,
                           rng: np.random.Generator | None = None) -> PoseSequence:
    """Each driving track normalised into the keypoint box of its reference person ``pairs[track]`` (driving
    track id → reference id; default: the same id). Unpaired tracks are unchanged."""
    if pairs is None:
        pairs = {t: t for t in driving.track_ids if t in reference.track_ids}
    keypoints = driving.keypoints.copy()
    for track_id, reference_id in pairs.items():
        target = keypoint_box(reference.keypoints[reference_frame, reference.column(reference_id)])
        if target is not None and target[2] > target[0] and target[3] > target[1]:
            column = driving.column(track_id)
            keypoints[:, column] = normalise_to_box(keypoints[:, column], target, scale_jitter, rng)
    return PoseSequence(keypoints, driving.track_ids, driving.width, driving.height, driving.fps, driving.depth)
