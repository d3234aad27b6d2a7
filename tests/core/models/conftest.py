"""Tiny Wan configurations and checkpoint files the model tests write for themselves."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from choreograph.core.models.wan_arch import I2V, SCAIL2, WanArch
from choreograph.core.models.wan_keys import diffusers_to_original
from choreograph.core.models.wan_loader import build_wan
from safetensors.torch import save_file

TINY_HEAD_DIM = 32


def tiny_arch(variant: str = SCAIL2) -> WanArch:
    scail = variant == SCAIL2
    return WanArch(variant=variant, dim=64, in_channels=20 if scail else 36, out_channels=16, num_layers=2,
                   ffn_dim=128, text_dim=32, freq_dim=32, patch_size=(1, 2, 2), cross_attn_norm=True, image_dim=24,
                   pos_embed_seq_len=None, mask_channels=28 if scail else None, head_dim=TINY_HEAD_DIM)


def tiny_model(variant: str = SCAIL2, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_wan(tiny_arch(variant)).eval()
    with torch.no_grad():  # diffusers zero-inits nothing here, but make every tensor distinctive anyway
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


def write_original(model: torch.nn.Module, path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """Save ``model`` the way ComfyUI files are named (original Wan keys, optional wrapper prefix)."""
    state = {prefix + diffusers_to_original(k): v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path))
    return state


@pytest.fixture
def scail_file(tmp_path: Path) -> tuple[torch.nn.Module, Path]:
    model = tiny_model(SCAIL2)
    path = tmp_path / "tiny_scail2.safetensors"
    write_original(model, path)
    return model, path


@pytest.fixture
def i2v_file(tmp_path: Path) -> tuple[torch.nn.Module, Path]:
    model = tiny_model(I2V)
    path = tmp_path / "tiny_i2v.safetensors"
    write_original(model, path, prefix="model.diffusion_model.")
    return model, path


@pytest.fixture
def make_tiny_model():
    """``make_tiny_model(variant, seed)`` → a tiny diffusers Wan network with distinctive random weights."""
    return tiny_model
