"""SCAIL-2 conditioning from pixel inputs exactly as native ComfyUI's ``WanSCAILToVideo`` builds it.

Inputs at any size are centre-cropped and resized to the generation size (references bicubic, masks
nearest-exact, the pose video and its mask area-halved), references are encoded one by one (composited on black by
their masks in replacement mode), the pose video and mask are read from ``video_frame_offset`` on and truncated
jointly to 4k+1 frames, and ``previous_frames`` become clean history latents. ``encode`` is any VAE returning RAW
(un-normalised) latents ``(1, 16, n, H/8, W/8)``; ``process_in`` is the latent normalisation the model sees.
``Scail2Conditioning.model_inputs`` then gives what our transformer reads in the native mode.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import InputError
from ..models.scail2 import ANIMATION, GIVEN_MASK_CHANNELS, MODES, REPLACEMENT, Scail2Context
from ..models.wan_forward import NATIVE
from .scail2_native import center_resize, driving_mask28_native, extract_mask28
from .wan_grid import latent_frames

Encode = Callable[[torch.Tensor], torch.Tensor]
MASK_CHANNELS = 28


@dataclass(frozen=True)
class Scail2Inputs:
    """WanSCAILToVideo's inputs: ComfyUI IMAGE tensors ``(N, H, W, 3)`` in 0..1 (any size) and its settings."""

    width: int
    height: int
    length: int
    reference_images: torch.Tensor | None = None
    reference_masks: torch.Tensor | None = None
    pose_video: torch.Tensor | None = None
    pose_video_mask: torch.Tensor | None = None
    previous_frames: torch.Tensor | None = None
    previous_frame_count: int = 5
    video_frame_offset: int = 0
    mode: str = ANIMATION
    pose_strength: float = 1.0
    pose_start: float = 0.0
    pose_end: float = 1.0
    batch_size: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError("mode", f"unknown mode '{self.mode}'", "choose 'animation' or 'replacement'")
        if self.width % 16 or self.height % 16 or self.length < 1:
            raise InputError("width", f"{self.width}x{self.height}, {self.length} frames is not a SCAIL-2 size",
                             "use multiples of 16 and at least one frame")


