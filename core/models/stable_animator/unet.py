"""The SVD-xt UNet with identity attention, and the one call that adds MaskPose features after ``conv_in``.

StableAnimator's UNet is diffusers' ``UNetSpatioTemporalConditionModel`` with ``sample + pose_latents`` right
after ``conv_in`` (SPEC §2.1). Rather than a copied forward, ``denoise_step`` adds the features through a forward
hook that exists only for the duration of that call, so the network stays the stock diffusers class.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionModel
from torch import nn

from .id_attention import install_identity_processors

# stabilityai/stable-video-diffusion-img2vid-xt unet/config.json (the manifest's config).
SVD_XT_UNET_CONFIG: dict = {
    "addition_time_embed_dim": 256, "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    "in_channels": 8, "layers_per_block": 2, "num_attention_heads": [5, 10, 20, 20], "num_frames": 25,
    "out_channels": 4, "projection_class_embeddings_input_dim": 768, "sample_size": 96,
    "transformer_layers_per_block": 1,
    "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
}
LATENT_CHANNELS = 4


def build_unet(config: dict | None = None, identity: bool = True) -> UNetSpatioTemporalConditionModel:
    """The UNet for ``config`` (SVD-xt by default) with identity processors; call in ``build_on_meta`` to
    allocate nothing."""
    unet = UNetSpatioTemporalConditionModel(**(config or SVD_XT_UNET_CONFIG))
    if identity:
        install_identity_processors(unet)
    return unet


def downsample_factor(unet: UNetSpatioTemporalConditionModel) -> int:
    """Latent sizes must be multiples of this (one halving per down block after the first)."""
    return 2 ** (len(unet.config.block_out_channels) - 1)


@contextmanager
def _added_after(module: nn.Module, features: torch.Tensor | None) -> Iterator[None]:
    if features is None:
        yield
        return
    handle = module.register_forward_hook(lambda _m, _i, out: out + features.to(out.dtype))
    try:
        yield
    finally:
        handle.remove()


def denoise_step(unet: UNetSpatioTemporalConditionModel, sample: torch.Tensor, timestep: torch.Tensor,
                 context: torch.Tensor, time_ids: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
    """UNet output for ``sample`` ``(B, F, 8, h, w)``; ``features`` ``(B·F, C, h, w)`` or None (no adapter).

    ``context`` ``(B, 1 + N·K, D)``: CLIP token then identity tokens; ``time_ids`` ``(B, 3)``.
    """
    if features is not None and features.shape[0] != sample.shape[0] * sample.shape[1]:
        raise ValueError(f"adapter features cover {features.shape[0]} frames, the sample {sample.shape[1]}")
    dtype = unet.conv_in.weight.dtype
    with _added_after(unet.conv_in, features):
        out = unet(sample.to(dtype), timestep, encoder_hidden_states=context.to(dtype),
                   added_time_ids=time_ids.to(dtype), return_dict=False)[0]
    return out.float()
