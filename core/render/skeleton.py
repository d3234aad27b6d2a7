"""Skeleton videos: DWPose geometry with a palette per identity, batched over a whole clip with OpenCV.

Geometry follows DWPose's drawing exactly (SPEC §0.4; IDEA-Research DWPose ``util.py``): coordinates are
normalised by the pose canvas and multiplied by the output size; limbs are ``ellipse2Poly`` sticks of half-width 4
at 0.6 brightness, joints radius-4 discs, hand edges 2 px lines with radius-4 blue joints, face points radius-3
discs, and hand/face points at pixel 0 are skipped as DWPose's ``eps`` test does. (SPEC §0.4 says hand joints are
radius 2; DWPose's code draws 4, and we follow the code.)

``palette="dwpose"`` reproduces DWPose's multi-person order too: every person's limbs (limb-major), the ×0.6 of
the limb layer, all joints, all left hands, all right hands, all faces. The identity palettes draw person by
person, back to front (``occlusion.back_to_front``), so a nearer body covers a farther one (SPEC §0.5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..errors import InputError
from ..pose import wholebody as wb
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress
from .limbs import DWPOSE_MIN_SCORE, HAND_EDGES, LIMBS, body18
from .occlusion import back_to_front
from .palette import LIMB_ATTENUATION, PALETTES, PartColours, part_colours

STICK_WIDTH = 4
JOINT_RADIUS = 4
HAND_LINE_THICKNESS = 2
HAND_JOINT_RADIUS = 4
FACE_RADIUS = 3
MAX_SIDE = 8192


@dataclass(frozen=True)
class SkeletonStyle:
    """What to draw and how. ``palette`` is one of ``PALETTES``; toggles choose body, hands and face."""

    palette: str = "ieg"
    body: bool = True
    hands: bool = True
    face: bool = True
    min_score: float = DWPOSE_MIN_SCORE

    def __post_init__(self) -> None:
        if self.palette not in PALETTES:
            raise InputError("palette", f"unknown palette '{self.palette}'", f"choose one of {', '.join(PALETTES)}")
        if not 0.0 <= self.min_score < 1.0:
            raise InputError("min_score", f"{self.min_score} is outside [0, 1)", "use DWPose's 0.3")


@dataclass
class _FramePoints:
    """One frame's points in output pixels (float) with visibility, for all people of the clip."""

    # Nested lists, converted once per clip: per-element access is the hot path of drawing.
    body: list  # [P][18][2] float pixels
    body_vis: list  # [P][18] bool
    hands: list  # [P][2][21][2] int pixels, side 0 = left
    hands_vis: list  # [P][2][21] bool
    face: list  # [P][68][2] int pixels
    face_vis: list  # [P][68] bool


def _scaled(points: np.ndarray, poses: PoseSequence, width: int, height: int) -> np.ndarray:
    """DWPose's pixel mapping: normalise by the pose canvas, then multiply by the output size."""
    out = np.empty(points.shape[:-1] + (2,), dtype=np.float64)
    out[..., 0] = points[..., 0].astype(np.float64) / poses.width * width
    out[..., 1] = points[..., 1].astype(np.float64) / poses.height * height
    return out


def _clip_points(poses: PoseSequence, width: int, height: int, min_score: float) -> list[_FramePoints]:
    kp = poses.keypoints
    b18 = body18(kp)
    hands = np.stack([kp[:, :, wb.LEFT_HAND], kp[:, :, wb.RIGHT_HAND]], axis=2)
    face = kp[:, :, wb.FACE]
    body_xy, hands_xy, face_xy = (_scaled(a, poses, width, height) for a in (b18, hands, face))
    # DWPose's eps test: hand/face points are drawn only when their integer pixel is > 0 on both axes.
    hands_vis = (hands[..., 2] >= min_score) & (np.trunc(hands_xy) > 0).all(axis=-1)
    face_vis = (face[..., 2] >= min_score) & (np.trunc(face_xy) > 0).all(axis=-1)
    lists = zip(body_xy.tolist(), (b18[..., 2] > min_score).tolist(), np.trunc(hands_xy).astype(np.int64).tolist(),
                hands_vis.tolist(), np.trunc(face_xy).astype(np.int64).tolist(), face_vis.tolist())
    return [_FramePoints(*frame) for frame in lists]


def _limb_polygon(p0: list[float], p1: list[float]) -> np.ndarray:
    """DWPose's limb stick: an ellipse around the segment, half-width ``STICK_WIDTH`` (same arithmetic)."""
    length = ((p0[1] - p1[1]) ** 2 + (p0[0] - p1[0]) ** 2) ** 0.5
    angle = math.degrees(math.atan2(p0[1] - p1[1], p0[0] - p1[0]))
    centre = (int((p0[0] + p1[0]) / 2), int((p0[1] + p1[1]) / 2))
    return cv2.ellipse2Poly(centre, (int(length / 2), STICK_WIDTH), int(angle), 0, 360, 1)


def _draw_limb(canvas: np.ndarray, pts: _FramePoints, person: int, limb: int, colour) -> None:
    a, b = LIMBS[limb]
    vis = pts.body_vis[person]
    if vis[a] and vis[b]:
        xy = pts.body[person]
        cv2.fillConvexPoly(canvas, _limb_polygon(xy[a], xy[b]), colour)


def _draw_joints(canvas: np.ndarray, pts: _FramePoints, person: int, colours: PartColours) -> None:
    xy = pts.body[person]
    for j, visible in enumerate(pts.body_vis[person]):
        if not visible:
            continue
        x, y = xy[j]
        cv2.circle(canvas, (int(x), int(y)), JOINT_RADIUS, colours.joints[j], thickness=-1)


