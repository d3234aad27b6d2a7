"""The Wan2.1 video VAE (diffusers ``AutoencoderKLWan``) from a ComfyUI file or diffusers folder, as a codec.

ComfyUI's ``wan_2.1_vae.safetensors`` uses the original Wan names; diffusers ships a converter for them. Its
renaming is read off by running it on placeholder meta tensors (names only, nothing is copied or allocated), and
the weights then go through the shared exact loader. ``WanVideoCodec`` hides the per-channel latent
normalisation (SPEC §0.2) so samplers only ever see normalised latents.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan
from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

from ..errors import InputError
from .checkpoint import CheckpointReader, open_checkpoint
from .loading import DtypePolicy, build_on_meta, load_weights

SPATIAL_FACTOR = 8
TEMPORAL_FACTOR = 4


def original_vae_name_map(keys: list[str]) -> dict[str, str]:
    """Original-Wan VAE name → diffusers name, as diffusers' own converter renames them."""
    placeholders = {k: torch.empty(0, device="meta") for k in keys}
    converted = convert_wan_vae_to_diffusers(dict(placeholders))
    by_id = {id(t): k for k, t in placeholders.items()}
    return {by_id[id(t)]: new for new, t in converted.items() if id(t) in by_id}


def _is_original_vae(reader: CheckpointReader) -> bool:
    return "encoder.conv1.weight" in reader or "conv1.weight" in reader


def load_wan_vae(path: str | Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                 input_name: str = "vae file") -> WanVideoCodec:
    """Load the Wan2.1 VAE; a diffusers folder brings its own config, a ComfyUI file is the standard Wan2.1 VAE."""
    reader = open_checkpoint(path, input_name)
    try:
        if not any(k.startswith(("encoder.", "decoder.")) for k in reader):
            raise InputError(input_name, f"'{reader.name}' is not a VAE checkpoint",
                             "choose the Wan2.1 VAE (wan_2.1_vae.safetensors) from models/vae")
        config = {k: v for k, v in (reader.config or {}).items() if not k.startswith("_")}
        model = build_on_meta(lambda: AutoencoderKLWan(**config))
        mapping = original_vae_name_map(reader.keys()) if _is_original_vae(reader) else {}
        load_weights(model, reader, lambda k: mapping.get(k, k), DtypePolicy(dtype, "upcast"), device, input_name)
        model.to(device)
        if torch.device(device).type == "cuda":
            model.enable_tiling()  # 81 frames at 720p do not fit untiled on consumer GPUs
    finally:
        reader.close()
    return WanVideoCodec(model)


@dataclass
class WanVideoCodec:
    """Pixels ``(T,H,W,3)`` in 0..1 ⇄ normalised latents ``(1,16,F,h,w)`` with ``T = 4(F−1)+1``."""

    vae: AutoencoderKLWan

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.vae.config
        mean = torch.tensor(cfg.latents_mean, device=like.device, dtype=like.dtype).view(1, -1, 1, 1, 1)
        std = torch.tensor(cfg.latents_std, device=like.device, dtype=like.dtype).view(1, -1, 1, 1, 1)
        return mean, std

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """Posterior mean, normalised ``(z − mean)/std`` as Wan's ``WanVAE.encode`` returns it."""
        video = (frames.to(self.device, self.dtype) * 2 - 1).permute(3, 0, 1, 2).unsqueeze(0)
        latent = self.vae.encode(video).latent_dist.mode()
        mean, std = self._stats(latent)
        return ((latent - mean) / std).float()

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Frames ``(T,H,W,3)`` float32 in 0..1 from a normalised latent ``(1,16,F,h,w)``."""
        latent = latent.to(self.device, self.dtype)
        mean, std = self._stats(latent)
        video = self.vae.decode(latent * std + mean).sample
        return ((video[0].permute(1, 2, 3, 0).float() + 1) / 2).clamp(0, 1).cpu()
