"""Identity correspondence: which reference character each generated person looks like (SPEC §1.9, ED's ICE).

Every person region of a generated frame (its mask, background grey, cropped to the mask's box) and every
reference character crop is embedded; per frame the generated people are assigned to references by Hungarian
matching of cosine similarities. IC accuracy counts how often the assignment is the intended character.

The embedder is pluggable (``Embedder``: crops in, one row per crop out). The default,
``colour_texture_embedding``, needs no weights: per horizontal band of the person (head/top, middle, bottom), a
hue-saturation-value histogram of the masked pixels and a histogram of gradient orientations, square-rooted
(Hellinger) and unit-normalised. It tells apart characters whose clothes differ, which is what swaps in
generated videos usually exchange; a re-ID network (``networks.OnnxImageFeatures`` over OSNet, say) is the
stronger choice when the user has one.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

GREY = 0.5
MIN_REGION_PIXELS = 16
_BANDS = 3
_HSV_BINS = (8, 3, 3)
_ORIENTATION_BINS = 8
_TEXTURE_WEIGHT = 0.5

Crop = tuple[np.ndarray, np.ndarray]  # (H, W, 3) float image in [0, 1], (H, W) bool mask
Embedder = Callable[[Sequence[Crop]], np.ndarray]


def masked_crop(image: np.ndarray, mask: np.ndarray) -> Crop:
    """The image inside ``mask``'s box with everything outside the mask grey (SPEC §1.9), and the cropped mask."""
    mask = np.asarray(mask) > 0.5
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        raise InputError("mask", "is empty, so there is no person to embed", "skip frames where a person is absent")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    crop_mask = mask[box]
    crop = np.where(crop_mask[..., None], np.asarray(image, dtype=np.float32)[box][..., :3], GREY)
    return crop.astype(np.float32), crop_mask


def _band_descriptor(hsv: np.ndarray, magnitude: np.ndarray, angle: np.ndarray, mask: np.ndarray) -> np.ndarray:
    colour = np.histogramdd(hsv[mask], bins=_HSV_BINS, range=((0, 360), (0, 1), (0, 1)))[0].ravel()
    texture = np.histogram(angle[mask], bins=_ORIENTATION_BINS, range=(0, 180), weights=magnitude[mask])[0]
    colour = np.sqrt(colour / max(colour.sum(), 1e-12))
    texture = np.sqrt(texture / max(texture.sum(), 1e-12))
    return np.concatenate([colour, _TEXTURE_WEIGHT * texture])


def colour_texture_embedding(crops: Sequence[Crop]) -> np.ndarray:
    """The default, weight-free embedder: banded HSV + gradient-orientation histograms, unit length per row."""
    rows = []
    for image, mask in crops:
        hsv = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2HSV)
        grey = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2GRAY)
        gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
        magnitude, angle = np.hypot(gx, gy), np.degrees(np.arctan2(gy, gx)) % 180
        inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        magnitude = magnitude * (inner if inner.any() else mask)  # the mask's own edge is not texture
        edges = np.linspace(0, len(mask), _BANDS + 1).round().astype(int)
        bands = []
        for top, bottom in pairwise(edges):
            band = np.zeros_like(mask)
            band[top:bottom] = mask[top:bottom]
            bands.append(_band_descriptor(hsv, magnitude, angle, band))
        vector = np.concatenate(bands)
        rows.append(vector / max(np.linalg.norm(vector), 1e-12))
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


def region_embeddings(video: np.ndarray, masks: np.ndarray, embedder: Embedder = colour_texture_embedding,
                      min_pixels: int = MIN_REGION_PIXELS) -> np.ndarray:
    """``(T, P, D)`` embeddings of each person region of each frame; NaN rows where the person is absent."""
    video, masks = np.asarray(video, dtype=np.float32), np.asarray(masks) > 0.5
    if masks.ndim != 4 or masks.shape[0] != video.shape[0] or masks.shape[2:] != video.shape[1:3]:
        raise InputError("masks", f"expected (T={video.shape[0]}, persons, H={video.shape[1]}, W={video.shape[2]}), "
                         f"got {masks.shape}", "give one mask per frame and person at the video's size")
    present = masks.sum(axis=(2, 3)) >= min_pixels
    where = list(zip(*np.nonzero(present)))
    if not where:
        raise InputError("masks", f"no person is visible in any frame (every mask has < {min_pixels} pixels)",
                         "check the masks: an empty mask means the person is absent")
    features = embedder([masked_crop(video[t], masks[t, p]) for t, p in where])
    out = np.full(masks.shape[:2] + (features.shape[1],), np.nan)
    for (t, p), row in zip(where, features):
        out[t, p] = row
    return out


