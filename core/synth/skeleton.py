"""Forward kinematics: joint angles → the 133 COCO-WholeBody keypoints of one character over time.

The figure faces the camera, so the person's left side is on the image right (as DWPose labels a frontal person).
Angles are radians, vectorised over frames. A limb angle of 0 hangs straight down and positive swings it away
from the body (arms up to ``π`` overhead); the knee ``plie`` bends both thigh and shin outwards, which is what a
knee bend looks like from the front. Face (68 iBUG points) and hands (wrist + 4 joints × 5 fingers) come from
templates attached to the head and forearm, so every part of the 133-point layout moves plausibly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pose import wholebody as wb
from .characters import Proportions


@dataclass(frozen=True)
class JointAngles:
    """Per-frame articulation of one character; every field is a float array of shape ``(T,)``."""

    lean: np.ndarray
    head_tilt: np.ndarray
    shoulder_l: np.ndarray
    shoulder_r: np.ndarray
    elbow_l: np.ndarray
    elbow_r: np.ndarray
    hip_l: np.ndarray
    hip_r: np.ndarray
    plie_l: np.ndarray
    plie_r: np.ndarray
    curl_l: np.ndarray
    curl_r: np.ndarray
    mouth_open: np.ndarray
    eye_open: np.ndarray


def _rotate(vec: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate ``(..., 2)`` vectors by ``angle`` (image coordinates, y down; positive turns +y towards -x)."""
    c, s = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y = vec[..., :1], vec[..., 1:]
    return np.concatenate([c * x - s * y, s * x + c * y], axis=-1)


def _limb_dir(angle: np.ndarray, side: float) -> np.ndarray:
    """Unit vector of a limb swung ``angle`` away from hanging down, on the image side ``side`` (+1 right)."""
    return np.stack([side * np.sin(angle), np.cos(angle)], axis=-1)


def _face_template() -> np.ndarray:
    """The 68 iBUG face points in head-radius units around the head centre (jaw, brows, nose, eyes, mouth)."""
    theta = np.pi * (1 - np.arange(17) / 16)
    jaw = np.stack([0.82 * np.cos(theta), -0.1 + 0.95 * np.sin(theta)], -1)
    bx = np.linspace(-0.65, -0.15, 5)
    brow_r = np.stack([bx, -0.38 - 0.08 * np.sin(np.linspace(0.3, np.pi - 0.3, 5))], -1)
    brow_l = brow_r[::-1] * [-1, 1]
    bridge = np.stack([np.zeros(4), np.linspace(-0.3, 0.12, 4)], -1)
    nostrils = np.stack([np.linspace(-0.18, 0.18, 5), [0.22, 0.26, 0.28, 0.26, 0.22]], -1)
    return np.concatenate([jaw, brow_r, brow_l, bridge, nostrils]).astype(np.float32)


_FACE_STATIC = _face_template()  # 36 points; eyes and mouth move and are added per frame
_EYE_PHASES = np.array([np.pi, 2 * np.pi / 3, np.pi / 3, 0, -np.pi / 3, -2 * np.pi / 3])
_MOUTH_OUTER = np.pi - np.arange(12) * 2 * np.pi / 12
_MOUTH_INNER = np.pi - np.arange(8) * 2 * np.pi / 8


def _face_points(eye_open: np.ndarray, mouth_open: np.ndarray) -> np.ndarray:
    """``(T, 68, 2)`` face points in head-radius units; eyes blink and the mouth opens per frame."""
    frames = eye_open.shape[0]
    eyes = []
    for cx in (-0.35, 0.35):
        ex = cx + 0.14 * np.cos(_EYE_PHASES)
        ey = -0.2 - 0.06 * np.sin(_EYE_PHASES)[None] * eye_open[:, None]
        eyes.append(np.stack([np.broadcast_to(ex, ey.shape), ey], -1))
    outer_h = 0.06 + 0.12 * mouth_open[:, None]
    outer = np.stack([np.broadcast_to(0.25 * np.cos(_MOUTH_OUTER), (frames, 12)),
                      0.5 - outer_h * np.sin(_MOUTH_OUTER)], -1)
    inner_h = 0.01 + 0.1 * mouth_open[:, None]
    inner = np.stack([np.broadcast_to(0.17 * np.cos(_MOUTH_INNER), (frames, 8)),
                      0.5 - inner_h * np.sin(_MOUTH_INNER)], -1)
    static = np.broadcast_to(_FACE_STATIC, (frames, 36, 2))
    return np.concatenate([static, eyes[0], eyes[1], outer, inner], axis=1)


_FINGER_OFFSETS = np.array([0.13, 0.04, -0.04, -0.12])  # index..pinky knuckles across the palm, hand lengths
_FINGER_LENGTHS = np.array([[0.22, 0.14, 0.1], [0.25, 0.16, 0.11], [0.23, 0.15, 0.1], [0.18, 0.12, 0.09]])
_FINGER_SPREAD = np.array([0.12, 0.03, -0.06, -0.15])
_THUMB_LENGTHS = (0.17, 0.13, 0.1)


