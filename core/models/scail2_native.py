"""Native ComfyUI's SCAIL-2 model inputs ⇄ our ``Scail2Context`` (for interop and for testing against native).

Native's ``SCAIL2WanModel.forward`` takes ``x`` ``(B, 20, F, h, w)`` (noisy latent + 4 history-mask channels),
``reference_latent`` ``(B, 20, R, h, w)`` (``[additional refs..., primary]``, each with 4 channels of 1.0),
``pose_latents`` ``(B, 20, F, h/2, w/2)``, ``sam_latents`` ``(B, 28, F, h/2, w/2)``, ``ref_mask_latents``
``(B, 28, R+F, h, w)`` (one mask per reference frame, then zero frames for the video) and ``ref_mask_flag``
(True = animation). Absent inputs are simply not given.
"""
from __future__ import annotations

import torch

from .scail2 import ANIMATION, GIVEN_MASK_CHANNELS, REPLACEMENT, Scail2Context
from .wan_forward import NATIVE

LATENT_CHANNELS = 16


def _latent_part(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.shape[1] != LATENT_CHANNELS + GIVEN_MASK_CHANNELS or not bool((x[:, LATENT_CHANNELS:] == 1).all()):
        raise ValueError(f"{name} must be (B, 20, ...) with channels 16..19 all 1.0")
    return x[:, :LATENT_CHANNELS]


def history_frame_count(x: torch.Tensor) -> int:
    """Leading frames whose 4 history-mask channels are 1.0; the rest must be 0.0 (native ``c_concat``)."""
    mask = x[:, LATENT_CHANNELS:LATENT_CHANNELS + GIVEN_MASK_CHANNELS]
    ones = (mask == 1).flatten(3).all(-1).all(1).all(0)
    count = int(torch.cumprod(ones.int(), 0).sum())
    if bool(mask[:, :, count:].any()):
        raise ValueError("x's history mask (channels 16..19) is not 1.0 on leading frames and 0.0 after")
    return count


def context_from_native(x: torch.Tensor, reference_latent: torch.Tensor | None = None,
                        pose_latents: torch.Tensor | None = None, sam_latents: torch.Tensor | None = None,
                        ref_mask_latents: torch.Tensor | None = None, ref_mask_flag: bool | None = None
                        ) -> tuple[torch.Tensor, Scail2Context]:
    """``(noisy latent (B, 16, F, h, w), Scail2Context in native mode)`` from native's forward arguments."""
    mode = REPLACEMENT if ref_mask_flag is False else ANIMATION
    refs = None if reference_latent is None else _latent_part(reference_latent, "reference_latent")
    r = 0 if refs is None else refs.shape[2]
    masks = None
    if ref_mask_latents is not None and r:
        masks = ref_mask_latents[:, :, :r]
        if bool(ref_mask_latents[:, :, r:].any()):
            raise ValueError("ref_mask_latents must be zero on the video frames (after the R reference frames)")
    extra = r > 1
    context = Scail2Context(
        reference=None if refs is None else refs[:, :, r - 1:r],
        reference_mask=None if masks is None else masks[:, :, r - 1:r],
        driving=None if pose_latents is None else _latent_part(pose_latents, "pose_latents"),
        driving_mask=None if pose_latents is None else sam_latents,
        mode=mode,
        extra_references=refs[:, :, :r - 1] if extra else None,
        extra_reference_masks=masks[:, :, :r - 1] if extra and masks is not None else None,
        history_frames=history_frame_count(x), compat=NATIVE)
    return x[:, :LATENT_CHANNELS], context


def native_layout(mask28: torch.Tensor) -> torch.Tensor:
    """Model-kwarg layout ``(B, 28, F, h, w)`` → conditioning layout ``(B, F, 28, h, w)`` and back (a swap)."""
    return mask28.movedim(1, 2)
