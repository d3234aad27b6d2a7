"""Per-identity masks: drawn from poses, or taken from a segmenter and matched to identities by overlap.

A pose mask is a body shape built from the OpenPose-18 skeleton: limbs as thick strokes whose width scales
with the person's torso, a filled torso quad, and the head; face and hand regions come from the face and hand
landmarks. A segmenter's masks (better contours, no identities) are matched to identities by clip-level IoU
against those pose masks, so the identity of every mask still comes from tracking. Overlaps are resolved by
the shared back-to-front order: the nearer person owns a contested pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..pose import wholebody as wb
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress
from .limbs import DWPOSE_MIN_SCORE, LIMBS, NECK, body18
from .occlusion import back_to_front

REGIONS = ("body", "face", "hands")

# Stroke width of each limb as a fraction of the torso length (neck to mid-hip) [choice: slim adult proportions,
# IoU ≈ 0.73 against the synthetic world's true silhouettes; widen with ``refine(dilate_px=...)`` for clothes].
_ARM, _LEG, _HEAD = 0.21, 0.29, 0.25
_LIMB_WIDTH = (_ARM, _ARM, _ARM, _ARM, _ARM, _ARM, _LEG, _LEG, _LEG, _LEG, _LEG, _LEG) + (_HEAD,) * 5
_HEAD_RADIUS = 0.26
_HAND_RADIUS = 0.14
_FACE_MARGIN = 0.08
_TORSO_FROM_SHOULDERS = 1.6  # torso length ≈ 1.6 × shoulder width when the hips are not seen
_TORSO_QUAD = (2, 5, 11, 8)  # R-shoulder, L-shoulder, L-hip, R-hip
_HEAD_JOINTS = [0, 14, 15, 16, 17]  # nose, eyes, ears


@dataclass(frozen=True)
class IdentityMasks:
    """``masks``: ``(T, P, H, W)``, column ``p`` belonging to ``track_ids[p]``.

    Binary masks stay uint8 0/1 (a clip of people at 512² is large; float would quadruple it; 0/255 input is
    read as 0/1), soft masks are float32 in 0..1; both read "on" as ``> 0.5``.
    """

    masks: np.ndarray
    track_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        m = np.asarray(self.masks)
        if m.dtype == np.uint8 and m.size and m.max() > 1:
            m = m > 127  # an 8-bit 0/255 mask
        # copy=False: a uint8 clip of masks is the largest array of the guidance chain; never hold it twice
        m = m.astype(np.uint8, copy=False) if m.dtype in (np.bool_, np.uint8) else m.astype(np.float32, copy=False)
        if m.ndim != 4:
            raise ValueError(f"IdentityMasks.masks must be (frames, people, H, W); got {m.shape}")
        ids = tuple(int(i) for i in self.track_ids)
        if len(ids) != m.shape[1] or len(set(ids)) != len(ids):
            raise ValueError(f"IdentityMasks needs one unique track id per mask column; got {ids} for {m.shape}")
        object.__setattr__(self, "masks", m)
        object.__setattr__(self, "track_ids", ids)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.masks.shape  # type: ignore[return-value]

    def select(self, track_ids: tuple[int, ...] | list[int]) -> IdentityMasks:
        """Masks of ``track_ids`` only, in that order."""
        missing = [t for t in track_ids if t not in self.track_ids]
        if missing:
            raise InputError("masks", f"have no mask for tracks {missing} (masks cover {self.track_ids})",
                             "build the masks from the same tracked poses")
        cols = [self.track_ids.index(t) for t in track_ids]
        return IdentityMasks(self.masks[:, cols], tuple(track_ids))


def torso_lengths(b18: np.ndarray, min_score: float = DWPOSE_MIN_SCORE) -> np.ndarray:
    """``(...,)`` person scale in pixels: neck to mid-hip, else from the shoulder width, else the point spread."""
    vis = b18[..., 2] > min_score
    hips = vis[..., 8] & vis[..., 11]
    mid_hip = (b18[..., 8, :2] + b18[..., 11, :2]) / 2
    torso = np.linalg.norm(b18[..., NECK, :2] - mid_hip, axis=-1)
    shoulders = np.linalg.norm(b18[..., 2, :2] - b18[..., 5, :2], axis=-1) * _TORSO_FROM_SHOULDERS
    lo = np.where(vis[..., None], b18[..., :2], np.inf).min(axis=-2)
    hi = np.where(vis[..., None], b18[..., :2], -np.inf).max(axis=-2)
    spread = np.where(vis.any(axis=-1), np.max(hi - lo, axis=-1) / 3, 0.0)
    length = np.where(vis[..., NECK] & hips, torso, np.where(vis[..., 2] & vis[..., 5], shoulders, spread))
    return np.maximum(length, 1.0)


def _int_points(xy: np.ndarray) -> np.ndarray:
    return np.round(xy).astype(np.int32)


@dataclass(frozen=True)
class _BodyShapes:
    """A clip's body-shape geometry, computed vectorised once and handed to OpenCV as plain lists."""

    points: list  # [T][P][18][2] int pixels
    visible: list  # [T][P][18] bool
    widths: list  # [T][P][17] limb stroke widths
    heads: list  # [T][P] (centre, radius) or None


