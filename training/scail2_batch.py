"""One SCAIL-2 training sample from a clip: target latent, in-context conditioning and the masks IMG needs.

The driving input is the identity-coloured skeleton of the target window (IEG palette) and the binding-slot
colour masks come from the tracked instance masks, so the network learns to bind each reference person to the
driving person sharing their slot. Slots are permuted at random per sample (the "slot-hue permutation"), so no
colour is ever tied to a position or a person.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.conditioning.binding_slots import (driving_background, driving_mask28, reference_background,
                                              reference_mask28, slot_colour_image)
from ..core.models.scail2 import ANIMATION, Scail2Context
from ..core.pose.sequence import PoseSequence
from ..core.render.palette import NUM_SLOTS
from ..core.render.skeleton import render_skeletons
from ..core.sampling.loop import VideoCodec
from ..core.sampling.scail2 import half_size
from .augment import scale_bones
from .dataset import Clip, ClipWindow, resize_window
from .pairs import sample_pair


@dataclass(frozen=True)
class SampleOptions:
    """How samples are cut: frames per window (4k+1), training size, swap oversampling, augmentations."""

    frames: int
    width: int
    height: int
    swap_probability: float = 0.5
    sample_margin: int = 30
    permute_slots: bool = True
    bone_scaling_probability: float = 0.3


@dataclass(frozen=True)
class Scail2Sample:
    """``latent`` ``(B,16,F,h,w)``; ``context``; IMG masks at pixel resolution: ``gen_masks`` ``(B,F,P,H,W)``
    (the last pixel frame of each latent frame) and ``ref_masks`` ``(B,P,H,W)``; ``match`` ``(B,P)`` reference
    column of each generated column; ``swapped`` ``(B,)`` whether the pair came from the swap table."""

    latent: torch.Tensor
    context: Scail2Context
    gen_masks: torch.Tensor
    ref_masks: torch.Tensor
    match: torch.Tensor
    swapped: torch.Tensor

    def to(self, device: torch.device) -> Scail2Sample:
        return Scail2Sample(self.latent.to(device), self.context.to(device), self.gen_masks.to(device),
                            self.ref_masks.to(device), self.match.to(device), self.swapped.to(device))


def pixels(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).float() / 255.0


def identity_slots(rng: np.random.Generator, people: int, permute: bool) -> np.ndarray:
    """Slot (colour) of each identity column: a random permutation (slot-hue augmentation) or left as 0..P−1."""
    return rng.permutation(NUM_SLOTS)[:people] if permute else np.arange(people)


def _last_of_groups(frames: int) -> list[int]:
    """Index of the last pixel frame behind each Wan latent frame: 0, 4, 8, …"""
    return list(range(0, frames, 4))


def clip_sample(clip: Clip, codec: VideoCodec, options: SampleOptions, rng: np.random.Generator) -> Scail2Sample:
    """A batch-of-one sample: a (reference frame, target window) pair from ``clip`` drawn with ``rng``."""
    a, b, swapped = sample_pair(rng, clip.meta.frames, options.frames, clip.meta.swap_pairs,
                                options.swap_probability, options.sample_margin)
    return pair_sample(clip, codec, options, rng, (a, b, swapped))


def pair_sample(clip: Clip, codec: VideoCodec, options: SampleOptions, rng: np.random.Generator,
                pair: tuple[int, int, bool]) -> Scail2Sample:
    """The sample for reference frame ``a`` and the window starting at ``b`` (slots and augmentation from ``rng``)."""
    a, b, swapped = pair
    target = resize_window(clip.window(range(b, b + options.frames)), options.width, options.height)
    reference = resize_window(clip.window([a]), options.width, options.height)
    return window_sample(target, reference, codec, options, rng, swapped)


def window_sample(target: ClipWindow, reference: ClipWindow, codec: VideoCodec, options: SampleOptions,
                  rng: np.random.Generator, swapped: bool, driving_poses: PoseSequence | None = None
                  ) -> Scail2Sample:
    """The sample of a target window and a one-frame reference, both at the training size.

    ``driving_poses`` (same identities and frames as ``target``) replace the target's own poses as the driving
    skeletons, e.g. another cast performing the same choreography; by default the target's poses drive."""
    people = target.masks.shape[1]
    slots = identity_slots(rng, people, options.permute_slots)
    driving_poses = target.poses if driving_poses is None else driving_poses
    if rng.random() < options.bone_scaling_probability:
        driving_poses = scale_bones(driving_poses, rng)
    driving = render_skeletons(driving_poses, slots, options.width, options.height)
    driving_colours = np.stack([slot_colour_image(m, slots, driving_background(ANIMATION)) for m in target.masks])
    reference_colours = slot_colour_image(reference.masks[0], slots, reference_background(ANIMATION))
    context = Scail2Context(reference=codec.encode(pixels(reference.frames)),
                            reference_mask=reference_mask28(reference_colours).unsqueeze(0),
                            driving=codec.encode(half_size(pixels(driving))),
                            driving_mask=driving_mask28(driving_colours).unsqueeze(0), mode=ANIMATION)
    gen = torch.from_numpy(target.masks[_last_of_groups(options.frames)])
    return Scail2Sample(latent=codec.encode(pixels(target.frames)), context=context, gen_masks=gen[None],
                        ref_masks=torch.from_numpy(reference.masks[0])[None],
                        match=torch.arange(people)[None], swapped=torch.tensor([swapped]))


def collate(samples: list[Scail2Sample]) -> Scail2Sample:
    """Stack batch-of-one samples (same size and number of people) along the batch axis."""
    people = {s.match.shape[1] for s in samples}
    if len(people) != 1:
        raise ValueError(f"samples in one batch have different numbers of people {sorted(people)}; use batch_size 1 "
                         "or clips with the same cast size")
    ctx = [s.context for s in samples]
    context = Scail2Context(reference=torch.cat([c.reference for c in ctx]),
                            reference_mask=torch.cat([c.reference_mask for c in ctx]),
                            driving=torch.cat([c.driving for c in ctx]),
                            driving_mask=torch.cat([c.driving_mask for c in ctx]), mode=ctx[0].mode)
    return Scail2Sample(torch.cat([s.latent for s in samples]), context,
                        torch.cat([s.gen_masks for s in samples]), torch.cat([s.ref_masks for s in samples]),
                        torch.cat([s.match for s in samples]), torch.cat([s.swapped for s in samples]))
