"""`PoseFrames`: the untracked people of each frame, as an extractor or a ``POSE_KEYPOINT`` list gives them.

People come in arbitrary order per frame; tracking turns this into a `PoseSequence`. Construction cleans what
real inputs contain instead of crashing later: NaN/inf points and points outside the canvas become "not seen"
(confidence 0), confidences are clipped to ``[0, 1]``, and people with no point left are dropped. The number of
points changed is kept in ``repaired`` so callers can warn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .wholebody import NUM_KEYPOINTS

# Points this far outside the canvas (as a fraction of its size) are still kept: detectors place occluded
# limbs slightly beyond the image border and those are real evidence of where the person is.
CANVAS_MARGIN = 0.1
UNKNOWN_ID = -1


@dataclass(frozen=True)
class PoseFrames:
    """people[t]: float32 ``(N_t, 133, 3)`` (x, y in pixels, confidence); ids[t]: int ``(N_t,)`` identities
    already known from the input (``UNKNOWN_ID`` where not); sources[t]: each kept person's index in the input
    frame (people with no valid point are dropped, so this maps results back to the caller's list)."""

    people: tuple[np.ndarray, ...]
    width: int
    height: int
    fps: float = 24.0
    ids: tuple[np.ndarray, ...] | None = None
    repaired: int = field(default=0, compare=False)
    sources: tuple[np.ndarray, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.width is None or self.height is None or self.width <= 0 or self.height <= 0:
            raise InputError("canvas", f"canvas size is missing or not positive ({self.width}x{self.height})",
                             "give the canvas width and height (the size of the frames the poses were taken on)")
        if len(self.people) == 0:
            raise InputError("poses", "no frames", "give at least one frame of poses")
        ids = self.ids if self.ids is not None else tuple(np.full(len(p), UNKNOWN_ID) for p in self.people)
        if len(ids) != len(self.people):
            raise InputError("poses", f"{len(ids)} id lists for {len(self.people)} frames", "give one per frame")
        cleaned, kept_ids, sources, repaired = [], [], [], 0
        for t, (frame, frame_ids) in enumerate(zip(self.people, ids)):
            kp, n_fixed = _clean_frame(frame, t, self.width, self.height)
            frame_ids = np.asarray(frame_ids, dtype=np.int64).reshape(-1)
            if len(frame_ids) != len(frame):
                raise InputError("poses", f"frame {t} has {len(frame_ids)} ids for {len(frame)} people",
                                 "give one id (or none) per person")
            keep = (kp[..., 2] > 0).any(axis=-1)
            cleaned.append(kp[keep])
            kept_ids.append(frame_ids[keep])
            sources.append(np.flatnonzero(keep))
            repaired += n_fixed
        object.__setattr__(self, "people", tuple(cleaned))
        object.__setattr__(self, "ids", tuple(kept_ids))
        object.__setattr__(self, "repaired", repaired)
        object.__setattr__(self, "sources", tuple(sources))

    @property
    def num_frames(self) -> int:
        return len(self.people)

    def has_ids(self) -> bool:
        """Every person carries a known identity, unique within its frame (so tracking can be skipped)."""
        return all(len(i) == len(set(i.tolist())) and (i >= 0).all() for i in self.ids)


def _clean_frame(frame: np.ndarray, t: int, width: int, height: int) -> tuple[np.ndarray, int]:
    kp = np.asarray(frame, dtype=np.float32)
    if kp.size == 0:
        return np.zeros((0, NUM_KEYPOINTS, 3), dtype=np.float32), 0
    if kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
        raise InputError("poses", f"frame {t} has shape {kp.shape}, expected (people, {NUM_KEYPOINTS}, 3)",
                         "convert the poses to the 133-point whole-body layout")
    kp = kp.copy()
    bad = ~np.isfinite(kp).all(axis=-1)
    x, y = np.nan_to_num(kp[..., 0]), np.nan_to_num(kp[..., 1])
    outside = ((x < -CANVAS_MARGIN * width) | (x > (1 + CANVAS_MARGIN) * width)
               | (y < -CANVAS_MARGIN * height) | (y > (1 + CANVAS_MARGIN) * height))
    seen = np.nan_to_num(kp[..., 2]) > 0
    fixed = (bad | outside) & seen
    drop = bad | outside
    kp[drop] = 0.0
    kp[..., 2] = np.clip(kp[..., 2], 0.0, 1.0)
    return kp, int(fixed.sum())