@dataclass(frozen=True)
class Scail2Conditioning:
    """What WanSCAILToVideo puts in the conditioning and the latent (native layouts, RAW latents).

    ``reference_latents`` primary first, each ``(1, 16, 1, h, w)``; ``pose_latent`` ``(1, 16, Fp, hp, wp)``
    (already × pose_strength) active on ``pose_range``; ``driving_mask_28ch`` ``(1, Fp, 28, hp, wp)``;
    ``ref_mask_28ch`` ``(1, R + F, 28, h, w)``; ``latent`` ``(batch, 16, F, h, w)`` zeros with ``history_frames``
    clean previous-frame latents in front; ``video_frame_offset`` for the next call.
    """

    reference_latents: list[torch.Tensor]
    pose_latent: torch.Tensor | None
    driving_mask_28ch: torch.Tensor | None
    ref_mask_28ch: torch.Tensor | None
    latent: torch.Tensor
    history_frames: int
    video_frame_offset: int
    mode: str
    pose_range: tuple[float, float] = (0.0, 1.0)

    def noise_mask(self) -> torch.Tensor | None:
        """``(1, 1, F, h, w)``: 0 on history frames, 1 elsewhere; None without history."""
        if not self.history_frames:
            return None
        mask = torch.ones(1, 1, *self.latent.shape[2:])
        mask[:, :, : self.history_frames] = 0
        return mask

    def model_inputs(self, process_in: Callable[[torch.Tensor], torch.Tensor], with_pose: bool = True
                     ) -> tuple[torch.Tensor, Scail2Context]:
        """``(normalised latent, Scail2Context in native mode)``: references stacked ``[additional..., primary]``,
        masks swapped to ``(B, 28, F, h, w)``; ``with_pose`` False for steps outside ``pose_range``."""
        batch = self.latent.shape[0]
        refs = [_to_batch(process_in(r), batch) for r in self.reference_latents]
        r = len(refs)
        ref_masks = None if self.ref_mask_28ch is None else _to_batch(self.ref_mask_28ch[:, :r].movedim(1, 2), batch)
        pose = _to_batch(process_in(self.pose_latent), batch) if with_pose and self.pose_latent is not None else None
        drive_mask = None if self.driving_mask_28ch is None else _to_batch(self.driving_mask_28ch.movedim(1, 2),
                                                                           batch)
        context = Scail2Context(
            reference=refs[0] if refs else None,
            reference_mask=None if ref_masks is None else ref_masks[:, :, r - 1:r],
            driving=pose, driving_mask=drive_mask if pose is not None else None, mode=self.mode,
            extra_references=torch.cat(refs[1:], dim=2) if r > 1 else None,
            extra_reference_masks=ref_masks[:, :, : r - 1] if r > 1 and ref_masks is not None else None,
            history_frames=self.history_frames, compat=NATIVE)
        return process_in(self.latent), context

    def native_reference_latent(self, process_in: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor | None:
        """Native's ``reference_latent`` kwarg ``(1, 20, R, h, w)``: ``[refs[1:]..., refs[0]]`` with 4 ones."""
        if not self.reference_latents:
            return None
        order = self.reference_latents[1:] + self.reference_latents[:1]
        return torch.cat([_given(process_in(r)) for r in order], dim=2)

    def native_pose_latents(self, process_in: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor | None:
        return None if self.pose_latent is None else _given(process_in(self.pose_latent))


def _to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """Conditioning of batch 1 repeated to the latent's batch (as ComfyUI repeats conds)."""
    return tensor.expand(batch, *tensor.shape[1:]) if tensor.shape[0] == 1 and batch > 1 else tensor


def _given(latent: torch.Tensor) -> torch.Tensor:
    return torch.cat([latent, latent.new_ones(latent.shape[0], GIVEN_MASK_CHANNELS, *latent.shape[2:])], dim=1)


def _usable(frames: int) -> int:
    return (frames - 1) // 4 * 4 + 1


def _from_offset(video: torch.Tensor | None, offset: int) -> torch.Tensor | None:
    return None if video is None or video.shape[0] <= offset else video[offset:]


def _references(inputs: Scail2Inputs, encode: Encode) -> list[torch.Tensor]:
    if inputs.reference_images is None:
        return []
    images = center_resize(inputs.reference_images, inputs.width, inputs.height, "bicubic")
    if inputs.mode == REPLACEMENT and inputs.reference_masks is not None:
        masks = center_resize(inputs.reference_masks, inputs.width, inputs.height, "nearest-exact")
        keep = [(masks[min(i, masks.shape[0] - 1), ..., :3].amax(-1, keepdim=True) > 0.1).float()
                for i in range(images.shape[0])]
        images = torch.stack([image * k for image, k in zip(images, keep)])
    return [encode(image[None]) for image in images]


def _reference_masks(inputs: Scail2Inputs, count: int, video_frames: int) -> torch.Tensor | None:
    if inputs.reference_masks is None or not count:
        return None
    masks = center_resize(inputs.reference_masks, inputs.width, inputs.height, "nearest-exact")
    per = [extract_mask28(masks[min(i, masks.shape[0] - 1)][None], "reference_image_mask") for i in range(count)]
    ordered = per[1:] + per[:1]  # additional references first, the primary last (as the latents are stacked)
    zeros = torch.zeros(1, video_frames, MASK_CHANNELS, *ordered[0].shape[3:])
    return torch.cat(ordered + [zeros], dim=1)


def native_conditioning(inputs: Scail2Inputs, encode: Encode) -> Scail2Conditioning:
    """WanSCAILToVideo, step by step (see the module docstring)."""
    offset, previous = inputs.video_frame_offset, inputs.previous_frames
    if previous is not None:
        previous = previous[-inputs.previous_frame_count:] if inputs.previous_frame_count > 0 else previous[:0]
        offset = max(offset - previous.shape[0], 0)
    frames = latent_frames(inputs.length)
    latent = torch.zeros(inputs.batch_size, 16, frames, inputs.height // 8, inputs.width // 8)
    references = _references(inputs, encode)
    pose = _from_offset(inputs.pose_video, offset)
    pose_mask = _from_offset(inputs.pose_video_mask, offset)
    lengths = [v.shape[0] for v in (pose, pose_mask) if v is not None]
    kept = _usable(min(lengths + [inputs.length])) if lengths else 0
    half = (inputs.width // 2, inputs.height // 2)
    pose_latent = None
    if pose is not None:
        pose_latent = encode(center_resize(pose[:kept], *half, "area")) * inputs.pose_strength
    driving_mask = None if pose_mask is None else driving_mask28_native(pose_mask[:kept], inputs.width, inputs.height)
    history = 0
    if previous is not None and previous.shape[0]:
        encoded = encode(center_resize(previous, inputs.width, inputs.height, "bicubic"))
        history = min(encoded.shape[2], frames)
        latent[:, :, :history] = encoded[:, :, :history]
    return Scail2Conditioning(references, pose_latent, driving_mask,
                              _reference_masks(inputs, len(references), frames), latent, history,
                              offset + inputs.length, inputs.mode, (inputs.pose_start, inputs.pose_end))
