"""A procedural multi-character world with exact ground truth (issue 3): demo, training data, tests, benchmarks.

Public API (stable)::

    from choreograph.core.synth import SceneConfig, make_scene
    scene = make_scene(SceneConfig(characters=3, frames=48, width=256, height=256,
                                   choreography="dance+swap", seed=7))
    scene.frames          # (T, H, W, 3) uint8 RGB
    scene.poses           # PoseSequence: (T, P, 133, 3) pixels + confidence (0 = occluded / out of frame / absent),
                          #   track_ids = identity ids 0..P-1, depth = distance from camera (T, P)
    scene.visibility      # (T, P, 133) bool
    scene.masks_full, scene.masks_visible, scene.face_masks, scene.hand_masks   # (T, P, H, W) bool
    scene.boxes, scene.boxes_full        # (T, P, 4) float32 x0, y0, x1, y1 (visible / full), zeros when empty
    scene.present, scene.depth_order     # (T, P) bool; (T, P) int, 0 = nearest
    scene.characters      # tuple[Character]: looks and proportions per identity (lookalike_of for lookalikes)
    scene.reference       # Reference: frame (H, W, 3), poses (1 frame), masks / face_masks / hand_masks (P, H, W),
                          #   order (identity ids left → right)
    scene.swap_table      # ((frame, a, b), ...): a is left of b in the reference but right of it in that frame
    scene.swapped_frames, scene.visible_fraction, scene.lookalike_pairs, scene.visible_labels   # derived

On disk (``dataset.py``, format in ``docs/dataset_format.md``): ``write_dataset(DIR, DatasetSpec(...))``,
``load_dataset(DIR)`` → scene folders, ``load_scene(folder)`` → the identical ``Scene``. Command line:
``python -m choreograph synth --out DIR --scenes N --seed S`` (``--benchmark`` for frames/s).

Training pairs from the same world: ``core.synth.pairs.make_triplet(seed, TripletSpec(...))`` — reverse-driving
triplets (one choreography drawn with two casts; animation / replacement environments) — and
``core.synth.preferences.make_preference(seed, PreferenceSpec(...))`` — Bias-Aware DPO items (accurate vs
degraded hands, the renderer as generator).

Choreographies (compose with '+'): dance, swap, circle, cross (full occlusion), exit (and re-entry), fewer (target
has fewer characters than the reference), sizes (very different body sizes). Limits: 1–``MAX_CHARACTERS``
characters, sides multiples of ``RESOLUTION_MULTIPLE``. Deterministic by seed.
"""
from __future__ import annotations

from .characters import Character, Proportions
from .config import (
    BACKGROUNDS,
    CHOREOGRAPHIES,
    MAX_CHARACTERS,
    RESOLUTION_MULTIPLE,
    SceneConfig,
    parse_choreography,
)
from .scene import Reference, Scene, make_scene

__all__ = [
    "BACKGROUNDS", "CHOREOGRAPHIES", "MAX_CHARACTERS", "RESOLUTION_MULTIPLE", "Character", "Proportions",
    "Reference", "Scene", "SceneConfig", "make_scene", "parse_choreography",
]
