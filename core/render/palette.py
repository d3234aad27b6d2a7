"""Colours: the six binding-slot colours and the three skeleton palettes built on them.

One slot index per identity is decided by the identity map; the slot's pure colour is what SCAIL-2's binding
masks carry (SPEC §3.2) and its hue is what the identity-embedded skeleton uses (SPEC §0.5), so a skeleton, a
mask and a reference crop of the same person always share a colour.

Palettes:
* ``dwpose``: DWPose's own rainbow (identical for every person), for models trained on plain DWPose maps.
* ``ieg``: identity in hue, body side in saturation, proximal→distal in value (SPEC §0.5 table).
* ``lightness``: SCAIL v1's two-person scheme, one rainbow with person palettes told apart by lightness
  (pastel / saturated; zai-org/SCAIL-Pose ``render_multi_nlf_as_images``), alternating by slot parity.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from .limbs import HAND_EDGES, LIMBS, NECK, NUM_BODY18

PALETTES = ("ieg", "lightness", "dwpose")
NUM_SLOTS = 6

# Slot k = identity k + 1 in the official SCAIL-2 order (zai-org/SCAIL-Pose TrackSam3/track.py
# DEFAULT_PALETTE_BGR; native ComfyUI SCAIL2ColoredMask DEFAULT_PALETTE): blue, red, green, magenta, cyan, yellow.
# The released SCAIL-2 weights were trained on masks in this order, so slot 0 must be blue.
SLOT_HUES_DEG = (240.0, 0.0, 120.0, 300.0, 180.0, 60.0)
SLOT_NAMES = ("blue", "red", "green", "magenta", "cyan", "yellow")
SLOT_RGB = ((0, 0, 255), (255, 0, 0), (0, 255, 0), (255, 0, 255), (0, 255, 255), (255, 255, 0))

# DWPose's 18 body colours (RGB), used for limb i and joint i (SPEC §0.4).
DWPOSE_BODY_RGB = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
DWPOSE_HAND_JOINT_RGB = (0, 0, 255)
DWPOSE_FACE_RGB = (255, 255, 255)
LIMB_ATTENUATION = 0.6  # DWPose multiplies the limb layer by 0.6 before drawing joints.

# SCAIL v1 per-limb base colours (RGB) for the first (pastel) and second (saturated) person, in limb order;
# the renderer maps each through c/300 + 0.15 (zai-org/SCAIL-Pose NLFPoseExtract/nlf_render.py).
_SCAIL_PASTEL = (
    (255, 150, 150), (180, 230, 240), (255, 180, 140), (255, 215, 150), (160, 200, 255), (100, 120, 255),
    (200, 255, 100), (100, 255, 100), (140, 255, 180), (120, 140, 255), (180, 90, 255), (190, 120, 255),
    (210, 210, 210), (255, 120, 200), (130, 80, 255), (255, 120, 200), (130, 80, 255),
)
_SCAIL_SATURATED = (
    (255, 20, 20), (0, 230, 255), (255, 60, 0), (255, 110, 0), (0, 130, 255), (0, 70, 255),
    (160, 255, 40), (0, 255, 50), (0, 255, 100), (0, 0, 255), (80, 0, 255), (160, 0, 255),
    (130, 130, 130), (255, 0, 150), (60, 0, 255), (255, 0, 150), (60, 0, 255),
)

# SPEC §0.5 saturation / value per OpenPose-18 limb and joint.
_RIGHT, _LEFT, _HEAD_S = 1.0, 0.55, 0.30
_LIMB_SV = (
    (_RIGHT, 1.00), (_LEFT, 1.00), (_RIGHT, 0.85), (_RIGHT, 0.70), (_LEFT, 0.85), (_LEFT, 0.70),
    (_RIGHT, 0.90), (_RIGHT, 0.75), (_RIGHT, 0.60), (_LEFT, 0.90), (_LEFT, 0.75), (_LEFT, 0.60),
) + ((_HEAD_S, 1.0),) * 5
_JOINT_SV = {
    2: (_RIGHT, 1.00), 3: (_RIGHT, 0.85), 4: (_RIGHT, 0.70), 5: (_LEFT, 1.00), 6: (_LEFT, 0.85),
    7: (_LEFT, 0.70), 8: (_RIGHT, 0.90), 9: (_RIGHT, 0.75), 10: (_RIGHT, 0.60), 11: (_LEFT, 0.90),
    12: (_LEFT, 0.75), 13: (_LEFT, 0.60),
}
_HAND_JOINT_SV, _FACE_SV = (0.25, 1.0), (0.20, 1.0)
_FINGER_VALUE_STEP = 0.08


@dataclass(frozen=True)
class PartColours:
    """RGB colours (floats in 0..255, as DWPose hands them to OpenCV) for every drawn element of one person.

    ``limbs`` are the colours before the ×0.6 limb attenuation. Hands are indexed ``[side]`` with side 0 = the
    person's left hand (wholebody 91–111) and 1 = the right hand (112–132).
    """

    limbs: tuple[tuple[float, float, float], ...]
    joints: tuple[tuple[float, float, float], ...]
    hand_edges: tuple[tuple[tuple[float, float, float], ...], tuple[tuple[float, float, float], ...]]
    hand_joints: tuple[tuple[float, float, float], tuple[float, float, float]]
    face: tuple[float, float, float]


def _hsv(hue_deg: float, saturation: float, value: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(hue_deg / 360.0, saturation, value)
    return (r * 255.0, g * 255.0, b * 255.0)


def _as_float(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def _dwpose_hand_edges() -> tuple[tuple[float, float, float], ...]:
    """``HSV(e / 20, 1, 1)`` computed as a fraction of a turn, exactly as DWPose does."""
    rgb = (colorsys.hsv_to_rgb(e / float(len(HAND_EDGES)), 1.0, 1.0) for e in range(len(HAND_EDGES)))
    return tuple((r * 255.0, g * 255.0, b * 255.0) for r, g, b in rgb)


def dwpose_colours() -> PartColours:
    """DWPose's own drawing colours, the same for every person."""
    body = tuple(_as_float(c) for c in DWPOSE_BODY_RGB)
    edges = _dwpose_hand_edges()
    blue = _as_float(DWPOSE_HAND_JOINT_RGB)
    return PartColours(body[: len(LIMBS)], body[:NUM_BODY18], (edges, edges), (blue, blue),
                       _as_float(DWPOSE_FACE_RGB))


