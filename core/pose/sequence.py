"""`PoseSequence`: the tracked whole-body poses of a clip, the value every later stage reads.

One column per identity for the whole clip, so "who is who" is decided once (by tracking) and never re-derived
downstream. Validated on construction: a malformed array is rejected here, with the field named, instead of
surfacing as an indexing error three stages later.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .wholebody import NUM_KEYPOINTS


@dataclass(frozen=True)
class PoseSequence:
    """Poses of P identified people over T frames.

    keypoints: float32 ``(T, P, 133, 3)`` holding ``x, y`` in pixels of a ``width × height`` canvas and a
        confidence in ``[0, 1]``; confidence 0 means "not seen" (occluded, out of frame, or person absent).
    track_ids: one persistent, unique, non-negative identity per person column.
    depth: optional float32 ``(T, P)``; larger is farther from the camera, so renderers draw in descending order.
    """

    keypoints: np.ndarray
    track_ids: tuple[int, ...]
    width: int
    height: int
    fps: float = 24.0
    depth: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float32)
        if kp.ndim != 4 or kp.shape[2] != NUM_KEYPOINTS or kp.shape[3] != 3:
            raise ValueError(
                f"PoseSequence.keypoints must have shape (frames, people, {NUM_KEYPOINTS}, 3); got {kp.shape}"
            )
        if not np.all(np.isfinite(kp)):
            raise ValueError("PoseSequence.keypoints contains NaN or inf; mark missing points with confidence 0")
        ids = tuple(int(i) for i in self.track_ids)
        if len(ids) != kp.shape[1]:
            raise ValueError(f"PoseSequence.track_ids has {len(ids)} ids for {kp.shape[1]} people")
        if len(set(ids)) != len(ids) or any(i < 0 for i in ids):
            raise ValueError(f"PoseSequence.track_ids must be unique and non-negative; got {ids}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"PoseSequence canvas must be positive; got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"PoseSequence.fps must be positive; got {self.fps}")
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "track_ids", ids)
        if self.depth is not None:
            depth = np.asarray(self.depth, dtype=np.float32)
            if depth.shape != kp.shape[:2]:
                raise ValueError(f"PoseSequence.depth must have shape {kp.shape[:2]}; got {depth.shape}")
            object.__setattr__(self, "depth", depth)

    @property
    def num_frames(self) -> int:
        return self.keypoints.shape[0]

    @property
    def num_people(self) -> int:
        return self.keypoints.shape[1]

    def present(self, min_confidence: float = 0.0) -> np.ndarray:
        """``(T, P)`` bool: the person has at least one keypoint above ``min_confidence`` in that frame."""
        return (self.keypoints[..., 2] > min_confidence).any(axis=-1)

    def column(self, track_id: int) -> int:
        """The person axis index of ``track_id``."""
        try:
            return self.track_ids.index(track_id)
        except ValueError:
            raise KeyError(f"track id {track_id} not in this PoseSequence (ids: {self.track_ids})") from None

    def select(self, track_ids: list[int] | tuple[int, ...]) -> "PoseSequence":
        """A sequence with only ``track_ids``, in that order."""
        cols = [self.column(i) for i in track_ids]
        depth = None if self.depth is None else self.depth[:, cols]
        return PoseSequence(self.keypoints[:, cols], tuple(track_ids), self.width, self.height, self.fps, depth)

    def frames(self, start: int, stop: int | None = None) -> "PoseSequence":
        """Frames ``[start, stop)``, keeping identities."""
        depth = None if self.depth is None else self.depth[start:stop]
        return PoseSequence(self.keypoints[start:stop], self.track_ids, self.width, self.height, self.fps, depth)
