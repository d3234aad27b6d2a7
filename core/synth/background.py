"""Backgrounds for a static camera: a plain colour, or a textured room (patterned wall over a tiled floor).

The textured room keeps colours desaturated so characters stay the most saturated things in the frame, and the
floor tiles converge towards the horizon of the scene's camera so the floor reads as a floor.
"""
from __future__ import annotations

import numpy as np

from .characters import hsv_to_rgb


def plain_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 of one muted colour."""
    colour = hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.2), rng.uniform(0.35, 0.85))
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()


def textured_background(rng: np.random.Generator, height: int, width: int, horizon: float) -> np.ndarray:
    """``(H, W, 3)`` uint8: wall with a soft wave pattern above ``horizon`` (pixels), perspective tiles below."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = np.array(hsv_to_rgb(rng.random(), rng.uniform(0.05, 0.25), rng.uniform(0.55, 0.85)), np.float32)
    floor = np.array(hsv_to_rgb(rng.random(), rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.6)), np.float32)
    period = rng.uniform(0.05, 0.12) * width
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * xs / period + 3 * np.sin(2 * np.pi * ys / (2.3 * period)))
    image = wall * (0.85 + 0.15 * wave)[..., None]
    below = np.maximum(ys - horizon, 1.0)
    depth = height / below  # ∝ floor distance along the view ray
    lateral = (xs - width / 2) / below
    tiles = (np.floor(depth * rng.uniform(0.8, 1.5)) + np.floor(lateral * rng.uniform(2.0, 4.0))) % 2
    floor_image = floor * (0.85 + 0.15 * tiles)[..., None]
    image = np.where((ys > horizon)[..., None], floor_image, image)
    grain = rng.normal(0, 4.0, size=(height, width, 1)).astype(np.float32)
    return np.clip(image + grain, 0, 255).astype(np.uint8)
