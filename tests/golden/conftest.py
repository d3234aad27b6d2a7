"""Tiny SCAIL-2 transformer and Wan VAE for running native inputs through our sampler."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.models.wan_arch import SCAIL2, WanArch
from choreograph.core.models.wan_loader import build_wan
from choreograph.core.models.wan_vae import WanVideoCodec
from diffusers import AutoencoderKLWan


@pytest.fixture(scope="session")
def tiny_scail2() -> torch.nn.Module:
    arch = WanArch(variant=SCAIL2, dim=64, in_channels=20, out_channels=16, num_layers=1, ffn_dim=64, text_dim=32,
                   freq_dim=32, patch_size=(1, 2, 2), cross_attn_norm=True, image_dim=24, pos_embed_seq_len=None,
                   mask_channels=28, head_dim=32)
    torch.manual_seed(0)
    return build_wan(arch).eval()


@pytest.fixture(scope="session")
def tiny_codec() -> WanVideoCodec:
    torch.manual_seed(0)
    return WanVideoCodec(AutoencoderKLWan(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1).eval())
