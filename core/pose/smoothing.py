"""Temporal smoothing of keypoints that removes jitter without lagging behind the motion.

A causal filter (moving average, One-Euro) trails fast limbs by a few frames, which shows as a character moving
after the beat. We have the whole clip, so each point is re-estimated by a local linear fit over its neighbours in
time (Gaussian weights × confidence): symmetric, and exact for constant-velocity motion even at the clip's ends
and next to gaps, so it adds no lag. Only frames where the point is seen take part; unseen points stay unseen.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .sequence import PoseSequence

WINDOW_SIGMAS = 2.5


def smooth_track(keypoints: np.ndarray, sigma: float, min_confidence: float = 0.0) -> np.ndarray:
    """``(T, K, 3)`` points of one person smoothed over time (``sigma`` in frames; 0 returns a copy)."""
    if sigma < 0:
        raise InputError("sigma", f"{sigma} is negative", "use 0 (off) or a positive number of frames")
    out = keypoints.copy()
    if sigma == 0 or len(keypoints) < 2:
        return out
    frames = len(keypoints)
    weight_seen = np.where(keypoints[..., 2] > min_confidence, keypoints[..., 2], 0.0)
    sums = {name: np.zeros(keypoints.shape[:2] + ((2,) if name.startswith("x") else ()))
            for name in ("s0", "s1", "s2", "x0", "x1")}
    for offset in range(-int(np.ceil(WINDOW_SIGMAS * sigma)), int(np.ceil(WINDOW_SIGMAS * sigma)) + 1):
        lo, hi = max(0, -offset), min(frames, frames - offset)  # frames t whose neighbour t + offset exists
        if hi <= lo:
            continue
        w = np.exp(-0.5 * (offset / sigma) ** 2) * weight_seen[lo + offset:hi + offset]
        xy = keypoints[lo + offset:hi + offset, :, :2]
        sums["s0"][lo:hi] += w
        sums["s1"][lo:hi] += w * offset
        sums["s2"][lo:hi] += w * offset**2
        sums["x0"][lo:hi] += w[..., None] * xy
        sums["x1"][lo:hi] += (w * offset)[..., None] * xy
    det = sums["s0"] * sums["s2"] - sums["s1"] ** 2
    linear = (sums["s2"][..., None] * sums["x0"] - sums["s1"][..., None] * sums["x1"]) / np.where(
        det > 1e-9, det, 1.0)[..., None]
    mean = sums["x0"] / np.maximum(sums["s0"], 1e-12)[..., None]
    fitted = np.where((det > 1e-9)[..., None], linear, mean)
    seen = weight_seen > 0
    out[..., :2] = np.where(seen[..., None], fitted, keypoints[..., :2])
    return out


def smooth_sequence(sequence: PoseSequence, sigma: float = 1.5) -> PoseSequence:
    """Every identity of ``sequence`` smoothed with `smooth_track`."""
    keypoints = np.stack([smooth_track(sequence.keypoints[:, p], sigma) for p in range(sequence.num_people)], axis=1) \
        if sequence.num_people else sequence.keypoints.copy()
    return PoseSequence(keypoints, sequence.track_ids, sequence.width, sequence.height, sequence.fps, sequence.depth)
