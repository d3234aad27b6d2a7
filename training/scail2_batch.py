"""One SCAIL-2 training sample from a clip: target latent, in-context conditioning and the masks IMG needs.

As SCAIL-2 trains (§3.2–3.3): a **reverse-driving triplet** (a clip with a driving video of other characters doing
its motion) is driven end to end by the RGB driving video through the VAE, or — with probability
``1 − rgb_driving_probability``, animation mode only — by the IEG skeleton of the driving poses; a clip without a
driving video is driven by its own skeleton (SCAIL's pose-format data). The mode comes from the triplet
(animation: environment from the reference; replacement: from the driving video) and sets the environment switch
(driving mask on white, reference mask on black in replacement; the reverse in animation, official conventions
of ``core.conditioning.binding_slots``) and the mode-specific RoPE. Binding-slot colours come from the driving
video's and the reference's instance masks, permuted at random per sample (the "slot-hue permutation"), so no
colour is ever tied to a position or a person. The denoised video tokens carry no mask (no ground-truth signal).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..core.conditioning.binding_slots import (driving_background, driving_mask28, reference_background,
                                              reference_mask28, slot_colour_image)
from ..core.models.scail2 import ANIMATION, REPLACEMENT, Scail2Context
from ..core.render.palette import NUM_SLOTS
from ..core.render.skeleton import render_skeletons
from ..core.sampling.loop import VideoCodec
from ..core.sampling.scail2 import half_size
from .augment import scale_bones
from .dataset import Clip, ClipWindow, resize_window
from .pairs import sample_pair

CROP_SCALE = (0.8, 1.0)  # end-to-end driving augmentation: keep this fraction of each side, stretched back


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
    replacement_probability: float = 0.25  # share of batches drawn from replacement triplets (when there are any)
    rgb_driving_probability: float = 1.0  # animation triplets: RGB driving video, else the IEG skeleton
    driving_crop_probability: float = 0.3  # RGB driving in animation: random crop + stretch (SCAIL-2 §3.2)


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
    reference_pixels: torch.Tensor | None = None  # (B, H, W, 3) 0..1, for CLIP vision
    text: torch.Tensor | None = None  # (B, L, C) prompt embedding; None = zeros
    image: torch.Tensor | None = None  # (B, 257, C) CLIP tokens of the reference; None = no image context
    rgb_driving: torch.Tensor | None = None  # (B,) bool: driven by the RGB driving video (end to end)

    def to(self, device: torch.device) -> Scail2Sample:
        moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        moved["context"] = self.context.to(device)
        return Scail2Sample(**moved)


def pixels(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).float() / 255.0


def identity_slots(rng: np.random.Generator, people: int, permute: bool) -> np.ndarray:
    """Slot (colour) of each identity column: a random permutation (slot-hue augmentation) or left as 0..P−1."""
    return rng.permutation(NUM_SLOTS)[:people] if permute else np.arange(people)


def _last_of_groups(frames: int) -> list[int]:
    """Index of the last pixel frame behind each Wan latent frame: 0, 4, 8, …"""
    return list(range(0, frames, 4))


def pick_mode(rng: np.random.Generator, clips: list[Clip], replacement_probability: float) -> str:
    """The batch's mode (one per batch: the RoPE layout is shared): replacement with the configured probability
    when replacement triplets exist, animation when other clips exist."""
    modes = {c.meta.driving_mode or ANIMATION for c in clips}
    if modes == {REPLACEMENT}:
        return REPLACEMENT
    return REPLACEMENT if REPLACEMENT in modes and rng.random() < replacement_probability else ANIMATION


def pick_clips(rng: np.random.Generator, clips: list[Clip], mode: str, count: int) -> list[int]:
    """``count`` clip indices of ``mode`` (clips without a driving video count as animation)."""
    pool = [i for i, c in enumerate(clips) if (c.meta.driving_mode or ANIMATION) == mode]
    return [pool[int(k)] for k in rng.integers(len(pool), size=count)]


def clip_sample(clip: Clip, codec: VideoCodec, options: SampleOptions, rng: np.random.Generator) -> Scail2Sample:
    """A batch-of-one sample: a (reference frame, target window) pair from ``clip`` drawn with ``rng``."""
    a, b, swapped = sample_pair(rng, clip.meta.frames, options.frames, clip.meta.swap_pairs,
                                options.swap_probability, options.sample_margin)
    return pair_sample(clip, codec, options, rng, (a, b, swapped))


def crop_stretch(window: ClipWindow, rng: np.random.Generator) -> ClipWindow:
    """The window cropped to a random sub-box (``CROP_SCALE`` of each side, independently) and stretched back:
    SCAIL-2's "cropping and stretching" of end-to-end driving videos. Masks follow (nearest)."""
    t, h, w = window.frames.shape[:3]
    ch, cw = (max(2, int(round(n * rng.uniform(*CROP_SCALE)))) for n in (h, w))
    y0, x0 = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))

    def cut(images: np.ndarray, interpolation: int) -> np.ndarray:
        flat = images.reshape(-1, h, w, *images.shape[3:])[:, y0:y0 + ch, x0:x0 + cw]
        out = np.stack([cv2.resize(x.astype(np.uint8), (w, h), interpolation=interpolation) for x in flat])
        return out.reshape(images.shape).astype(images.dtype)

    masks = window.masks.reshape(t, -1, h, w).transpose(0, 2, 3, 1)  # channels last for cv2
    masks = cut(masks, cv2.INTER_NEAREST).transpose(0, 3, 1, 2).reshape(window.masks.shape)
    return ClipWindow(cut(window.frames, cv2.INTER_LINEAR), masks, window.face_masks, window.hand_masks,
                      window.poses)


