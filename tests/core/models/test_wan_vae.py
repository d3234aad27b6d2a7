"""The Wan VAE codec: diffusers folders load exactly, latents are normalised, wrong files are refused."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.wan_vae import load_wan_vae
from diffusers import AutoencoderKLWan
from safetensors.torch import save_file


def test_folder_round_trip_and_normalisation(tmp_path):
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                           latents_mean=[0.5] * 16, latents_std=[2.0] * 16).eval()
    vae.save_pretrained(tmp_path / "vae")
    codec = load_wan_vae(tmp_path / "vae" / "diffusion_pytorch_model.safetensors")  # config.json beside the file
    frames = torch.rand(5, 16, 16, 3)
    latent = codec.encode(frames)
    assert latent.shape == (1, 16, 2, 2, 2)
    with torch.no_grad():
        raw = vae.encode((frames * 2 - 1).permute(3, 0, 1, 2)[None]).latent_dist.mode()
    assert torch.allclose(latent, (raw - 0.5) / 2.0, atol=1e-5)
    decoded = codec.decode(latent)
    assert decoded.shape == (5, 16, 16, 3) and 0 <= float(decoded.min()) and float(decoded.max()) <= 1


def test_non_vae_file_is_refused(tmp_path):
    save_file({"blocks.0.ffn.0.weight": torch.zeros(2, 2)}, str(tmp_path / "t.safetensors"))
    with pytest.raises(InputError, match="not a VAE"):
        load_wan_vae(tmp_path / "t.safetensors")
