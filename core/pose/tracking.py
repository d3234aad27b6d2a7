"""Persistent identities for people given in arbitrary order per frame (the gap this pack exists to close).

comfyui_controlnet_aux re-sorts people left-to-right on every frame, so identities swap at every crossing. Here
each frame is matched to the live tracks by Hungarian assignment (one-to-one, so two people never share an id)
in two passes:

1. **Follow**: tracks seen in the last ``max_extrapolation`` frames against the detections, on the mean distance
   between the track's constant-velocity-predicted keypoints (plus a camera pan, when most people agree on one)
   and the detection's, in units of the person's size, plus box overlap, size change and (when frames are
   given) clothing colour. Tight gate.
2. **Re-identify**: tracks lost for longer (full occlusion, exit and re-entry) against the detections left over,
   on distance from where the track was last seen (a gate that widens with the time lost), size and clothing.

Detections still unmatched start new tracks; tracks lost for more than ``max_lost_frames`` are closed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..progress import Progress, no_progress
from .appearance import appearance_descriptor, appearance_distance
from .boxes import box_iou, points_box
from .detections import PoseFrames
from .sequence import PoseSequence
from .wholebody import BODY, FEET, NUM_KEYPOINTS

INFEASIBLE = 1e6
# Body and feet carry the motion; the 110 face and hand points would otherwise outvote them.
TRACKING_POINTS = np.r_[np.arange(BODY.start, BODY.stop), np.arange(FEET.start, FEET.stop)]
MIN_COMMON_POINTS = 3


@dataclass(frozen=True)
class TrackerConfig:
    """Tracking knobs. Distances are in units of the person's size (height of their visible keypoints)."""

    min_confidence: float = 0.3
    match_gate: float = 0.6
    reid_gate: float = 1.0
    reid_growth: float = 0.05  # the re-identification gate widens by this fraction per frame lost
    max_extrapolation: int = 8
    max_lost_frames: int = 150
    velocity_smoothing: float = 0.5
    iou_weight: float = 0.3
    scale_weight: float = 0.5
    appearance_weight: float = 1.0
    max_people: int = 0  # keep only the N tracks seen in most frames; 0 keeps all
    min_track_frames: int = 1

    def __post_init__(self) -> None:
        for name in ("match_gate", "reid_gate", "max_extrapolation", "max_lost_frames", "min_track_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TrackerConfig.{name} must be positive; got {getattr(self, name)}")
        if not 0 <= self.velocity_smoothing < 1:
            raise ValueError("TrackerConfig.velocity_smoothing must be in [0, 1)")


@dataclass(frozen=True)
class _Person:
    """What matching needs to know about one detection."""

    points: np.ndarray  # (K, 2) tracking points
    seen: np.ndarray  # (K,) bool
    box: np.ndarray  # (4,) x0 y0 x1 y1 of the seen points
    size: float
    appearance: np.ndarray | None


class _Track:
    """Mutable state of one identity while the clip is scanned (private to this module)."""

    def __init__(self, track_id: int, person: _Person, frame: int) -> None:
        self.track_id = track_id
        self.points = person.points.copy()
        self.known = person.seen.copy()
        self.velocity = np.zeros(2)
        self.size = person.size
        self.appearance = person.appearance
        self.last_frame = frame
        self.hits = 1

    def predicted(self, frame: int, max_extrapolation: int) -> np.ndarray:
        steps = min(frame - self.last_frame, max_extrapolation)
        return self.points + self.velocity * steps

    def update(self, person: _Person, frame: int, config: TrackerConfig) -> None:
        gap = frame - self.last_frame
        common = self.known & person.seen
        if common.any():
            shift = np.median(person.points[common] - self.points[common], axis=0)
            measured = shift / max(gap, 1)
            a = config.velocity_smoothing if self.hits > 1 else 0.0
            self.velocity = a * self.velocity + (1 - a) * measured
        else:
            shift = _centre(person.box) - _centre(_box(self.points, self.known))
        self.points = np.where(person.seen[:, None], person.points, self.points + shift)
        self.known = self.known | person.seen
        if person.seen.sum() >= max(MIN_COMMON_POINTS, 0.6 * self.known.sum()):  # partial views shrink boxes
            self.size = 0.7 * self.size + 0.3 * person.size
        if person.appearance is not None:
            self.appearance = (person.appearance if self.appearance is None
                               else 0.8 * self.appearance + 0.2 * person.appearance)
        self.last_frame = frame
        self.hits += 1


def _box(points: np.ndarray, seen: np.ndarray) -> np.ndarray:
    return points_box(points[seen])


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2


