"""One EverybodyDance sample from a clip (SPEC §1.5–1.6): a reference frame and the target frames (one in stage 1, a
window in stage 2), all with their identity-embedded skeletons (IEG), and the instance masks the IMG loss compares."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.render.skeleton import render_skeletons
from .dataset import Clip, resize_window
from .pairs import sample_pair
from .scail2_batch import SampleOptions, identity_slots, pixels


@dataclass(frozen=True)
class EdSample:
    """Pixels in 0..1: reference and reference IEG ``(B,H,W,3)``, target and target IEG ``(B·F,H,W,3)``
    (batch-major); masks of the target (generated, ``(B·F,P,H,W)``) and reference (``(B,P,H,W)``) characters;
    ``match`` ``(B,P)`` reference column of each target column."""

    reference: torch.Tensor
    reference_ieg: torch.Tensor
    target: torch.Tensor
    target_ieg: torch.Tensor
    gen_masks: torch.Tensor
    ref_masks: torch.Tensor
    match: torch.Tensor
    swapped: torch.Tensor

    def to(self, device: torch.device) -> EdSample:
        return EdSample(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def ed_sample(clip: Clip, options: SampleOptions, rng: np.random.Generator, frames: int = 1) -> EdSample:
    """A batch-of-one sample with ``frames`` target frames; swap pairs are drawn with probability β
    (pre-classified sampling)."""
    a, b, swapped = sample_pair(rng, clip.meta.frames, frames, clip.meta.swap_pairs, options.swap_probability,
                                options.sample_margin)
    reference = resize_window(clip.window([a]), options.width, options.height)
    target = resize_window(clip.window(range(b, b + frames)), options.width, options.height)
    slots = identity_slots(rng, len(clip.meta.ids), options.permute_slots)
    ieg = [render_skeletons(w.poses, slots, options.width, options.height) for w in (reference, target)]
    return EdSample(reference=pixels(reference.frames), reference_ieg=pixels(ieg[0]), target=pixels(target.frames),
                    target_ieg=pixels(ieg[1]), gen_masks=torch.from_numpy(target.masks),
                    ref_masks=torch.from_numpy(reference.masks), match=torch.arange(len(clip.meta.ids))[None],
                    swapped=torch.tensor([swapped]))


def collate_ed(samples: list[EdSample]) -> EdSample:
    """Stack batch-of-one samples (same size and cast size)."""
    if len({s.match.shape[1] for s in samples}) != 1:
        raise ValueError("samples in one batch have different numbers of people; use batch_size 1")
    return EdSample(*(torch.cat([getattr(s, f) for s in samples]) for f in EdSample.__dataclass_fields__))
