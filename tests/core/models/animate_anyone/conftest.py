"""Tiny AnimateAnyone networks with every weight made distinctive (the zero-initialised guiders included)."""
from __future__ import annotations

import pytest
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


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny convolutions are 10× slower when two threads fight other jobs for the two cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def models() -> AnimateAnyoneModels:
    return tiny_models()


def images(frames: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(frames, HEIGHT, WIDTH, 3, generator=generator)


@pytest.fixture(scope="session")
def make_models():
    return tiny_models


@pytest.fixture(scope="session")
def make_images():
    return images