def _describe_people(people: np.ndarray, image: np.ndarray | None, canvas: tuple[int, int],
                    min_confidence: float) -> list[_Person]:
    """The matching view of one frame's ``(N, 133, 3)`` people (appearance only when ``image`` is given).

    Clothing colour is read even when people overlap: gating it off for covered people was measured to lose
    identities in crossings (the track then has no colour to compare when it reappears)."""
    found = []
    min_size = 0.02 * float(np.hypot(*canvas))
    for kp in people:
        seen = kp[TRACKING_POINTS, 2] > min_confidence
        points = kp[TRACKING_POINTS, :2].astype(np.float64)
        if seen.sum() == 0:  # only face/hand points, or only weak ones: use everything that is there
            seen_all = kp[:, 2] > 0
            points = np.repeat(kp[seen_all, :2].mean(axis=0, keepdims=True), len(TRACKING_POINTS), axis=0)
            seen = np.zeros(len(TRACKING_POINTS), dtype=bool)
            seen[0] = True
        box = _box(points, seen)
        size = max(float(box[3] - box[1]), 0.5 * float(box[2] - box[0]), min_size)
        appearance = None if image is None else appearance_descriptor(image, kp, canvas, min_confidence)
        found.append(_Person(points, seen, box, size, appearance))
    return found


def _extent(points: np.ndarray) -> float:
    box = np.concatenate([points.min(axis=0), points.max(axis=0)])
    return max(float(box[3] - box[1]), 0.5 * float(box[2] - box[0]), 1.0)


def _shape_terms(predicted: np.ndarray, track: _Track, person: _Person) -> tuple[float, float]:
    """``(1 - IoU, |log size ratio|)`` over the points both see, so a partly visible person is compared with the
    same part of the track; neutral values when too few points are shared to judge."""
    common = track.known & person.seen
    if common.sum() < MIN_COMMON_POINTS:
        return 0.5, 0.0
    a, b = predicted[common], person.points[common]
    overlap = float(box_iou(points_box(a), points_box(b))[0, 0])
    return 1.0 - overlap, abs(float(np.log(_extent(b) / _extent(a))))


def _follow_cost(track: _Track, person: _Person, frame: int, config: TrackerConfig,
                 camera: np.ndarray | None = None) -> float:
    predicted = track.predicted(frame, config.max_extrapolation) + (0.0 if camera is None else camera)
    common = track.known & person.seen
    if common.any():
        distance = float(np.linalg.norm(predicted[common] - person.points[common], axis=1).mean()) / track.size
    else:
        centre = _centre(_box(predicted, track.known))
        distance = float(np.linalg.norm(centre - _centre(person.box))) / max(track.size, person.size)
    if distance > config.match_gate * (2.0 if track.hits == 1 else 1.0):  # no velocity known yet
        return INFEASIBLE
    no_overlap, size_change = _shape_terms(predicted, track, person)
    return (distance + config.iou_weight * no_overlap + config.scale_weight * size_change
            + config.appearance_weight * appearance_distance(track.appearance, person.appearance))


def _reid_cost(track: _Track, person: _Person, frame: int, canvas: tuple[int, int], config: TrackerConfig) -> float:
    gap = frame - track.last_frame
    last = _centre(_box(track.predicted(frame, config.max_extrapolation), track.known))
    last = np.clip(last, 0, canvas)
    distance = float(np.linalg.norm(last - _centre(person.box))) / max(track.size, person.size)
    allowance = config.reid_gate * (1 + config.reid_growth * gap)
    if distance > allowance:
        return INFEASIBLE
    _, size_change = _shape_terms(track.points, track, person)
    return (distance / allowance + config.scale_weight * size_change
            + config.appearance_weight * appearance_distance(track.appearance, person.appearance))


def camera_shift(tracks: list[_Track], people: list[_Person], frame: int, config: TrackerConfig) -> np.ndarray:
    """The scene's translation beyond the tracks' own motion (a camera pan), else zero. Each track-detection
    pair proposes its offset; the proposal that brings most tracks within half the match gate of a detection
    wins if at least 3 tracks, and 2 more than with no shift, agree (measured: looser rules cost identities on
    scenes without a pan); it is refined by the median offset of the agreeing tracks."""
    zero = np.zeros(2)
    if len(tracks) < 2 or len(people) < 2:
        return zero
    predicted = np.array([_centre(_box(t.predicted(frame, config.max_extrapolation), t.known)) for t in tracks])
    sizes = np.array([t.size for t in tracks])
    found = np.array([_centre(p.box) for p in people])
    offsets = found[None] - predicted[:, None]  # (tracks, people, 2)
    proposals = np.concatenate([zero[None], offsets.reshape(-1, 2)])
    residual = np.linalg.norm(offsets[None] - proposals[:, None, None], axis=-1)  # (proposals, tracks, people)
    close = residual < 0.5 * config.match_gate * sizes[None, :, None]
    support = close.any(axis=2).sum(axis=1)
    best = int(np.argmax(support))
    if support[best] < max(3, support[0] + 2):
        return zero
    nearest = np.argmin(np.where(close[best], residual[best], np.inf), axis=1)
    agreeing = close[best].any(axis=1)
    return np.median(offsets[np.flatnonzero(agreeing), nearest[agreeing]], axis=0)


def _assign(cost: np.ndarray) -> list[tuple[int, int]]:
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(r, c) for r, c in zip(rows, cols) if cost[r, c] < INFEASIBLE]