def _reference(clip: Clip, options: SampleOptions, mode: str, frame: int) -> ClipWindow:
    """Animation: frame ``frame`` of the target (its scene is the one to keep). Replacement: the separate reference
    image when the clip has one (another background), else that frame, as SCAIL-2 samples it from the target."""
    separate = clip.reference() if mode == REPLACEMENT else None
    return resize_window(separate if separate is not None else clip.window([frame]), options.width, options.height)


def pair_sample(clip: Clip, codec: VideoCodec, options: SampleOptions, rng: np.random.Generator,
                pair: tuple[int, int, bool], driving: ClipWindow | None = None) -> Scail2Sample:
    """The sample for reference frame ``a`` and the window starting at ``b`` (slots, driving kind and augmentation
    from ``rng``). ``driving`` overrides the clip's own driving video (DPO conditions on a given V_d)."""
    a, b, swapped = pair
    frames = range(b, b + options.frames)
    mode = clip.meta.driving_mode or ANIMATION
    target = resize_window(clip.window(frames), options.width, options.height)
    reference = _reference(clip, options, mode, a)
    if driving is None and clip.meta.driving_mode is not None:
        driving = clip.driving_window(frames)
    rgb = driving is not None and (mode == REPLACEMENT or rng.random() < options.rgb_driving_probability)
    source = target if driving is None else resize_window(driving, options.width, options.height)
    return window_sample(target, reference, codec, options, rng, swapped, source, mode, rgb)


def window_sample(target: ClipWindow, reference: ClipWindow, codec: VideoCodec, options: SampleOptions,
                  rng: np.random.Generator, swapped: bool, source: ClipWindow | None = None,
                  mode: str = ANIMATION, rgb: bool = False) -> Scail2Sample:
    """The sample of a target window and a one-frame reference at the training size, driven by ``source``
    (the target itself by default; a driving video of other characters doing its motion in a reverse-driving
    triplet): its RGB frames when ``rgb``, else the IEG skeleton of its poses. Slots and augmentation from ``rng``."""
    source = target if source is None else source
    people = target.masks.shape[1]
    slots = identity_slots(rng, people, options.permute_slots)
    if rgb:
        if mode == ANIMATION and rng.random() < options.driving_crop_probability:
            source = crop_stretch(source, rng)
        driving_frames = source.frames
    else:
        poses = source.poses
        if rng.random() < options.bone_scaling_probability:
            poses = scale_bones(poses, rng)
        driving_frames = render_skeletons(poses, slots, options.width, options.height)
    driving_colours = np.stack([slot_colour_image(m, slots, driving_background(mode)) for m in source.masks])
    reference_colours = slot_colour_image(reference.masks[0], slots, reference_background(mode))
    reference_pixels = pixels(reference.frames)
    context = Scail2Context(reference=codec.encode(reference_pixels),
                            reference_mask=reference_mask28(reference_colours).unsqueeze(0),
                            driving=codec.encode(half_size(pixels(driving_frames))),
                            driving_mask=driving_mask28(driving_colours).unsqueeze(0), mode=mode)
    gen = torch.from_numpy(target.masks[_last_of_groups(options.frames)])
    return Scail2Sample(latent=codec.encode(pixels(target.frames)), context=context, gen_masks=gen[None],
                        ref_masks=torch.from_numpy(reference.masks[0])[None],
                        match=torch.arange(people)[None], swapped=torch.tensor([swapped]),
                        reference_pixels=reference_pixels, rgb_driving=torch.tensor([rgb]))


def prompted(prompt, sample: Scail2Sample, rng: np.random.Generator, clip_folder: Path | None) -> Scail2Sample:
    """``sample`` with the text and CLIP tokens a ``training.prompts.TrainingPrompt`` gives it (as the sampler
    passes them at inference); ``clip_folder`` may hold the clip's own prompt."""
    image = prompt.image(sample.reference_pixels)
    return dataclasses.replace(sample, text=prompt.text(rng, clip_folder), image=image)


def _cat(values: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if any(v is None for v in values) else torch.cat(values)


def collate(samples: list[Scail2Sample]) -> Scail2Sample:
    """Stack batch-of-one samples (same size, number of people and mode) along the batch axis."""
    people = {s.match.shape[1] for s in samples}
    if len(people) != 1:
        raise ValueError(f"samples in one batch have different numbers of people {sorted(people)}; use batch_size 1 "
                         "or clips with the same cast size")
    ctx = [s.context for s in samples]
    if len({c.mode for c in ctx}) != 1:
        raise ValueError("samples in one batch have different modes; draw one mode per batch (pick_mode)")
    context = Scail2Context(reference=torch.cat([c.reference for c in ctx]),
                            reference_mask=torch.cat([c.reference_mask for c in ctx]),
                            driving=torch.cat([c.driving for c in ctx]),
                            driving_mask=torch.cat([c.driving_mask for c in ctx]), mode=ctx[0].mode)
    fields = ("latent", "gen_masks", "ref_masks", "match", "swapped", "reference_pixels", "text", "image",
              "rgb_driving")
    stacked = {name: _cat([getattr(s, name) for s in samples]) for name in fields}
    return Scail2Sample(context=context, **stacked)