def _hand_points(wrist: np.ndarray, direction: np.ndarray, side: float, curl: np.ndarray,
                 length: float) -> np.ndarray:
    """``(T, 21, 2)``: wrist, thumb (4), then index, middle, ring, pinky (4 each), thumb on the outer side."""
    normal = side * np.stack([direction[:, 1], -direction[:, 0]], -1)
    fold = (1 - 0.65 * curl)[:, None]
    points = [wrist]
    thumb_dir = _rotate(direction, -side * np.full(len(curl), 0.7))
    joint = wrist + length * (0.12 * direction + 0.18 * normal)
    points.append(joint)
    for k, seg in enumerate(_THUMB_LENGTHS):
        joint = joint + length * seg * (fold if k else 1) * thumb_dir
        points.append(joint)
    for offset, lengths, spread in zip(_FINGER_OFFSETS, _FINGER_LENGTHS, _FINGER_SPREAD):
        finger_dir = _rotate(direction, -side * np.full(len(curl), spread))
        joint = wrist + length * (0.45 * direction + offset * normal)
        points.append(joint)
        for k, seg in enumerate(lengths):
            joint = joint + length * seg * (fold if k else 1) * finger_dir
            points.append(joint)
    return np.stack(points, axis=1)


def _feet(ankle: np.ndarray, side: float) -> np.ndarray:
    """Big toe, small toe, heel of a foot pointing at the camera (toes a little below and outside the ankle)."""
    return np.stack([ankle + [side * 0.005, 0.045], ankle + [side * 0.045, 0.04], ankle + [0.0, 0.03]], axis=1)


def body_keypoints(angles: JointAngles, p: Proportions) -> np.ndarray:
    """``(T, 133, 2)`` keypoints in body-height units, pelvis centre at the origin, y down."""
    frames = angles.lean.shape[0]
    kp = np.zeros((frames, wb.NUM_KEYPOINTS, 2), dtype=np.float64)
    up = _rotate(np.broadcast_to([0.0, -1.0], (frames, 2)), angles.lean)
    right = _rotate(np.broadcast_to([1.0, 0.0], (frames, 2)), angles.lean)
    neck = up * p.torso
    kp[:, wb.LEFT_HIP], kp[:, wb.RIGHT_HIP] = right * p.hip_width / 2, -right * p.hip_width / 2
    kp[:, wb.LEFT_SHOULDER] = neck + right * p.shoulder_width / 2
    kp[:, wb.RIGHT_SHOULDER] = neck - right * p.shoulder_width / 2
    _arms(kp, angles, p)
    _legs(kp, angles, p)
    head_up = _rotate(up, angles.head_tilt)
    head = neck + head_up * (p.neck + p.head_radius)
    face = _rotate(_face_points(angles.eye_open, angles.mouth_open), (angles.lean + angles.head_tilt)[:, None])
    kp[:, wb.FACE] = head[:, None] + p.head_radius * face
    r = p.head_radius
    head_offsets = {wb.NOSE: (0, 0.15), wb.LEFT_EYE: (0.35, -0.2), wb.RIGHT_EYE: (-0.35, -0.2),
                    wb.LEFT_EAR: (0.92, -0.05), wb.RIGHT_EAR: (-0.92, -0.05)}
    for index, offset in head_offsets.items():
        kp[:, index] = head + r * _rotate(np.broadcast_to(offset, (frames, 2)), angles.lean + angles.head_tilt)
    return kp


def head_centre(kp: np.ndarray) -> np.ndarray:
    """Centre of the head from placed keypoints: midpoint of the ears (whatever the scale)."""
    return (kp[..., wb.LEFT_EAR, :] + kp[..., wb.RIGHT_EAR, :]) / 2


def _arms(kp: np.ndarray, a: JointAngles, p: Proportions) -> None:
    specs = ((+1.0, wb.LEFT_SHOULDER, wb.LEFT_ELBOW, wb.LEFT_WRIST, a.shoulder_l, a.elbow_l, a.curl_l, wb.LEFT_HAND),
             (-1.0, wb.RIGHT_SHOULDER, wb.RIGHT_ELBOW, wb.RIGHT_WRIST, a.shoulder_r, a.elbow_r, a.curl_r,
              wb.RIGHT_HAND))
    for side, sh, el, wr, shoulder, elbow, curl, hand in specs:
        upper = _rotate(_limb_dir(shoulder, side), a.lean * 0.5)
        lower = _rotate(_limb_dir(shoulder + elbow, side), a.lean * 0.5)
        kp[:, el] = kp[:, sh] + upper * p.upper_arm
        kp[:, wr] = kp[:, el] + lower * p.forearm
        kp[:, hand] = _hand_points(kp[:, wr], lower, side, curl, p.hand)


def _legs(kp: np.ndarray, a: JointAngles, p: Proportions) -> None:
    specs = ((+1.0, wb.LEFT_HIP, wb.LEFT_KNEE, wb.LEFT_ANKLE, a.hip_l, a.plie_l, slice(17, 20)),
             (-1.0, wb.RIGHT_HIP, wb.RIGHT_KNEE, wb.RIGHT_ANKLE, a.hip_r, a.plie_r, slice(20, 23)))
    for side, hip, knee, ankle, swing, plie, feet in specs:
        kp[:, knee] = kp[:, hip] + _limb_dir(swing + plie, side) * p.thigh
        kp[:, ankle] = kp[:, knee] + _limb_dir(swing - plie, side) * p.shin
        kp[:, feet] = _feet(kp[:, ankle], side)