class _Tracker:
    def __init__(self, canvas: tuple[int, int], config: TrackerConfig) -> None:
        self.canvas = canvas
        self.config = config
        self.tracks: list[_Track] = []
        self.next_id = 0

    def step(self, frame: int, people: list[_Person]) -> list[int]:
        """Track ids of ``people`` in this frame, in their order."""
        cfg = self.config
        self.tracks = [t for t in self.tracks if frame - t.last_frame <= cfg.max_lost_frames]
        ids = [-1] * len(people)
        recent = [t for t in self.tracks if frame - t.last_frame <= cfg.max_extrapolation]
        lost = [t for t in self.tracks if frame - t.last_frame > cfg.max_extrapolation]
        free = list(range(len(people)))
        camera = camera_shift(recent, people, frame, cfg)
        for tracks, cost_of in ((recent, lambda t, p: _follow_cost(t, p, frame, cfg, camera)),
                                (lost + recent, lambda t, p: _reid_cost(t, p, frame, self.canvas, cfg))):
            tracks = [t for t in tracks if t.last_frame < frame]
            cost = np.array([[cost_of(t, people[j]) for j in free] for t in tracks]).reshape(len(tracks), len(free))
            matched = _assign(cost)
            for r, c in matched:
                tracks[r].update(people[free[c]], frame, cfg)
                ids[free[c]] = tracks[r].track_id
            free = [j for j in free if ids[j] < 0]
        for j in free:
            self.tracks.append(_Track(self.next_id, people[j], frame))
            ids[j] = self.next_id
            self.next_id += 1
        return ids


def assign_track_ids(frames: PoseFrames, images: np.ndarray | None = None, config: TrackerConfig = TrackerConfig(),
                     progress: Progress = no_progress) -> list[np.ndarray]:
    """Per frame, the persistent id of each person of ``frames.people[t]`` (same order).

    ``images``: optional ``(T, H, W, 3)`` frames (uint8 or float 0..1) for the clothing-colour cue.
    """
    if images is not None and len(images) != frames.num_frames:
        from ..errors import InputError

        raise InputError("images", f"{len(images)} images for {frames.num_frames} frames of poses",
                         "give the frames the poses were extracted from, one per pose frame")
    canvas = (frames.width, frames.height)
    tracker = _Tracker(canvas, config)
    out = []
    for t, people in enumerate(frames.people):
        image = None if images is None else np.asarray(images[t])
        out.append(np.asarray(tracker.step(t, _describe_people(people, image, canvas, config.min_confidence)),
                              dtype=np.int64))
        progress(t + 1, frames.num_frames)
    return out


def sequence_from_ids(frames: PoseFrames, ids: list[np.ndarray], config: TrackerConfig = TrackerConfig(),
                      renumber: bool = True) -> PoseSequence:
    """Gather per-frame people into one column per identity, ordered by first appearance (then left to right);
    ``renumber`` makes the ids 0..P-1 in that order, else the given ids are kept. Identities are kept per
    ``max_people``/``min_track_frames``."""
    all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    unique, counts = np.unique(all_ids, return_counts=True)
    keep = [int(i) for i, n in zip(unique, counts) if n >= config.min_track_frames]
    if config.max_people > 0 and len(keep) > config.max_people:
        frequency = dict(zip(unique.tolist(), counts.tolist()))
        keep = sorted(keep, key=lambda i: -frequency[i])[: config.max_people]
    order = sorted(keep, key=lambda i: _first_seen(frames, ids, i))
    column = {track_id: k for k, track_id in enumerate(order)}
    keypoints = np.zeros((frames.num_frames, len(order), NUM_KEYPOINTS, 3), dtype=np.float32)
    for t, (people, frame_ids) in enumerate(zip(frames.people, ids)):
        for person, track_id in zip(people, frame_ids.tolist()):
            if track_id in column:
                keypoints[t, column[track_id]] = person
    track_ids = tuple(range(len(order))) if renumber else tuple(order)
    return PoseSequence(keypoints, track_ids, frames.width, frames.height, frames.fps)


def _first_seen(frames: PoseFrames, ids: list[np.ndarray], track_id: int) -> tuple[int, float]:
    for t, frame_ids in enumerate(ids):
        hit = np.flatnonzero(frame_ids == track_id)
        if hit.size:
            person = frames.people[t][hit[0]]
            seen = person[:, 2] > 0
            return t, float(person[seen, 0].mean())
    return len(ids), 0.0


def track_poses(frames: PoseFrames, images: np.ndarray | None = None, config: TrackerConfig = TrackerConfig(),
                progress: Progress = no_progress) -> PoseSequence:
    """Track people through ``frames`` into a `PoseSequence`; when every input person already carries an id
    (e.g. a ``POSE_KEYPOINT`` written by this pack), those ids are kept and nothing is re-derived."""
    if frames.has_ids():
        return sequence_from_ids(frames, list(frames.ids), config, renumber=False)
    return sequence_from_ids(frames, assign_track_ids(frames, images, config, progress), config)
