"""Pixels ⇄ latents for training: the Wan VAE for real runs, or the weight-free pixel codec for tiny models."""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.models.pixel_codec import PixelCodec
from ..core.sampling.loop import VideoCodec


def make_codec(vae: str | None, device: torch.device) -> VideoCodec:
    """``PixelCodec`` when ``vae`` is ``None`` or ``"pixel"``, else the Wan2.1 VAE file at that path (frozen)."""
    if vae in (None, "pixel"):
        return PixelCodec()
    from ..core.models.wan_vae import load_wan_vae

    return load_wan_vae(Path(vae), device=device, input_name="model.vae")