def _draw_hand(canvas: np.ndarray, pts: _FramePoints, person: int, side: int, colours: PartColours) -> None:
    xy, vis = pts.hands[person][side], pts.hands_vis[person][side]
    for e, (i, k) in enumerate(HAND_EDGES):
        if vis[i] and vis[k]:
            cv2.line(canvas, xy[i], xy[k], colours.hand_edges[side][e], thickness=HAND_LINE_THICKNESS)
    for point, visible in zip(xy, vis):
        if visible:
            cv2.circle(canvas, point, HAND_JOINT_RADIUS, colours.hand_joints[side], thickness=-1)


def _draw_face(canvas: np.ndarray, pts: _FramePoints, person: int, colours: PartColours) -> None:
    for point, visible in zip(pts.face[person], pts.face_vis[person]):
        if visible:
            cv2.circle(canvas, point, FACE_RADIUS, colours.face, thickness=-1)


# ``floor(v * 0.6)`` for every uint8 value: DWPose's ``(canvas * 0.6).astype(uint8)``, as a table lookup.
_ATTENUATION_LUT = np.floor(np.arange(256) * LIMB_ATTENUATION).astype(np.uint8)


def with_attenuated_limbs(colours: PartColours) -> PartColours:
    """Limb colours after DWPose's ``(canvas * 0.6).astype(uint8)`` on a black canvas, for drawing person by
    person instead of attenuating the whole limb layer."""
    limbs = tuple(tuple(float(int(round(c) * LIMB_ATTENUATION)) for c in colour) for colour in colours.limbs)
    return replace(colours, limbs=limbs)  # type: ignore[arg-type]


def _draw_dwpose_frame(canvas: np.ndarray, pts: _FramePoints, order: np.ndarray, style: SkeletonStyle,
                       colours: PartColours) -> np.ndarray:
    """DWPose's own multi-person order (limb-major, then joints, left hands, right hands, faces)."""
    if style.body:
        for limb in range(len(LIMBS)):
            for person in order:
                _draw_limb(canvas, pts, person, limb, colours.limbs[limb])
        canvas = cv2.LUT(canvas, _ATTENUATION_LUT)
        for person in order:
            _draw_joints(canvas, pts, person, colours)
    if style.hands:
        for side in (0, 1):
            for person in order:
                _draw_hand(canvas, pts, person, side, colours)
    if style.face:
        for person in order:
            _draw_face(canvas, pts, person, colours)
    return canvas


def _draw_person(canvas: np.ndarray, pts: _FramePoints, person: int, style: SkeletonStyle,
                 colours: PartColours) -> None:
    """One identity, complete, so the next (nearer) identity can cover it; ``colours.limbs`` are already
    attenuated (``with_attenuated_limbs``)."""
    if style.body:
        for limb in range(len(LIMBS)):
            _draw_limb(canvas, pts, person, limb, colours.limbs[limb])
        _draw_joints(canvas, pts, person, colours)
    if style.hands:
        for side in (0, 1):
            _draw_hand(canvas, pts, person, side, colours)
    if style.face:
        _draw_face(canvas, pts, person, colours)


def check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InputError("width/height", f"{width}x{height} is not a usable canvas", f"use 1..{MAX_SIDE} pixels")


def render_skeletons(poses: PoseSequence, slots: np.ndarray | None, width: int, height: int,
                     style: SkeletonStyle = SkeletonStyle(), progress: Progress = no_progress) -> np.ndarray:
    """``(T, height, width, 3)`` uint8 skeleton video on black.

    ``slots``: ``(P,)`` binding slot per person column (from the identity map); ignored by ``dwpose``.
    The output size may differ from the pose canvas; points scale with it.
    """
    check_size(width, height)
    if style.palette != "dwpose" and (slots is None or len(slots) != poses.num_people):
        raise InputError("identity_map", "identity palettes need one slot per person",
                         "connect the identity map built from these poses")
    frames = np.zeros((poses.num_frames, height, width, 3), dtype=np.uint8)
    points = _clip_points(poses, width, height, style.min_score)
    order = back_to_front(poses, style.min_score)
    if style.palette == "dwpose":
        plain = part_colours("dwpose", 0)
    else:
        per_person = [with_attenuated_limbs(part_colours(style.palette, int(s))) for s in slots]  # type: ignore[union-attr]
    for t, pts in enumerate(points):
        if style.palette == "dwpose":
            frames[t] = _draw_dwpose_frame(frames[t], pts, order[t], style, plain)
        else:
            for person in order[t]:
                _draw_person(frames[t], pts, int(person), style, per_person[int(person)])
        progress(t + 1, poses.num_frames)
    return frames


def render_per_person(poses: PoseSequence, width: int, height: int, style: SkeletonStyle | None = None,
                      slots: np.ndarray | None = None, progress: Progress = no_progress) -> np.ndarray:
    """``(P, T, H, W, 3)`` uint8: one DWPose map per person per frame (DanceTogether's ``P_i``, SPEC §2.2).

    A person absent in a frame gets a black map, as DanceTogether's adapter expects.
    """
    style = style or SkeletonStyle(palette="dwpose")
    out = np.zeros((poses.num_people, poses.num_frames, height, width, 3), dtype=np.uint8)
    for p, track in enumerate(poses.track_ids):
        own = None if slots is None else np.asarray(slots)[p : p + 1]
        out[p] = render_skeletons(poses.select([track]), own, width, height, style)
        progress(p + 1, poses.num_people)
    return out
