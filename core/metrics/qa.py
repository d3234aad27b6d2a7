"""Identity-swap QA of a generated video: per identity and window, did the character stay who it should be?

Each identity's region (from the driving poses or given masks) is embedded in every frame and compared with every
reference character (``identity.py``). Per window of frames the mean similarities are assigned to references by
Hungarian matching; an identity then

* **held** — it is assigned its own reference and its own similarity stays near where it started;
* **swapped** — it is assigned another character's reference (``looks_like`` names whom; two identities that took
  each other's look form a swap pair);
* **drifted** — it is still assigned its own reference but its own similarity fell by more than ``drift_drop``
  below its first held window (a slow identity leak that has not yet become a swap);
* **absent** — its region is empty (under ``min_pixels``) in every frame of the window.

The overlay marks each identity's region outline in its colour with its id, and paints a red box and a red bar
wherever its identity broke (swapped or drifted).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress
from ..video.frames import to_uint8_rgb
from .identity import (
    MIN_REGION_PIXELS,
    Embedder,
    ICResult,
    assign,
    check_references,
    colour_texture_embedding,
    cosine,
    ic_from_similarity,
    reference_embeddings,
    region_embeddings,
)

HELD, SWAPPED, DRIFTED, ABSENT = "held", "swapped", "drifted", "absent"
DEFAULT_WINDOW = 8
DEFAULT_DRIFT_DROP = 0.15
BROKEN_RGB = (255, 0, 0)
_IDENTITY_RGB = ((0, 200, 255), (60, 220, 60), (255, 200, 0), (200, 90, 255), (255, 255, 255), (0, 120, 255))


@dataclass(frozen=True)
class WindowVerdict:
    """One identity over frames ``[start, stop)``: its status, whom it looks like, and the similarities behind it."""

    identity: int
    start: int
    stop: int
    status: str
    looks_like: int | None
    own_similarity: float
    assigned_similarity: float

    def as_dict(self) -> dict:
        return {"identity": self.identity, "start": self.start, "stop": self.stop, "status": self.status,
                "looks_like": self.looks_like, "own_similarity": _json_float(self.own_similarity),
                "assigned_similarity": _json_float(self.assigned_similarity)}


@dataclass(frozen=True)
class QAReport:
    """The verdicts of all identities and windows, and the per-frame IC accuracy from the same similarities."""

    identities: tuple[int, ...]
    window: int
    frames: int
    verdicts: tuple[WindowVerdict, ...]
    ic: ICResult

    @property
    def ok(self) -> bool:
        return all(v.status in (HELD, ABSENT) for v in self.verdicts)

    def frame_status(self) -> list[list[str]]:
        """``[frame][identity column]`` status, expanded from the windows."""
        table = [[ABSENT] * len(self.identities) for _ in range(self.frames)]
        for v in self.verdicts:
            for t in range(v.start, v.stop):
                table[t][self.identities.index(v.identity)] = v.status
        return table

    def swaps(self) -> list[dict]:
        """Windows where identities took each other's look (pairs) or another's look (one-sided)."""
        events = []
        for v in self.verdicts:
            if v.status == SWAPPED:
                mutual = any(o.status == SWAPPED and o.start == v.start and o.identity == v.looks_like
                             and o.looks_like == v.identity for o in self.verdicts)
                if not mutual or v.identity < v.looks_like:
                    events.append({"start": v.start, "stop": v.stop, "identity": v.identity,
                                   "looks_like": v.looks_like, "mutual": mutual})
        return events

    def as_dict(self) -> dict:
        per_identity = {}
        for identity in self.identities:
            mine = [v for v in self.verdicts if v.identity == identity]
            seen = [v for v in mine if v.status != ABSENT]
            held = sum(v.status == HELD for v in seen)
            per_identity[str(identity)] = {
                "held_fraction": held / len(seen) if seen else None,
                "windows": [v.as_dict() for v in mine],
            }
        drifts = [v.as_dict() for v in self.verdicts if v.status == DRIFTED]
        return {"ok": self.ok, "window": self.window, "frames": self.frames, "identities": per_identity,
                "swaps": self.swaps(), "drifts": drifts, "ic_accuracy": self.ic.as_dict()}


def _json_float(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def identity_qa(video: np.ndarray, masks: np.ndarray, identities: Sequence[int],
                reference_images: Sequence[np.ndarray], reference_masks: Sequence[np.ndarray],
                reference_identities: Sequence[int], window: int = DEFAULT_WINDOW,
                drift_drop: float = DEFAULT_DRIFT_DROP, embedder: Embedder = colour_texture_embedding,
                min_pixels: int = MIN_REGION_PIXELS, progress: Progress = no_progress) -> QAReport:
    """Judge every identity in every window of ``video`` ``(T, H, W, 3)`` in [0, 1].

    ``masks[:, j]`` is where ``identities[j]`` is in the generated frames; reference ``i`` (image + mask) shows
    character ``reference_identities[i]``. Every identity needs a reference.
    """
    identities, reference_identities = [int(i) for i in identities], [int(i) for i in reference_identities]
    _check_qa_inputs(identities, reference_identities, window, drift_drop)
    similarity = cosine(region_embeddings(video, masks, embedder, min_pixels),
                        reference_embeddings(reference_images, reference_masks, embedder))
    own = np.array([reference_identities.index(i) for i in identities])
    starts = list(range(0, len(similarity), window))
    verdicts, baseline = [], {}
    for k, start in enumerate(starts):
        verdicts += _judge_window(similarity[start:start + window], start, identities, reference_identities, own,
                                  drift_drop, baseline)
        progress(k + 1, len(starts))
    return QAReport(tuple(identities), window, len(similarity), tuple(verdicts),
                    ic_from_similarity(similarity, identities, reference_identities))


def regions_from_poses(poses: PoseSequence, frames: int, height: int, width: int) -> np.ndarray:
    """``(T, P, H, W)`` bool body regions drawn from the driving poses, overlaps given to the nearer person."""
    from ..render.masks import exclusive, masks_from_poses

    if poses.num_frames != frames:
        raise InputError("poses", f"have {poses.num_frames} frames but the video has {frames}",
                         "connect the driving poses of exactly this video (same frame selection)")
    return exclusive(masks_from_poses(poses, width, height), poses).masks > 0.5


def _check_qa_inputs(identities: list[int], references: list[int], window: int, drift_drop: float) -> None:
    check_references(identities, references)
    if window < 1:
        raise InputError("window", f"must be at least 1 frame, got {window}", "use e.g. 8 frames")
    if not 0 < drift_drop <= 2:
        raise InputError("drift_drop", f"must be in (0, 2], got {drift_drop}", "use e.g. 0.15")


def _judge_window(similarity: np.ndarray, start: int, identities: list[int], references: list[int],
                  own: np.ndarray, drift_drop: float, baseline: dict[int, float]) -> list[WindowVerdict]:
    """Verdicts of one window from its ``(frames, P, R)`` similarities; ``baseline`` remembers first held values."""
    present = ~np.isnan(similarity).any(axis=2)
    mean = np.full(similarity.shape[1:], np.nan)
    for j in np.flatnonzero(present.any(axis=0)):
        mean[j] = similarity[present[:, j], j].mean(axis=0)
    assigned = assign(mean)
    stop = start + len(similarity)
    out = []
    for j, identity in enumerate(identities):
        if assigned[j] < 0:
            out.append(WindowVerdict(identity, start, stop, ABSENT, None, math.nan, math.nan))
            continue
        own_sim, got_sim = float(mean[j, own[j]]), float(mean[j, assigned[j]])
        looks_like = references[assigned[j]]
        if looks_like != identity:
            status = SWAPPED
        elif identity in baseline and own_sim < baseline[identity] - drift_drop:
            status = DRIFTED
        else:
            status = HELD
            baseline.setdefault(identity, own_sim)
        out.append(WindowVerdict(identity, start, stop, status, looks_like, own_sim, got_sim))
    return out


def identity_colour(column: int) -> tuple[int, int, int]:
    """The overlay colour of the identity in mask column ``column`` (never the red that marks a break)."""
    return _IDENTITY_RGB[column % len(_IDENTITY_RGB)]


def qa_overlay(video: np.ndarray, masks: np.ndarray, report: QAReport) -> np.ndarray:
    """``(T, H, W, 3)`` uint8: the video with each identity's outline and id, and red marks where identity broke."""
    frames = to_uint8_rgb(video, "video")
    masks = np.asarray(masks) > 0.5
    status = report.frame_status()
    out = []
    for t, frame in enumerate(frames):
        canvas = np.ascontiguousarray(frame.copy())
        broken = False
        for j, identity in enumerate(report.identities):
            if masks[t, j].any():
                broken |= _draw_identity(canvas, masks[t, j], identity, identity_colour(j), status[t][j])
        if broken:
            canvas[: max(2, canvas.shape[0] // 40)] = BROKEN_RGB
        out.append(canvas)
    return np.stack(out)


def _draw_identity(canvas: np.ndarray, mask: np.ndarray, identity: int, colour: tuple[int, int, int],
                   status: str) -> bool:
    """Outline and label one identity; a red box when its identity broke. Returns whether it broke."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(canvas, contours, -1, colour, 1)
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    broken = status in (SWAPPED, DRIFTED)
    label = f"{identity}" + ("!" if broken else "")
    scale = max(0.35, canvas.shape[0] / 500)
    cv2.putText(canvas, label, (x, max(int(28 * scale), y - 2)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                max(1, round(2 * scale)), cv2.LINE_AA)
    if broken:
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), BROKEN_RGB, 2)
    return broken
