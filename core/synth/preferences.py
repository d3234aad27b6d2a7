"""Bias-Aware DPO preference items (SCAIL-2 §3.4, Appendix B) in the synthetic world, where the renderer is the
generator, so the whole post-training loop runs on a CPU.

Appendix B: a motion's accurate pose ``P`` (SDPose) drives generator ``G`` with reference ``I1`` → the driving video
``V_d`` and with reference ``I2`` → the preferred sample ``x_w``; a less accurate pose ``P'`` of the same motion
(ViTPose, or one more round of extraction) drives ``G`` with ``I2`` again → the dispreferred ``x_l``. Both share
reference and global motion, so they differ in finger articulation. Here ``P`` is the exact choreography, ``G``
the renderer, ``I1`` / ``I2`` two casts, and ``P'`` = ``degrade_hands(P)``: the estimator's finger errors as a
documented, configurable model (``HandDegradation``). Only hand keypoints move (wrists stay), and the renderer
draws a hand from its keypoints, so ``x_w`` and ``x_l`` differ only inside the hands' boxes.

API::

    item = make_preference(seed, PreferenceSpec(frames=17, width=64, height=64))
    item.driving (cast A, P) · item.win (cast B, P) · item.lose (cast B, P') — ``Scene`` values; item.lose.poses is P'
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..pose import wholebody as wb
from .characters import sample_cast
from .pairs import TripletSpec, driving_cast
from .scene import Motion, Scene, plan_motion, render_scene, scene_background, scene_generators

HAND_ROOTS = (wb.LEFT_HAND.start, wb.RIGHT_HAND.start)
HAND_POINTS = 21
MIDDLE_BASE = 9  # index of the middle finger's knuckle within a 21-point hand: the hand's size reference


@dataclass(frozen=True)
class HandDegradation:
    """How a less accurate estimator gets fingers wrong (all sizes relative to the hand: wrist → middle knuckle).

    probability: chance each hand of each person is degraded in a clip (otherwise left exact).
    jitter: std of the per-joint error, temporally smoothed over ``smooth_frames`` (mis-articulated fingers).
    collapse_probability / collapse: chance a degraded hand also has its fingers pulled ``collapse`` of the way
    to the palm centre (fingers "neglected", a closed blob instead of an open hand).
    """

    probability: float = 1.0
    jitter: float = 0.2
    smooth_frames: int = 3
    collapse_probability: float = 0.3
    collapse: float = 0.6

    def __post_init__(self) -> None:
        for name in ("probability", "collapse_probability", "collapse"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(name, f"{getattr(self, name)} is outside [0, 1]", "use a fraction")
        if self.jitter < 0 or self.smooth_frames < 1:
            raise InputError("jitter", "jitter must be ≥ 0 and smooth_frames ≥ 1", "e.g. jitter 0.2, 3 frames")


def _smoothed_noise(rng: np.random.Generator, frames: int, points: int, width: int) -> np.ndarray:
    """``(T, points, 2)`` Gaussian noise averaged over ``width`` frames (estimator errors drift, not flicker)."""
    raw = rng.normal(size=(frames + width - 1, points, 2))
    kernel = np.ones(width) / np.sqrt(width)
    return np.stack([np.apply_along_axis(lambda x: np.convolve(x, kernel, "valid"), 0, raw[..., k])
                     for k in range(2)], axis=-1)


def degrade_hands(keypoints: np.ndarray, rng: np.random.Generator,
                  model: HandDegradation = HandDegradation()) -> np.ndarray:
    """``(T, P, 133, C≥2)`` keypoints with the fingers of each hand degraded per ``model``; the hand root (wrist)
    and every non-hand point are unchanged, so the rest of the body renders identically."""
    out = keypoints.copy()
    frames, people = keypoints.shape[:2]
    for person in range(people):
        for root in HAND_ROOTS:
            if rng.random() >= model.probability:
                continue
            hand = keypoints[:, person, root:root + HAND_POINTS, :2]
            wrist = hand[:, :1]
            size = np.linalg.norm(hand[:, MIDDLE_BASE] - hand[:, 0], axis=-1)[:, None, None]
            fingers = hand[:, 1:] + model.jitter * size * _smoothed_noise(rng, frames, HAND_POINTS - 1,
                                                                            model.smooth_frames)
            if rng.random() < model.collapse_probability:
                palm = (wrist + hand[:, [5, 9, 13, 17]].mean(1, keepdims=True)) / 2
                fingers = fingers + model.collapse * (palm - fingers)
            out[:, person, root + 1:root + HAND_POINTS, :2] = fingers
    return out


@dataclass(frozen=True)
class PreferenceSpec:
    """Scenes as in ``TripletSpec`` (animation mode: the driving video has its own background) plus the
    degradation model of the dispreferred pose."""

    characters: tuple[int, int] = (2, 2)
    frames: int = 17
    width: int = 64
    height: int = 64
    choreographies: tuple[str, ...] | str = ("dance", "dance+swap", "dance+circle")
    background: str = "plain"
    degradation: HandDegradation = field(default_factory=HandDegradation)

    def triplets(self) -> TripletSpec:
        return TripletSpec(characters=self.characters, frames=self.frames, width=self.width, height=self.height,
                           choreographies=self.choreographies, background=self.background,
                           lookalike_probability=0.0, replacement_probability=0.0)


@dataclass(frozen=True)
class PreferenceItem:
    """``driving`` = G(I1, P) (the conditioning V_d), ``win`` = G(I2, P), ``lose`` = G(I2, P')."""

    driving: Scene
    win: Scene
    lose: Scene


def make_preference(seed: int, spec: PreferenceSpec = PreferenceSpec()) -> PreferenceItem:
    """Preference item ``seed`` (a pure function of seed and spec)."""
    config = spec.triplets().scene_config(seed)
    rngs = scene_generators(config.seed)
    extra = [np.random.default_rng(s) for s in np.random.SeedSequence([config.seed, 3]).spawn(3)]
    cast_b = sample_cast(rngs["cast"], config.characters, config.lookalikes)
    cast_a = driving_cast(extra[0], cast_b, config.lookalikes, True)
    motion = plan_motion(config, cast_b, rngs["layout"], rngs["paths"], rngs["motion"])
    background = scene_background(config, rngs["background"])
    degraded = Motion(**{**motion.__dict__, "keypoints": degrade_hands(motion.keypoints, extra[1], spec.degradation)})
    return PreferenceItem(driving=render_scene(config, cast_a, motion, scene_background(config, extra[2])),
                          win=render_scene(config, cast_b, motion, background),
                          lose=render_scene(config, cast_b, degraded, background))