def ieg_colours(slot: int) -> PartColours:
    """SPEC §0.5: hue = the slot's hue, saturation = body side, value = proximal→distal."""
    hue = SLOT_HUES_DEG[check_slot(slot)]
    limbs = tuple(_hsv(hue, s, v) for s, v in _LIMB_SV)
    joints = tuple(_hsv(hue, *_JOINT_SV.get(j, (_HEAD_S, 1.0))) for j in range(NUM_BODY18))
    hands = tuple(
        tuple(_hsv(hue, side_s, 1.0 - _FINGER_VALUE_STEP * (e // 4)) for e in range(len(HAND_EDGES)))
        for side_s in (_LEFT, _RIGHT)
    )
    hand_joint = _hsv(hue, *_HAND_JOINT_SV)
    return PartColours(limbs, joints, (hands[0], hands[1]), (hand_joint, hand_joint), _hsv(hue, *_FACE_SV))


def lightness_colours(slot: int) -> PartColours:
    """SCAIL v1: even slots pastel, odd slots saturated; joints take the colour of the limb ending in them."""
    base = _SCAIL_PASTEL if check_slot(slot) % 2 == 0 else _SCAIL_SATURATED
    limbs = tuple(tuple(min(255.0, (c / 300.0 + 0.15) * 255.0) for c in rgb) for rgb in base)
    joint_limb = {b: i for i, (_, b) in enumerate(LIMBS)}
    joint_limb[NECK] = LIMBS.index((1, 0))
    joints = tuple(limbs[joint_limb[j]] for j in range(NUM_BODY18))
    plain = dwpose_colours()
    return PartColours(limbs, joints, plain.hand_edges, plain.hand_joints, plain.face)  # type: ignore[arg-type]


def part_colours(palette: str, slot: int) -> PartColours:
    """The colours of one identity in ``palette`` (one of ``PALETTES``)."""
    if palette == "ieg":
        return ieg_colours(slot)
    if palette == "lightness":
        return lightness_colours(slot)
    if palette == "dwpose":
        return dwpose_colours()
    raise ValueError(f"unknown palette {palette!r}; choose one of {PALETTES}")


def check_slot(slot: int) -> int:
    if not 0 <= int(slot) < NUM_SLOTS:
        raise ValueError(f"slot must be in 0..{NUM_SLOTS - 1}; got {slot}")
    return int(slot)


def slot_rgb(slot: int) -> np.ndarray:
    """The pure binding colour of ``slot`` as uint8 RGB."""
    return np.array(SLOT_RGB[check_slot(slot)], dtype=np.uint8)