def _body_shapes(b18: np.ndarray, vis: np.ndarray, torso: np.ndarray) -> _BodyShapes:
    head_vis = vis[..., _HEAD_JOINTS]
    count = head_vis.sum(axis=-1)
    centre = (b18[..., _HEAD_JOINTS, :2] * head_vis[..., None]).sum(axis=-2) / np.maximum(count, 1)[..., None]
    radius = np.maximum(2, np.round(_HEAD_RADIUS * torso)).astype(np.int64)
    heads = [[(tuple(c), r) if n else None for c, r, n in zip(cs, rs, ns)]
             for cs, rs, ns in zip(np.round(centre).astype(np.int64).tolist(), radius.tolist(), count.tolist())]
    widths = np.maximum(2, np.round(np.array(_LIMB_WIDTH) * torso[..., None])).astype(np.int64)
    return _BodyShapes(np.round(b18[..., :2]).astype(np.int32).tolist(), vis.tolist(), widths.tolist(), heads)


def _draw_body(canvas: np.ndarray, shapes: _BodyShapes, t: int, p: int, value: int = 1) -> None:
    """Body ``p`` of frame ``t`` filled with ``value``; the pixels covered do not depend on ``value``."""
    pts, vis = shapes.points[t][p], shapes.visible[t][p]
    for (a, b), width in zip(LIMBS, shapes.widths[t][p]):
        if vis[a] and vis[b]:
            cv2.line(canvas, pts[a], pts[b], value, thickness=width)
    quad = [pts[j] for j in _TORSO_QUAD if vis[j]]
    if len(quad) >= 3:
        cv2.fillConvexPoly(canvas, np.array(quad, dtype=np.int32), value)
    head = shapes.heads[t][p]
    if head is not None:
        cv2.circle(canvas, head[0], head[1], value, thickness=-1)


def _draw_hull(canvas: np.ndarray, xy: np.ndarray, margin: int) -> None:
    hull = cv2.convexHull(_int_points(xy))
    cv2.fillConvexPoly(canvas, hull, 1)
    if margin > 0:
        cv2.polylines(canvas, [hull], True, 1, thickness=2 * margin)


def _draw_face(canvas: np.ndarray, kp: np.ndarray, b18: np.ndarray, torso: float, min_score: float) -> None:
    face = kp[wb.FACE]
    seen = face[:, 2] >= min_score
    if seen.sum() >= 3:
        _draw_hull(canvas, face[seen, :2], round(_FACE_MARGIN * torso))
        return
    head = [j for j in _HEAD_JOINTS if b18[j, 2] > min_score]
    if head:
        centre = _int_points(b18[head, :2].mean(axis=0))
        cv2.circle(canvas, tuple(centre), max(2, round(_HEAD_RADIUS * 0.8 * torso)), 1, thickness=-1)


