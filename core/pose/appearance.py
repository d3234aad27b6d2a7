"""A colour descriptor of a person's clothing, so tracking can tell apart two people whose skeletons cross.

Skeletons alone are ambiguous when two people of the same size swap places behind each other; their clothes
usually are not. The descriptor is a normalised hue–saturation histogram of the torso and upper legs (the region
least covered by other people's arms and least changed by lighting on the face), compared by the Bhattacharyya
distance. Cheap on CPU, and robust to the small misalignments of pose-derived boxes.
"""
from __future__ import annotations

import cv2
import numpy as np

from .wholebody import BODY

HUE_BINS, SAT_BINS = 16, 4
MIN_REGION_PIXELS = 16


def person_region(keypoints: np.ndarray, min_confidence: float) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` box of the visible body points shrunk towards the centre (so it holds clothing, not
    background), or None when fewer than two body points are visible."""
    body = keypoints[BODY]
    seen = body[:, 2] > min_confidence
    if seen.sum() < 2:
        return None
    xy = body[seen, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 4.0) * 0.7
    return float(centre[0] - half[0]), float(centre[1] - half[1]), float(centre[0] + half[0]), float(centre[1] + half[1])


def appearance_descriptor(image: np.ndarray, keypoints: np.ndarray, canvas: tuple[int, int],
                          min_confidence: float = 0.3) -> np.ndarray | None:
    """Normalised ``HUE_BINS × SAT_BINS`` histogram of the person's region in ``image`` (uint8 or float 0..1
    RGB, any size: pose coordinates on a ``canvas = (width, height)`` are scaled to it); None if not visible."""
    box = person_region(keypoints, min_confidence)
    if box is None:
        return None
    h, w = image.shape[:2]
    sx, sy = w / canvas[0], h / canvas[1]
    x0, x1 = int(np.clip(box[0] * sx, 0, w)), int(np.clip(np.ceil(box[2] * sx), 0, w))
    y0, y1 = int(np.clip(box[1] * sy, 0, h)), int(np.clip(np.ceil(box[3] * sy), 0, h))
    if (x1 - x0) * (y1 - y0) < MIN_REGION_PIXELS:
        return None
    crop = image[y0:y1, x0:x1]
    if crop.dtype != np.uint8:
        crop = (np.clip(crop, 0.0, 1.0) * 255).astype(np.uint8)
    hsv = cv2.cvtColor(np.ascontiguousarray(crop[..., :3]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SAT_BINS], [0, 180, 0, 256]).reshape(-1)
    total = hist.sum()
    return (hist / total).astype(np.float32) if total > 0 else None


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya distance in ``[0, 1]`` between two descriptors; 0.5 (no evidence either way) if one is
    missing."""
    if a is None or b is None:
        return 0.5
    coefficient = float(np.sum(np.sqrt(a * b)))
    return float(np.sqrt(max(0.0, 1.0 - coefficient)))
