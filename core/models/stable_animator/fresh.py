"""Freshly initialised DanceTogether networks of chosen sizes: tiny CPU training runs from a clean checkout.

The default sizes are the tiny ones the tests use (UNet (32, 64) with cross-attention width 64, 2-person adapter
of width 32, a 1-layer face encoder, an SVD-style 8×-downsampling VAE of width 32, a 32-px CLIP with a 64-wide
projection). Every part is built exactly as the loaders build released weights (identity processors with
``id_to_k/v`` copied from ``to_k/v``, zero-initialised PoseNet projection and ``mask_proj``), so an export of a
fresh run loads through ``load_dance_together`` like a StableAnimator release.
"""
from __future__ import annotations

import torch

from .face_encoder import FaceEncoderConfig, FaceIdEncoder
from .loader import DanceTogetherModel
from .mask_pose import MaskPoseAdapter, MaskPoseConfig
from .unet import build_unet

TINY_UNET = {
    "block_out_channels": [32, 64], "down_block_types": ["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
    "up_block_types": ["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"], "num_attention_heads": [2, 4],
    "cross_attention_dim": 64, "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 24,
    "layers_per_block": 1, "in_channels": 8, "out_channels": 4, "num_frames": 16,
}
TINY_FACE = {"tokens": 4, "depth": 1, "ff_mult": 2}
TINY_VAE = {"block_out_channels": [32, 32, 32, 32], "down_block_types": ["DownEncoderBlock2D"] * 4,
            "layers_per_block": 1, "latent_channels": 4}
TINY_CLIP = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
             "image_size": 32, "patch_size": 16}
TINY_SIZES = {"unet": TINY_UNET, "people": 2, "mask_channels": 1, "face": TINY_FACE, "vae": TINY_VAE,
              "image_encoder": TINY_CLIP}


def new_dance_together(sizes: dict | None = None, seed: int = 0) -> DanceTogetherModel:
    """Fresh networks; ``sizes`` overrides keys of ``TINY_SIZES`` (``unet``/``vae``/``image_encoder`` are the
    diffusers/transformers config dicts, ``face`` the FaceEncoderConfig fields besides the widths)."""
    from diffusers import AutoencoderKLTemporalDecoder
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    s = {**TINY_SIZES, **(sizes or {})}
    width = s["unet"]["cross_attention_dim"]
    torch.manual_seed(seed)
    unet = build_unet(dict(s["unet"]))
    adapter = MaskPoseAdapter(MaskPoseConfig(channels=s["unet"]["block_out_channels"][0], people=s["people"],
                                             mask_channels=s["mask_channels"]))
    face = FaceIdEncoder(FaceEncoderConfig(width=width, clip_dim=width, **s["face"]))
    vae = AutoencoderKLTemporalDecoder(**s["vae"])
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**s["image_encoder"], projection_dim=width))
    return DanceTogetherModel(unet=unet, adapter=adapter, face_encoder=face, vae=vae.eval(),
                              image_encoder=clip.eval())