def _draw_hands(canvas: np.ndarray, kp: np.ndarray, torso: float, min_score: float) -> None:
    radius = max(2, round(_HAND_RADIUS * torso))
    for hand, wrist in ((wb.LEFT_HAND, wb.LEFT_WRIST), (wb.RIGHT_HAND, wb.RIGHT_WRIST)):
        pts = kp[hand]
        seen = pts[:, 2] >= min_score
        if seen.sum() >= 3:
            _draw_hull(canvas, pts[seen, :2], radius // 3)
        elif kp[wrist, 2] > min_score:
            cv2.circle(canvas, tuple(_int_points(kp[wrist, :2])), radius, 1, thickness=-1)


CHUNK_FRAMES = 16  # frames whose body geometry is computed at once: O(chunk), not O(clip), transient memory


@dataclass(frozen=True)
class _Geometry:
    """Scaled whole-body points, OpenPose-18 body, torso lengths and visibility of a run of frames."""

    keypoints: np.ndarray
    body: np.ndarray
    torso: np.ndarray
    visible: np.ndarray


def _geometry_chunks(poses: PoseSequence, width: int, height: int, min_score: float):
    """``(start, _Geometry)`` for consecutive runs of ``CHUNK_FRAMES`` frames at ``width × height``."""
    for start in range(0, poses.num_frames, CHUNK_FRAMES):
        kp = poses.keypoints[start:start + CHUNK_FRAMES].astype(np.float64)  # astype copies: scaled in place
        kp[..., 0] *= width / poses.width
        kp[..., 1] *= height / poses.height
        b18 = body18(kp)
        yield start, _Geometry(kp, b18, torso_lengths(b18, min_score), b18[..., 2] > min_score)


def masks_from_poses(poses: PoseSequence, width: int, height: int, region: str = "body",
                     min_score: float = DWPOSE_MIN_SCORE, progress: Progress = no_progress) -> IdentityMasks:
    """Binary masks of each identity's ``region`` ("body", "face" or "hands") at ``width × height``.

    The output is allocated once and drawn into frame by frame; nothing else grows with the clip.
    """
    if region not in REGIONS:
        raise InputError("region", f"unknown region '{region}'", f"choose one of {', '.join(REGIONS)}")
    out = np.zeros((poses.num_frames, poses.num_people, height, width), dtype=np.uint8)
    present = poses.present(min_score)
    for start, g in _geometry_chunks(poses, width, height, min_score):
        shapes = _body_shapes(g.body, g.visible, g.torso) if region == "body" else None
        for i in range(len(g.body)):
            t = start + i
            for p in np.flatnonzero(present[t]):
                canvas = out[t, p]
                if region == "body":
                    _draw_body(canvas, shapes, i, int(p))  # type: ignore[arg-type]
                elif region == "face":
                    _draw_face(canvas, g.keypoints[i, p], g.body[i, p], float(g.torso[i, p]), min_score)
                else:
                    _draw_hands(canvas, g.keypoints[i, p], float(g.torso[i, p]), min_score)
            progress(t + 1, poses.num_frames)
    return IdentityMasks(out, poses.track_ids)


def body_depth_ranks(poses: PoseSequence, width: int, height: int, order: np.ndarray,
                     min_score: float = DWPOSE_MIN_SCORE) -> np.ndarray:
    """``depth_ranks(masks_from_poses(poses, width, height), order)`` without the per-person masks.

    Each frame's bodies are drawn straight into one ``(H, W)`` canvas, back to front, each with its depth rank as
    the value: a pixel keeps the rank of the last (nearest) body covering it, which is the maximum that
    ``depth_ranks`` takes, and the pixels a body covers do not depend on the value drawn. Memory is one uint8
    frame per frame of output, whatever the number of people.
    """
    t_count, people = poses.num_frames, poses.num_people
    if order.shape != (t_count, people) or people > 254:
        raise ValueError(f"order must be (frames, people) = {(t_count, people)}; got {order.shape}")
    out = np.zeros((t_count, height, width), dtype=np.uint8)
    present = poses.present(min_score)
    for start, g in _geometry_chunks(poses, width, height, min_score):
        shapes = _body_shapes(g.body, g.visible, g.torso)
        for i in range(len(g.body)):
            t = start + i
            for rank, p in enumerate(order[t], start=1):
                if present[t, p]:
                    _draw_body(out[t], shapes, i, int(p), rank)
    return out


def depth_ranks(masks: IdentityMasks, order: np.ndarray) -> np.ndarray:
    """``(T, H, W)`` uint8: 1 + the depth rank of the nearest person covering each pixel, 0 = background.

    ``order`` is ``(T, P)`` columns back to front; the pixel's owner is ``order[t, rank - 1]``.
    """
    t_count, people = masks.masks.shape[:2]
    if order.shape != (t_count, people) or people > 254:
        raise ValueError(f"order must be (frames, people) = {(t_count, people)}; got {order.shape}")
    rank = np.argsort(order, axis=1).astype(np.uint8) + 1  # (T, P): 1 = farthest
    binary = masks.masks if masks.masks.dtype == np.uint8 else (masks.masks > 0.5).astype(np.uint8)
    best = np.zeros((t_count,) + masks.masks.shape[2:], dtype=np.uint8)
    for t in range(t_count):  # frame by frame stays in cache: ~3x faster than whole-clip numpy ops
        for p in range(people):
            cv2.max(best[t], binary[t, p] * rank[t, p], dst=best[t])
    return best


def label_map(masks: IdentityMasks, order: np.ndarray) -> np.ndarray:
    """``(T, H, W)`` int16: the column owning each pixel (-1 = background); later in ``order`` wins."""
    lut = np.concatenate([np.full((order.shape[0], 1), -1), order], axis=1).astype(np.int16)
    ranks = depth_ranks(masks, order)
    return np.stack([np.take(lut[t], ranks[t]) for t in range(ranks.shape[0])])


def exclusive(masks: IdentityMasks, poses: PoseSequence) -> IdentityMasks:
    """Masks with overlaps given to the nearer person (the shared back-to-front order)."""
    aligned = masks.select(poses.track_ids) if masks.track_ids != poses.track_ids else masks
    check_frames(aligned, poses.num_frames, "masks")
    labels = label_map(aligned, back_to_front(poses))
    cols = np.arange(aligned.masks.shape[1], dtype=np.int16)
    owned = (labels[:, None] == cols[None, :, None, None]).astype(np.uint8)
    return IdentityMasks(owned, aligned.track_ids)


def refine(masks: IdentityMasks, dilate_px: int = 0, feather_px: int = 0) -> IdentityMasks:
    """Grow (or, negative, shrink) each mask by ``dilate_px`` and soften its edge over ``feather_px``."""
    if dilate_px == 0 and feather_px <= 0:
        return masks
    out = masks.masks.astype(np.float32)
    size = 2 * abs(dilate_px) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    for index in np.ndindex(out.shape[:2]):
        plane = out[index]
        if dilate_px > 0:
            plane = cv2.dilate(plane, kernel)
        elif dilate_px < 0:
            plane = cv2.erode(plane, kernel)
        if feather_px > 0:
            plane = cv2.GaussianBlur(plane, (0, 0), sigmaX=feather_px / 2.0)
        out[index] = plane
    return IdentityMasks(np.clip(out, 0.0, 1.0), masks.track_ids)


def check_frames(masks: IdentityMasks, frames: int, input_name: str) -> None:
    if masks.masks.shape[0] != frames:
        raise InputError(input_name, f"has {masks.masks.shape[0]} frames but the poses have {frames}",
                         "use masks and poses of the same clip (trim both to the same frame range)")


def _iou_matrix(candidates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(N, P)`` clip-level IoU: intersections and unions summed over all frames."""
    c = candidates.reshape(candidates.shape[0], candidates.shape[1], -1) > 0.5
    r = reference.reshape(reference.shape[0], reference.shape[1], -1) > 0.5
    inter = np.einsum("tnk,tpk->np", c.astype(np.float32), r.astype(np.float32))
    union = c.sum(axis=(0, 2))[:, None] + r.sum(axis=(0, 2))[None, :] - inter
    return inter / np.maximum(union, 1.0)


def match_masks(candidates: np.ndarray, pose_masks: IdentityMasks, min_iou: float = 0.05,
                input_name: str = "masks") -> tuple[IdentityMasks, tuple[int, ...]]:
    """Give each identity the segmenter mask (one of ``N`` objects, ``(T, N, H, W)``) it overlaps most.

    Matching is one-to-one over the whole clip (Hungarian on clip IoU), because a video segmenter keeps its own
    object ids. Identities left without a mask overlapping ``min_iou`` keep their pose mask; their track ids are
    returned so the caller can say so.
    """
    cand = np.asarray(candidates, dtype=np.float32)
    ref = pose_masks.masks
    if cand.ndim != 4 or cand.shape[0] != ref.shape[0] or cand.shape[2:] != ref.shape[2:]:
        raise InputError(input_name, f"shape {tuple(cand.shape)} does not match the poses' "
                         f"{ref.shape[0]} frames at {ref.shape[3]}x{ref.shape[2]}",
                         "resize the masks to the render size and use the same frames as the poses")
    if not (cand > 0.5).any():
        raise InputError(input_name, "is empty in every frame", "check the segmenter's threshold or prompt")
    iou = _iou_matrix(cand, ref)
    rows, cols = linear_sum_assignment(-iou)
    out = ref.astype(np.float32)
    matched = set()
    for n, p in zip(rows, cols):
        if iou[n, p] >= min_iou:
            out[:, p] = cand[:, n]
            matched.add(int(p))
    fallback = tuple(t for i, t in enumerate(pose_masks.track_ids) if i not in matched)
    return IdentityMasks(out, pose_masks.track_ids), fallback


def split_union(union: np.ndarray, pose_masks: IdentityMasks, input_name: str = "mask") -> IdentityMasks:
    """Split one foreground mask per frame ``(T, H, W)`` among identities: each pixel goes to the identity
    whose pose mask is nearest (a union mask from a person segmenter has no identities of its own)."""
    fg = np.asarray(union, dtype=np.float32)
    ref = pose_masks.masks
    if fg.ndim != 3 or fg.shape[0] != ref.shape[0] or fg.shape[1:] != ref.shape[2:]:
        raise InputError(input_name, f"shape {tuple(fg.shape)} does not match the poses' {ref.shape[0]} frames "
                         f"at {ref.shape[3]}x{ref.shape[2]}", "use the same frames and size as the poses")
    if not (fg > 0.5).any():
        raise InputError(input_name, "is empty in every frame", "check the segmenter's threshold or prompt")
    out = np.zeros(ref.shape, dtype=np.float32)
    for t in range(ref.shape[0]):
        dist = np.stack([_distance_to(ref[t, p] > 0.5) for p in range(ref.shape[1])])
        nearest = np.argmin(dist, axis=0)
        reachable = np.isfinite(dist.min(axis=0))
        for p in range(ref.shape[1]):
            out[t, p] = fg[t] * ((nearest == p) & reachable)
    return IdentityMasks(out, pose_masks.track_ids)


def _distance_to(mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
