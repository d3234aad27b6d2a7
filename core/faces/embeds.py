"""``CHOREO_FACE_EMBEDS``: one 512-d ArcFace vector per identity, in the order of the motion streams.

A face that could not be embedded (not visible, too small, no ArcFace model) is the documented zero vector
with ``found = False``: DanceTogether trained with zero vectors for missing faces (SPEC §2.3), so a missing face
weakens identity for that person instead of stopping the generation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

FACE_EMBEDDING_DIM = 512  # ArcFace (antelopev2 glintr100)


@dataclass(frozen=True)
class FaceEmbeds:
    """``vectors`` float32 ``(N, 512)`` (raw ArcFace vectors where found, zeros where not), one row per
    ``track_ids``."""

    vectors: np.ndarray
    track_ids: tuple[int, ...]
    found: tuple[bool, ...]

    def __post_init__(self) -> None:
        vectors = np.asarray(self.vectors, dtype=np.float32).reshape(-1, FACE_EMBEDDING_DIM) \
            if np.asarray(self.vectors).size else np.zeros((0, FACE_EMBEDDING_DIM), np.float32)
        ids = tuple(int(t) for t in self.track_ids)
        found = tuple(bool(f) for f in self.found)
        if not (vectors.shape[0] == len(ids) == len(found)):
            raise ValueError(f"FaceEmbeds: {vectors.shape[0]} vectors, {len(ids)} track ids and {len(found)} found "
                             "flags must agree")
        if len(set(ids)) != len(ids):
            raise ValueError(f"FaceEmbeds: track ids must be unique; got {ids}")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("FaceEmbeds: vectors contain NaN or inf")
        if any(not f and np.any(v) for f, v in zip(found, vectors)):
            raise ValueError("FaceEmbeds: a face marked not found must be the zero vector")
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "track_ids", ids)
        object.__setattr__(self, "found", found)

    @classmethod
    def missing(cls, track_ids: tuple[int, ...] | list[int]) -> FaceEmbeds:
        """No face for anyone: all zero vectors."""
        ids = tuple(track_ids)
        return cls(np.zeros((len(ids), FACE_EMBEDDING_DIM), np.float32), ids, (False,) * len(ids))

    def for_tracks(self, track_ids: tuple[int, ...] | list[int], input_name: str = "face_embeds") -> FaceEmbeds:
        """The rows for ``track_ids`` in that order (the motion-stream order)."""
        unknown = [t for t in track_ids if t not in self.track_ids]
        if unknown:
            raise InputError(input_name, f"has no face for track(s) {unknown} (it holds {list(self.track_ids)})",
                             "embed the faces of the same tracked people that drive the video")
        rows = [self.track_ids.index(t) for t in track_ids]
        return FaceEmbeds(self.vectors[rows], tuple(track_ids), tuple(self.found[r] for r in rows))

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.vectors.copy())

    def describe(self) -> str:
        return ", ".join(f"track {t}: {'face' if f else 'no face (zero vector)'}"
                         for t, f in zip(self.track_ids, self.found)) or "no people"
