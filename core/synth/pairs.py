"""Reverse-driving triplets from the synthetic world (SCAIL-2 §3.2 "Reverse Driving"), at any scale.

SCAIL-2 trains end-to-end driving on triplets *(reference, driving video, target)* where the driving video shows
**other** characters performing **the same motion** as the target. The paper synthesises the driving video from a
real target with a pose-driven generator; here one choreography (layout, paths, joint angles) is simply drawn
twice: cast A is the driving video, cast B is the target, and the reference shows cast B. The pair is exact: no
generator error, swaps, crossings (full occlusions), exits and lookalikes included.

Environment by mode (the environment switch of SCAIL-2 §3.3 has something to learn only if it matters):

* ``animation``: the environment comes from the reference. Target and reference share background Y, the driving
  video shows background X.
* ``replacement``: the environment comes from the driving video. Driving and target share background X, the
  reference shows cast B over a third background Z.

API (issue-17's on-the-fly loader uses it; everything is a pure function of the seed)::

    from choreograph.core.synth.pairs import TripletSpec, make_triplet
    spec = TripletSpec(characters=(2, 2), frames=17, width=64, height=64, replacement_probability=0.25)
    triplet = make_triplet(seed, spec)               # numpy scenes: triplet.driving, triplet.target, .reference
    t = triplet.tensors()                            # torch, batch-free:
    t["reference"] (H,W,3) float 0..1   t["reference_masks"] (P,H,W) bool    cast B, neutral pose
    t["driving"] (T,H,W,3)              t["driving_masks"] (T,P,H,W) bool    cast A (visible masks)
    t["target"] (T,H,W,3)               t["target_masks"] (T,P,H,W) bool     cast B
    t["driving_keypoints"], t["target_keypoints"] (T,P,133,3) pixels + confidence; triplet.mode

Identity ``i`` of cast A drives identity ``i`` of cast B (same path). ``same_bodies`` (default) gives cast A the
heights and proportions of cast B, so the poses are identical and only appearance and background differ; with
``same_bodies=False`` cast A has its own bodies (same paths and joint angles, other limb lengths: cross-body-shape
driving), but a "cross" may then hide people differently.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import InputError
from .characters import Character, sample_cast
from .config import SceneConfig
from .dataset import MIXED, DatasetSpec
from .scene import Reference, Scene, plan_motion, render_scene, scene_background, scene_generators

MODES = ("animation", "replacement")
REPLACEMENT_PROBABILITY = 0.25  # MotionPair-60K: animation : replacement ≈ 3 : 1 (SCAIL-2 §3.2)


@dataclass(frozen=True)
class TripletSpec:
    """How triplets vary (the scene fields mean what they mean in ``core.synth.dataset.DatasetSpec``)."""

    characters: tuple[int, int] = (2, 3)
    frames: int = 17
    width: int = 64
    height: int = 64
    choreographies: tuple[str, ...] | str = MIXED
    background: str = MIXED
    lookalike_probability: float = 0.25
    fps: float = 24.0
    replacement_probability: float = REPLACEMENT_PROBABILITY
    same_bodies: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.replacement_probability <= 1:
            raise InputError("replacement_probability", f"{self.replacement_probability} is not in [0, 1]",
                             "use e.g. 0.25 (SCAIL-2's 3:1 animation to replacement)")
        self.scene_config(0)  # validates sizes and choreographies up front

    def scene_config(self, seed: int) -> SceneConfig:
        """The choreography and cast B of triplet ``seed`` (a ``DatasetSpec`` scene drawn from that seed)."""
        return DatasetSpec(scenes=1, seed=seed, frames=self.frames, width=self.width, height=self.height,
                           characters=self.characters, choreographies=self.choreographies,
                           background=self.background, lookalike_probability=self.lookalike_probability,
                           fps=self.fps).scene_config(0)


@dataclass(frozen=True)
class Triplet:
    """One reverse-driving training triplet: ``driving`` (cast A) and ``target`` (cast B) perform one motion;
    ``reference`` shows cast B; ``mode`` says where the environment comes from."""

    mode: str
    driving: Scene
    target: Scene
    reference: Reference

    def tensors(self) -> dict[str, torch.Tensor | str]:
        """The triplet as torch tensors (layouts in the module docstring)."""
        def rgb(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).float() / 255.0

        return {"mode": self.mode, "reference": rgb(self.reference.frame),
                "reference_masks": torch.from_numpy(self.reference.masks),
                "driving": rgb(self.driving.frames), "driving_masks": torch.from_numpy(self.driving.masks_visible),
                "target": rgb(self.target.frames), "target_masks": torch.from_numpy(self.target.masks_visible),
                "driving_keypoints": torch.from_numpy(self.driving.poses.keypoints),
                "target_keypoints": torch.from_numpy(self.target.poses.keypoints)}


def driving_cast(rng: np.random.Generator, target: tuple[Character, ...], lookalikes: int,
                 same_bodies: bool) -> tuple[Character, ...]:
    """Other people for the driving video: new looks; with ``same_bodies`` the target's heights and proportions."""
    cast = sample_cast(rng, len(target), lookalikes)
    if not same_bodies:
        return cast
    return tuple(replace(c, height=b.height, proportions=b.proportions) for c, b in zip(cast, target))


def make_triplet(seed: int, spec: TripletSpec = TripletSpec(), mode: str | None = None) -> Triplet:
    """Triplet ``seed``: its choreography, casts, backgrounds and mode (unless ``mode`` forces one) all follow
    from ``seed``; the same seed and spec give the same triplet."""
    config = spec.scene_config(seed)
    rngs = scene_generators(config.seed)
    extra = [np.random.default_rng(s) for s in np.random.SeedSequence([config.seed, 1]).spawn(4)]
    if mode is None:
        mode = MODES[int(extra[0].random() < spec.replacement_probability)]
    if mode not in MODES:
        raise InputError("mode", f"unknown mode {mode!r}", f"use one of {MODES}")
    cast_b = sample_cast(rngs["cast"], config.characters, config.lookalikes)
    cast_a = driving_cast(extra[1], cast_b, config.lookalikes, spec.same_bodies)
    motion = plan_motion(config, cast_b, rngs["layout"], rngs["paths"], rngs["motion"])
    target_background = scene_background(config, rngs["background"])
    other_background = scene_background(config, extra[2])
    driving_motion = motion
    if not spec.same_bodies:  # the same streams planned for cast A's bodies: same paths and angles, other limbs
        fresh = scene_generators(config.seed)
        driving_motion = plan_motion(config, cast_a, fresh["layout"], fresh["paths"], fresh["motion"])
    driving = render_scene(config, cast_a, driving_motion, other_background)
    if mode == "animation":
        target = render_scene(config, cast_b, motion, target_background)
    else:
        reference_background = scene_background(config, extra[3])
        target = render_scene(config, cast_b, motion, other_background, reference_background=reference_background)
    return Triplet(mode, driving, target, target.reference)
