"""Face-recognition-sized identity vectors for synthetic characters (what ArcFace gives for real people).

The synthetic world draws no recognisable faces, yet MultiFace needs one 512-d vector per person to learn which
tokens belong to which motion stream. Each character's vector is a deterministic function of its *face
descriptor*, the record of who it is (``Character`` as stored in ``scene.json``, minus the per-scene index):

* ``shared`` part: what a face model would see and what lookalikes share — skin tone, hair colour, hair style,
  head size — centred and scaled, then mapped to 512-d by one fixed Gaussian matrix (seed ``PROJECTION_SEED``)
  and normalised. Characters that look alike in these traits get correlated vectors, as real faces do.
* ``individual`` part: a unit Gaussian vector seeded by SHA-256 of the whole descriptor (height, every body
  proportion, clothes, shoes, hair, skin). A lookalike differs by a few percent in height and build and by its
  shoes, so it gets an independent individual part.

``v = ARCFACE_NORM · normalise(√SHARED_WEIGHT · shared + √(1 − SHARED_WEIGHT) · individual)``: the same character
always gets the same vector (no state, no global RNG); lookalikes have cosine ≈ ``SHARED_WEIGHT`` (0.3, below the
≈ 0.4 at which ArcFace usually calls two faces the same person), unrelated characters ≈ 0.3·(their shared-trait
similarity). The scale is that of raw ArcFace vectors (insightface ``embedding``), which StableAnimator feeds.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np

from .characters import HAIR_STYLES, Character

IDENTITY_DIM = 512  # ArcFace (antelopev2 glintr100)
ARCFACE_NORM = 24.0  # typical length of a raw glintr100 vector
SHARED_WEIGHT = 0.3  # cosine between lookalikes
PROJECTION_SEED = 18_512
NOT_IDENTITY = ("identity", "lookalike_of")  # per-scene bookkeeping, not part of who the character is


def face_descriptor(character: Character | dict) -> dict:
    """The identity record a vector is derived from (``Character`` or its ``scene.json`` dict)."""
    record = asdict(character) if isinstance(character, Character) else dict(character)
    return {k: v for k, v in record.items() if k not in NOT_IDENTITY}


def _shared_traits(descriptor: dict) -> np.ndarray:
    skin = (np.asarray(descriptor["skin"], np.float64) - 180.0) / 60.0
    hair = (np.asarray(descriptor["hair"], np.float64) - 110.0) / 80.0
    style = np.eye(len(HAIR_STYLES))[HAIR_STYLES.index(descriptor["hair_style"])] - 1.0 / len(HAIR_STYLES)
    head = (descriptor["proportions"]["head_radius"] / 0.065 - 1.0) / 0.08
    return np.concatenate([skin, hair, style * 2.0, [head]])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def identity_vector(character: Character | dict) -> np.ndarray:
    """``(512,)`` float32: the character's stable identity vector (see the module docstring)."""
    descriptor = face_descriptor(character)
    traits = _shared_traits(descriptor)
    projection = np.random.default_rng(PROJECTION_SEED).standard_normal((IDENTITY_DIM, traits.size))
    shared = _unit(projection @ traits)
    canonical = json.dumps(descriptor, sort_keys=True, default=float).encode()
    seed = int.from_bytes(hashlib.sha256(canonical).digest()[:8], "little")
    individual = _unit(np.random.default_rng(seed).standard_normal(IDENTITY_DIM))
    mixed = np.sqrt(SHARED_WEIGHT) * shared + np.sqrt(1.0 - SHARED_WEIGHT) * individual
    return (ARCFACE_NORM * _unit(mixed)).astype(np.float32)


def identity_vectors(characters: list[dict] | tuple[Character, ...], track_ids: tuple[int, ...]) -> np.ndarray:
    """``(len(track_ids), 512)``: the vector of the character whose ``identity`` is each track id, in that order."""
    by_identity = {int(asdict(c)["identity"] if isinstance(c, Character) else c["identity"]): c for c in characters}
    missing = [t for t in track_ids if t not in by_identity]
    if missing:
        raise ValueError(f"no character for track id(s) {missing}")
    return np.stack([identity_vector(by_identity[t]) for t in track_ids]) if track_ids else \
        np.zeros((0, IDENTITY_DIM), np.float32)
