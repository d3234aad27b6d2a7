"""SCAIL-2 training samples rendered on the fly from the synthetic world: a new cast for every sample.

Why: a small model trained on a fixed set of scenes memorises their casts and paints people by position; with a
fresh cast (colours, textures, body shapes, lookalike pairs, backgrounds) in every sample the only way to draw the
right person is to read the reference through its binding slot. Scenes are cheap to render at training size
(≈ 1–2 ms a frame at 128 px), so nothing is written to disk.

Every draw comes from the step's generator, so a batch is a pure function of ``(seed, step, process)`` and resume
stays exact. Scene seeds are drawn at or above ``FIRST_TRAINING_SEED``: the demo and benchmark scenes (seeds 2026,
4000–4003, 5000–5007) can never be training scenes.

The driving skeletons are the target's own poses, or — with ``reverse_driving_probability`` — those of a
reverse-driving triplet (``core.synth.pairs``): the same choreography performed by another cast with other
bodies, so the skeleton's proportions never give the target's identity away and only the reference can.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.models.scail2 import ANIMATION
from ..core.pose.sequence import PoseSequence
from ..core.sampling.loop import VideoCodec
from ..core.synth import Scene, SceneConfig, make_scene
from ..core.synth.pairs import TripletSpec, make_triplet
from .config import StreamConfig
from .dataset import ClipWindow, centroids_x, swaps_from_centroids
from .pairs import sample_pair
from .scail2_batch import SampleOptions, Scail2Sample, collate, prompted, window_sample

FIRST_TRAINING_SEED = 1_000_000


def scene_config(stream: StreamConfig, options: SampleOptions, rng: np.random.Generator) -> SceneConfig:
    """A random scene of the stream's distribution at the training size."""
    choreography = stream.choreographies[int(rng.integers(len(stream.choreographies)))]
    textured = rng.random() < stream.textured_probability
    lookalikes = int(rng.random() < stream.lookalike_probability) if stream.characters >= 2 else 0
    return SceneConfig(characters=stream.characters, frames=stream.scene_frames, width=options.width,
                       height=options.height, choreography=choreography, speed=float(rng.uniform(*stream.speed)),
                       background="textured" if textured else "plain", lookalikes=lookalikes, fps=stream.fps,
                       seed=int(rng.integers(FIRST_TRAINING_SEED, 2**62)))


def scene_window(scene: Scene, frames: range | list[int]) -> ClipWindow:
    """Pixels, visible / face / hand masks and poses of the listed frames of an in-memory scene."""
    index = np.asarray(frames)
    poses = scene.poses
    depth = None if poses.depth is None else poses.depth[index]
    return ClipWindow(scene.frames[index], scene.masks_visible[index], scene.face_masks[index],
                      scene.hand_masks[index],
                      PoseSequence(poses.keypoints[index], poses.track_ids, poses.width, poses.height, poses.fps,
                                   depth))


def reference_window(scene: Scene) -> ClipWindow:
    """The scene's reference image (whole cast standing, reference order) as a one-frame window."""
    ref = scene.reference
    empty = np.zeros_like(ref.masks)
    face = empty if ref.face_masks is None else ref.face_masks
    hands = empty if ref.hand_masks is None else ref.hand_masks
    return ClipWindow(ref.frame[None], ref.masks[None], face[None], hands[None], ref.poses)


def reference_image_pair(scene: Scene, window: int, beta: float, rng: np.random.Generator) -> tuple[int, bool]:
    """First target frame for the scene's reference image: with probability ``beta`` a window holding frames
    where people have changed sides since the reference (when the scene has any); whether it holds such frames."""
    swapped = scene.swapped_frames
    starts = np.arange(len(swapped) - window + 1)
    holds = np.array([swapped[b:b + window].any() for b in starts])
    if holds.any() and rng.random() < beta:
        b = int(rng.choice(starts[holds]))
    else:
        b = int(rng.integers(len(starts)))
    return b, bool(holds[b])


def reverse_driving_scenes(config: SceneConfig, stream: StreamConfig) -> tuple[Scene, Scene]:
    """(target, driving) of a reverse-driving triplet like ``config``: one choreography, the driving cast with
    other looks and other bodies (animation mode: the target keeps its own background)."""
    spec = TripletSpec(characters=(config.characters, config.characters), frames=config.frames,
                       width=config.width, height=config.height, choreographies=stream.choreographies,
                       background=config.background, lookalike_probability=stream.lookalike_probability,
                       fps=config.fps, same_bodies=False)
    triplet = make_triplet(config.seed, spec, mode=ANIMATION)
    return triplet.target, triplet.driving


class SyntheticStream:
    """Samples of fresh synthetic scenes for the SCAIL-2 objective (its ``make_batch`` when ``data.stream`` is
    set)."""

    def __init__(self, stream: StreamConfig, options: SampleOptions, codec: VideoCodec) -> None:
        if stream.scene_frames < options.frames:
            raise ValueError(f"data.stream.scene_frames ({stream.scene_frames}) is shorter than data.frames "
                             f"({options.frames})")
        self.stream, self.options, self.codec = stream, options, codec

    def sample(self, rng: np.random.Generator) -> Scail2Sample:
        """One sample: a new scene, a (reference, target window) pair, slots and augmentation, all from ``rng``."""
        opts = self.options
        config = scene_config(self.stream, opts, rng)
        reverse = self.stream.reverse_driving_probability
        driving_scene = None
        if reverse > 0 and rng.random() < reverse:  # no draw at 0: earlier runs keep their batches
            scene, driving_scene = reverse_driving_scenes(config, self.stream)
        else:
            scene = make_scene(config)
        if rng.random() < self.stream.scene_reference_probability:
            b, swapped = reference_image_pair(scene, opts.frames, opts.swap_probability, rng)
            reference = reference_window(scene)
        else:
            pairs = swaps_from_centroids(centroids_x(scene.masks_visible))
            a, b, swapped = sample_pair(rng, scene.config.frames, opts.frames, pairs, opts.swap_probability,
                                        opts.sample_margin)
            reference = scene_window(scene, [a])
        frames = range(b, b + opts.frames)
        source = None if driving_scene is None else scene_window(driving_scene, frames)
        return window_sample(scene_window(scene, frames), reference, self.codec, opts, rng, swapped, source)


def stream_batch(stream: SyntheticStream, prompt, size: int, clips: list, rng: np.random.Generator) -> Scail2Sample:
    """A batch of ``size`` on-the-fly samples with their prompt tokens (``prompt``: a ``TrainingPrompt``); the
    ``(clips, rng) -> batch`` form the batch loader's worker processes call (``clips`` is empty)."""
    with torch.no_grad():
        return collate([prompted(prompt, stream.sample(rng), rng, None) for _ in range(size)])
