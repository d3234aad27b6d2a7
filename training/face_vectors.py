"""Each clip's identity vectors, one per person in the clip's track order (= the pose/mask stream order).

* Prepared clips (``prepare``): ``faces.npz`` with ``embeddings`` ``(P, 512)`` float32 (raw ArcFace vectors, zero
  rows for faces that could not be embedded) and ``found`` ``(P,)`` bool, written when an ArcFace ONNX model was
  given; without it the clip has no file and every person counts as "no face" (zero vector, as DanceTogether
  trains missing faces).
* Synthetic scenes: the characters' vectors of ``core.synth.identity``, derived from ``scene.json``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.faces.embeds import FACE_EMBEDDING_DIM
from ..core.synth.identity import identity_vectors

FACES_FILE = "faces.npz"


@dataclass(frozen=True)
class ClipFaces:
    """``vectors`` ``(P, 512)`` in track order; ``found`` ``(P,)``; ``source`` says where they came from."""

    vectors: np.ndarray
    found: np.ndarray
    source: str


def write_faces(folder: str | Path, vectors: np.ndarray, found: np.ndarray) -> Path:
    """``faces.npz`` of a prepared clip (rows in its ``track_ids`` order)."""
    path = Path(folder) / FACES_FILE
    np.savez_compressed(path, embeddings=np.asarray(vectors, np.float32), found=np.asarray(found, bool))
    return path


@lru_cache(maxsize=256)
def clip_faces(folder: Path, track_ids: tuple[int, ...]) -> ClipFaces:
    """The identity vectors of the clip at ``folder`` for its ``track_ids`` (see the module docstring)."""
    folder = Path(folder)
    if (folder / FACES_FILE).is_file():
        with np.load(folder / FACES_FILE, allow_pickle=False) as data:
            vectors, found = data["embeddings"].astype(np.float32), data["found"].astype(bool)
        if vectors.shape != (len(track_ids), FACE_EMBEDDING_DIM) or found.shape != (len(track_ids),):
            raise InputError("dataset", f"'{folder / FACES_FILE}' holds {vectors.shape} vectors for "
                             f"{len(track_ids)} people", "re-run prepare on that clip")
        return ClipFaces(vectors, found, "arcface")
    meta = json.loads((folder / "scene.json").read_text())
    if "characters" in meta:
        return ClipFaces(identity_vectors(meta["characters"], track_ids), np.ones(len(track_ids), bool), "synthetic")
    return ClipFaces(np.zeros((len(track_ids), FACE_EMBEDDING_DIM), np.float32), np.zeros(len(track_ids), bool),
                     "none")


def faces_from_video(arcface, frames: np.ndarray, poses, every: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per track of ``poses``: the ArcFace vector of its first usable face among every ``every``-th frame.

    ``arcface`` is a ``core.faces.arcface.ArcFace``; returns ``(vectors (P, 512), found (P,))``.
    """
    from ..core.faces.arcface import embed_faces

    vectors = np.zeros((poses.num_people, FACE_EMBEDDING_DIM), np.float32)
    found = np.zeros(poses.num_people, bool)
    for t in range(0, poses.num_frames, max(1, every)):
        if found.all():
            break
        embeds = embed_faces(arcface, frames[t], poses, t)
        new = np.asarray(embeds.found) & ~found
        vectors[new], found[new] = embeds.vectors[new], True
    return vectors, found


def record_missing(out_dir: Path, clip: str, reason: str) -> None:
    """Append ``clip: reason`` to ``OUT_DIR/without_faces.txt`` (clips training will feed zero vectors for)."""
    with open(Path(out_dir) / "without_faces.txt", "a", encoding="utf-8") as file:
        file.write(f"{clip}: {reason}\n")
