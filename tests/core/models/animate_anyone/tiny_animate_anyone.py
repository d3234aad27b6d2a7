"""Tiny AnimateAnyone networks with every weight made distinctive (the zero-initialised guiders included)."""
from __future__ import annotations

import torch
from choreograph.core.models.animate_anyone.config import TINY
from choreograph.core.models.animate_anyone.loader import AnimateAnyoneModels, new_models

HEIGHT, WIDTH = 16, 16  # pixels; the tiny VAE halves, the tiny UNet halves once more


def tiny_models(seed: int = 0) -> AnimateAnyoneModels:
    torch.manual_seed(seed)
    models = new_models(TINY)
    with torch.no_grad():
        for module in (models.pose_guider, models.ref_pose_guider):
            module.conv_out.weight.normal_(std=0.2)
        for module in (models.reference_unet, models.denoising_unet):
            for p in module.parameters():
                p.add_(torch.randn_like(p) * 0.02)  # diffusers zero-inits motion proj_out; make it matter
    return models


def images(frames: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(frames, HEIGHT, WIDTH, 3, generator=generator)
