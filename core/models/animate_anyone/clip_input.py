"""The CLIP image input exactly as Moore-AnimateAnyone's pipelines make it (golden-tested, SPEC §1.7).

Moore passes the PIL reference to transformers' default ``CLIPImageProcessor``: the shortest edge resized to the
encoder size (PIL bicubic on 8-bit pixels, the long edge ``int(size·long/short)``), a centre crop to ``size²``
(offsets ``(new − size) // 2``), ×1/255, CLIP mean/std. ``pipeline_pose2vid.py`` does only that (``"crop"``: a
non-square reference loses its ends); ``pipeline_pose2vid_long.py`` (``scripts/pose2vid.py``) first squashes the
image to ``size²`` with PIL bicubic, after which resize and crop are identities (``"squash"``). A torch bicubic
resize is a different filter (a = −0.75 vs PIL's −0.5) and moved the embeddings by ~0.4 against the release, so the
resize goes through PIL on the 8-bit image, as Moore's does.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_INPUT_MODES = ("crop", "squash")


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` in 0..1 → ``(H, W, 3)`` bytes (exact for frames that came from 8-bit images)."""
    return (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _short_edge_resize(picture: Image.Image, size: int) -> Image.Image:
    width, height = picture.size
    short, long = min(width, height), max(width, height)
    new_long = int(size * long / short)
    target = (size, new_long) if width <= height else (new_long, size)
    return picture if target == picture.size else picture.resize(target, Image.BICUBIC)


def _processed(picture: Image.Image, size: int) -> np.ndarray:
    array = np.asarray(_short_edge_resize(picture, size))
    top, left = (array.shape[0] - size) // 2, (array.shape[1] - size) // 2
    crop = array[top: top + size, left: left + size].astype(np.float64) * (1 / 255)
    crop = crop.astype(np.float32)
    mean, std = np.asarray(CLIP_MEAN, np.float32), np.asarray(CLIP_STD, np.float32)
    return ((crop - mean) / std).transpose(2, 0, 1)


def clip_pixels(image: torch.Tensor, size: int, mode: str = "crop") -> torch.Tensor:
    """``(N, 3, H, W)`` in 0..1 → CLIP pixel values ``(N, 3, size, size)`` on the input's device."""
    if mode not in CLIP_INPUT_MODES:
        raise ValueError(f"clip input mode must be one of {CLIP_INPUT_MODES}, got {mode!r}")
    out = []
    for frame in image:
        picture = Image.fromarray(_to_uint8(frame))
        if mode == "squash" and picture.size != (size, size):
            picture = picture.resize((size, size), Image.BICUBIC)
        out.append(torch.from_numpy(np.ascontiguousarray(_processed(picture, size))))
    return torch.stack(out).to(image.device)