def reference_embeddings(images: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                         embedder: Embedder = colour_texture_embedding) -> np.ndarray:
    """``(R, D)`` embeddings of the reference characters (one image and mask each)."""
    if len(images) != len(masks) or not images:
        raise InputError("references", f"{len(images)} images for {len(masks)} masks",
                         "give one reference image and one mask per character")
    return embedder([masked_crop(image, mask) for image, mask in zip(images, masks)])


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of the rows of ``a (..., D)`` against the rows of ``b (R, D)``."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


def assign(similarity: np.ndarray) -> np.ndarray:
    """Hungarian assignment maximising total similarity; ``(P,)`` reference index per row, -1 for NaN rows."""
    rows = np.flatnonzero(~np.isnan(similarity).any(axis=1))
    out = np.full(len(similarity), -1)
    if len(rows):
        r, c = linear_sum_assignment(-similarity[rows])
        out[rows[r]] = c
    return out


@dataclass(frozen=True)
class ICResult:
    """IC accuracy of one clip. ``assignment`` is ``(T, P)`` (-1 where absent); ``per_identity`` maps an
    identity to its accuracy, NaN when it never appears (``notes`` says so)."""

    character_accuracy: float
    frame_accuracy: float
    per_identity: dict[int, float]
    assignment: np.ndarray
    similarity: np.ndarray
    notes: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"IC_character": self.character_accuracy, "IC_frame": self.frame_accuracy,
                "IC_per_identity": {str(k): v for k, v in self.per_identity.items()}, "notes": list(self.notes)}


def ic_accuracy(video: np.ndarray, masks: np.ndarray, identities: Sequence[int], reference_images: Sequence[np.ndarray],
                reference_masks: Sequence[np.ndarray], reference_identities: Sequence[int],
                embedder: Embedder = colour_texture_embedding) -> ICResult:
    """Character- and frame-level IC accuracy (SPEC §1.9) of ``video`` against the reference characters.

    ``masks[:, j]`` is where identity ``identities[j]`` should be; ``reference_identities[i]`` names reference i.
    """
    if len(identities) != np.asarray(masks).shape[1]:
        raise InputError("identities", f"{len(identities)} ids for {np.asarray(masks).shape[1]} mask columns",
                         "give one identity per mask column")
    check_references(identities, reference_identities)
    similarity = cosine(region_embeddings(video, masks, embedder),
                        reference_embeddings(reference_images, reference_masks, embedder))
    return ic_from_similarity(similarity, identities, reference_identities)


def check_references(identities: Sequence[int], reference_identities: Sequence[int]) -> None:
    """Every identity needs exactly one reference character."""
    references = [int(i) for i in reference_identities]
    missing = [int(i) for i in identities if int(i) not in references]
    if missing:
        raise InputError("references", f"no reference character for identities {missing} (references: "
                         f"{references})", "give every identity in the video a reference crop / character slot")
    if len(set(references)) != len(references):
        raise InputError("references", f"reference identities {references} repeat", "give each character once")


def ic_from_similarity(similarity: np.ndarray, identities: Sequence[int],
                       reference_identities: Sequence[int]) -> ICResult:
    """IC accuracy from ``(T, P, R)`` cosine similarities (NaN rows where a person is absent)."""
    identities, reference_identities = [int(i) for i in identities], [int(i) for i in reference_identities]
    assignment = np.stack([assign(frame) for frame in similarity])
    target = np.array([reference_identities.index(i) for i in identities])
    present = assignment >= 0
    correct = (assignment == target[None]) & present
    notes, per_identity = [], {}
    for j, identity in enumerate(identities):
        seen = present[:, j].sum()
        per_identity[identity] = float(correct[:, j].sum() / seen) if seen else math.nan
        if not seen:
            notes.append(f"identity {identity} never appears (mask empty in every frame): its accuracy is NaN")
    frames = present.any(axis=1)
    frame_ok = (correct | ~present).all(axis=1) & frames
    return ICResult(float(correct.sum() / present.sum()), float(frame_ok.sum() / frames.sum()), per_identity,
                    assignment, similarity, tuple(notes))
