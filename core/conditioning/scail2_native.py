"""Native ComfyUI's SCAIL-2 mask and image paths, reproduced exactly (``comfy_extras/nodes_scail.py``).

* ``center_resize``: ``comfy.utils.common_upscale(..., "center")`` — centre crop to the target aspect ratio, then
  torch's ``bicubic`` / ``area`` / ``nearest-exact`` / ``bilinear`` resize.
* ``extract_mask28``: ``_extract_mask_to_28ch`` for any frame size (area pooling to ``ceil(H/8)``).
* ``driving_mask28_native`` / ``reference_masks28_native``: WanSCAILToVideo's ``pose_video_mask`` (area-halved)
  and ``reference_image_mask`` (nearest-exact) paths.
* ``render_track_colour_masks``: ``SCAIL2ColoredMask`` on per-object tracker masks — identity i in palette colour
  i (blue, red, green, magenta, cyan, yellow, wrapping), the lowest index wins overlaps, official backgrounds.

Our own renderer (``binding_slots.colour_mask_video``) draws from tracked identities instead; both produce the
same colour contract, so either feeds either sampler.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from ..render.palette import NUM_SLOTS, SLOT_RGB
from .binding_slots import (MODES, as_colour_video, colour_codes, driving_background, pooled_channels,
                            reference_background, to_native_layout)
from .wan_grid import fold_time

RESIZE_METHODS = ("bicubic", "area", "nearest-exact", "bilinear")
SORT_ORDERS = ("none", "left_to_right", "area")


def center_resize(images: torch.Tensor, width: int, height: int, method: str) -> torch.Tensor:
    """``(N, H, W, C)`` → ``(N, height, width, C)``: crop the centre to the target aspect ratio (Python ``round``
    of the margin, as ComfyUI), then resize with torch ``interpolate`` (bicubic not clamped, no antialias)."""
    if method not in RESIZE_METHODS:
        raise InputError("method", f"unknown resize '{method}'", f"choose one of {RESIZE_METHODS}")
    x = images.movedim(-1, 1).float()
    old_h, old_w = x.shape[-2:]
    old_aspect, new_aspect = old_w / old_h, width / height
    if old_aspect > new_aspect:
        cut = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
        x = x[..., :, cut:old_w - cut]
    elif old_aspect < new_aspect:
        cut = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
        x = x[..., cut:old_h - cut, :]
    options = {"align_corners": False} if method in ("bicubic", "bilinear") else {}
    return F.interpolate(x, size=(height, width), mode=method, **options).movedim(1, -1)


def extract_mask28(video: torch.Tensor | np.ndarray, input_name: str = "mask video") -> torch.Tensor:
    """Native ``_extract_mask_to_28ch``: colour-mask video ``(T = 4k+1, H, W, 3)`` → ``(1, F, 28, ⌈H/8⌉, ⌈W/8⌉)``."""
    codes = colour_codes(as_colour_video(video, input_name))
    return to_native_layout(fold_time(pooled_channels(codes), input_name))


def driving_mask28_native(pose_video_mask: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """WanSCAILToVideo's ``driving_mask_28ch``: the mask video area-resized to half the generation size."""
    return extract_mask28(center_resize(pose_video_mask, width // 2, height // 2, "area"), "pose_video_mask")


def reference_masks28_native(reference_image_mask: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """``(1, N, 28, h, w)``: every reference mask image nearest-exact resized and extracted on its own."""
    masks = center_resize(reference_image_mask, width, height, "nearest-exact")
    return torch.cat([extract_mask28(m[None], "reference_image_mask") for m in masks], dim=1)


def _first_presence(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per object: the first frame it is present in (T if never) and its mask in that frame."""
    present = masks.reshape(masks.shape[0], masks.shape[1], -1).any(-1)  # (T, N)
    first = np.where(present.any(0), present.argmax(0), masks.shape[0])
    frames = np.stack([masks[min(f, masks.shape[0] - 1), n] for n, f in enumerate(first)]) if len(first) else \
        np.zeros((0,) + masks.shape[2:], bool)
    return first, frames


def sort_objects(masks: np.ndarray, sort_by: str) -> list[int]:
    """Object order of a track ``(T, N, H, W)``: tracker order, or by (first frame present, then centroid x or
    larger area in that frame); stable, objects never present last."""
    if sort_by not in SORT_ORDERS:
        raise InputError("sort_by", f"unknown order '{sort_by}'", f"choose one of {SORT_ORDERS}")
    n = masks.shape[1]
    if sort_by == "none" or n == 0:
        return list(range(n))
    first, frames = _first_presence(masks)
    height, width = masks.shape[2:]
    area = frames.reshape(n, -1).sum(-1) / float(height * width)
    cols = np.arange(width, dtype=np.float64)
    cx = np.array([(frames[i].sum(0) * cols).sum() / max(frames[i].sum(), 1) / width for i in range(n)])
    second = cx if sort_by == "left_to_right" else -area
    return sorted(range(n), key=lambda i: (int(first[i]), float(second[i])))


def select_objects(order: list[int], object_indices: str) -> list[int]:
    """``"2,0"`` picks (and reorders) positions of the sorted order; non-digits ignored, out of range dropped."""
    picks = [int(tok) for tok in "".join(c if c.isdigit() else " " for c in object_indices).split()]
    return [order[i] for i in picks if i < len(order)] if picks else order


def _label_video(masks: np.ndarray, order: list[int], size: tuple[int, int]) -> np.ndarray:
    """``(T, H, W)`` identity index per pixel (-1 background) with the lowest index on top, nearest-resized."""
    labels = np.full((masks.shape[0],) + masks.shape[2:], -1, dtype=np.int64)
    for identity in reversed(range(len(order))):
        labels[masks[:, order[identity]] > 0] = identity
    if labels.shape[1:] != size:
        resized = F.interpolate(torch.from_numpy(labels)[:, None].double(), size=size, mode="nearest")
        labels = resized[:, 0].long().numpy()
    return labels


def _paint(labels: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    lut = np.array([background] + [SLOT_RGB[i % NUM_SLOTS] for i in range(max(int(labels.max()) + 1, 0))],
                   dtype=np.uint8)
    return lut[labels + 1]


def render_track_colour_masks(driving_masks: np.ndarray, orig_size: tuple[int, int], mode: str = "animation",
                              sort_by: str = "left_to_right", object_indices: str = "",
                              reference_masks: np.ndarray | None = None, plain_reference: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Native ``SCAIL2ColoredMask``: uint8 ``pose_video_mask`` ``(T, H, W, 3)`` and ``reference_image_mask``.

    ``driving_masks`` / ``reference_masks``: tracker masks ``(T, N, Hm, Wm)`` (same object order; each track is
    sorted by its own statistics, then ``object_indices`` selects); or ``plain_reference`` ``(B, H, W)``, one
    identity (blue) where ``> 0.5``; with neither, one background frame at ``orig_size``.
    """
    if mode not in MODES:
        raise InputError("mode", f"unknown mode '{mode}'", "choose 'animation' or 'replacement'")
    size = (int(orig_size[0]), int(orig_size[1]))
    drive = np.asarray(driving_masks) > 0
    order = select_objects(sort_objects(drive, sort_by), object_indices)
    pose_video_mask = _paint(_label_video(drive, order, size), driving_background(mode))
    ref_bg = reference_background(mode)
    if reference_masks is not None:
        ref = np.asarray(reference_masks) > 0
        ref_order = select_objects(sort_objects(ref, sort_by), object_indices)
        reference = _paint(_label_video(ref, ref_order, size), ref_bg)
    elif plain_reference is not None:
        plain = np.asarray(plain_reference, dtype=np.float32)
        reference = _paint(np.where(plain > 0.5, 0, -1), ref_bg)
    else:
        reference = np.empty((1,) + size + (3,), dtype=np.uint8)
        reference[...] = ref_bg
    return pose_video_mask, reference
