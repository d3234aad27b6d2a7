"""Bone-length retargeting: each driving person moves as before but with their reference character's proportions.

Without it a tall dancer's skeleton drives a short character's body and the model must stretch the character (the
forearm-too-long complaint of WanAnimatePreprocess #24). Per bone, the factor is the reference length over the
driving length; the driving length is a high percentile over the clip (bones only look shorter than they are,
through foreshortening), and the reference is usually one frame. A bone never seen on one side borrows the mean
factor of its group, then of the whole body. Forward kinematics from the neck keeps the neck where it was; put
the result where the character stands with `augment.normalise_to_box` (SPEC §4.2).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .sequence import PoseSequence
from .skeleton_tree import BONES, GROUPS, PARTS, apply_bone_scales, bone_vectors

LENGTH_PERCENTILE = 90
FACTOR_LIMITS = (0.25, 4.0)


def bone_lengths(keypoints: np.ndarray, min_confidence: float = 0.3) -> np.ndarray:
    """``(B,)`` length of each bone of ``BONES`` over ``(T, 133, 3)`` poses (NaN where never seen)."""
    vectors, seen = bone_vectors(keypoints, min_confidence)
    lengths = np.where(seen, np.linalg.norm(vectors, axis=-1), np.nan)
    out = np.full(len(BONES), np.nan)
    for b in range(len(BONES)):
        if seen[:, b].any():
            out[b] = np.nanpercentile(lengths[:, b], LENGTH_PERCENTILE)
    return out


def part_sizes(keypoints: np.ndarray, min_confidence: float = 0.3) -> np.ndarray:
    """``(len(PARTS),)`` median distance of each part's points from its root (NaN where never seen)."""
    out = np.full(len(PARTS), np.nan)
    for k, (root, points, _) in enumerate(PARTS):
        seen = (keypoints[:, points, 2] > min_confidence) & (keypoints[:, root, None, 2] > min_confidence)
        if seen.any():
            out[k] = np.median(np.linalg.norm(keypoints[:, points, :2] - keypoints[:, root, None, :2], axis=-1)[seen])
    return out


def _fill(ratios: np.ndarray, groups: list[str]) -> np.ndarray:
    """Replace unknown ratios by their group's mean, then by the median of all, then by 1; clip to limits."""
    known = ratios[np.isfinite(ratios) & (ratios > 0)]
    overall = float(np.median(known)) if known.size else 1.0
    out = ratios.copy()
    for k, group in enumerate(groups):
        if not (np.isfinite(out[k]) and out[k] > 0):
            same = [ratios[i] for i, g in enumerate(groups) if g == group and np.isfinite(ratios[i]) and ratios[i] > 0]
            out[k] = float(np.mean(same)) if same else overall
    return np.clip(out, *FACTOR_LIMITS)


def retarget_factors(driving: np.ndarray, reference: np.ndarray,
                     min_confidence: float = 0.3) -> tuple[np.ndarray, dict[str, float]]:
    """Per-bone factors and per-part-group factors taking ``driving (T, 133, 3)`` to ``reference (R, 133, 3)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        bones = bone_lengths(reference, min_confidence) / bone_lengths(driving, min_confidence)
        parts = part_sizes(reference, min_confidence) / part_sizes(driving, min_confidence)
    bone_scale = _fill(bones, [g for _, _, g in BONES])
    group_of_bones = {g: float(np.mean([s for s, (_, _, gb) in zip(bone_scale, BONES) if gb == g]))
                      for g in GROUPS if any(gb == g for _, _, gb in BONES)}
    part_groups = [g for _, _, g in PARTS]
    parts = np.where(np.isfinite(parts), parts, [group_of_bones.get(g, np.nan) for g in part_groups])
    part_scale = _fill(parts, part_groups)
    return bone_scale, {g: float(np.mean([s for s, pg in zip(part_scale, part_groups) if pg == g]))
                        for g in set(part_groups)}


def retarget_person(driving: np.ndarray, reference: np.ndarray, min_confidence: float = 0.3) -> np.ndarray:
    """``driving (T, 133, 3)`` with the bone lengths of ``reference (R, 133, 3)``."""
    bone_scale, part_scale = retarget_factors(driving, reference, min_confidence)
    return apply_bone_scales(driving, bone_scale, part_scale, min_confidence)


def same_ids(driving: PoseSequence, reference: PoseSequence) -> dict[int, int]:
    """The pairing used when none is given: each driving track with the reference person of the same id."""
    return {t: t for t in driving.track_ids if t in reference.track_ids}


def retarget_sequence(driving: PoseSequence, reference: PoseSequence, pairs: dict[int, int] | None = None,
                      reference_frame: int = 0, min_confidence: float = 0.3) -> PoseSequence:
    """Retarget each driving track to the reference person ``pairs[track]`` (driving track id → reference id,
    e.g. `core.conditioning.characters.pair_references`; default: `same_ids`). Unpaired tracks are unchanged."""
    if not 0 <= reference_frame < reference.num_frames:
        raise InputError("reference_frame", f"{reference_frame} is outside the reference's "
                         f"{reference.num_frames} frame(s)", "use 0 for a single reference image")
    keypoints = driving.keypoints.copy()
    for track_id, reference_id in (same_ids(driving, reference) if pairs is None else pairs).items():
        column = driving.column(track_id)
        ref = reference.keypoints[reference_frame:reference_frame + 1, reference.column(reference_id)]
        keypoints[:, column] = retarget_person(driving.keypoints[:, column], ref, min_confidence)
    return PoseSequence(keypoints, driving.track_ids, driving.width, driving.height, driving.fps, driving.depth)
