"""The AnimateAnyone networks as diffusers/transformers classes, with the Moore-AnimateAnyone parameter names.

* ReferenceNet: diffusers ``UNet2DConditionModel`` without ``conv_norm_out``/``conv_out`` (Moore removed them; only
  the attention features written to the bank are used).
* Denoising UNet: diffusers ``UNetMotionModel`` (SD1.5 spatial layers + AnimateDiff v2 motion modules). Moore's
  3-D UNet runs its spatial layers frame by frame and its motion modules after each resnet/attention pair in the same
  order, so the same weights give the same function; ``keys.py`` maps the names. One difference is patched: the
  motion modules' input GroupNorm. AnimateDiff/Moore normalise each frame on its own (``(b f) c h w``); diffusers'
  ``AnimateDiffTransformer3D`` normalises over all frames of the clip at once, which changes every output as soon
  as frames differ (and would make a frame's result depend on which context window it is in).
* PoseGuider / RefPoseGuider: Moore ``src/models/pose_guider.py`` architecture (SPEC §1.1): conv_in + SiLU, pairs of
  (same-width conv, stride-2 conv) each + SiLU, zero-initialised conv_out.
* VAE ``AutoencoderKL`` (sd-vae-ft-mse) and CLIP ``CLIPVisionModelWithProjection`` (sd-image-variations encoder).
"""
from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel, UNetMotionModel
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from .config import LATENT_CHANNELS, AnimateAnyoneConfig


class PoseGuider(nn.Module):
    """Skeleton image ``(N, 3, H, W)`` → features ``(N, 320, H/8, W/8)`` added after the UNet's ``conv_in``."""

    def __init__(self, embedding_channels: int, channels: tuple[int, ...], conditioning_channels: int = 3) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(conditioning_channels, channels[0], kernel_size=3, padding=1)
        blocks = []
        for c_in, c_out in pairwise(channels):
            blocks.append(nn.Conv2d(c_in, c_in, kernel_size=3, padding=1))
            blocks.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, stride=2))
        self.blocks = nn.ModuleList(blocks)
        self.conv_out = nn.Conv2d(channels[-1], embedding_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # zero-init: a new guider starts as "no change" (SPEC §1.1)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, conditioning: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.conv_in(conditioning))
        for block in self.blocks:
            x = F.silu(block(x))
        return self.conv_out(x)


class PerFrameGroupNorm(nn.GroupNorm):
    """GroupNorm that normalises each frame of a ``(B, C, F, H, W)`` video separately (AnimateDiff's motion norm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            return super().forward(x)
        b, c, f, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        return super().forward(frames).reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)


class ReferenceUNet(UNet2DConditionModel):
    """SD1.5 UNet2D with the output head removed; it runs only to fill the reference bank."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        del self.conv_norm_out, self.conv_out
        self.conv_norm_out = None  # diffusers skips the output norm when this is None
        self.conv_out = nn.Identity()


def unet_kwargs(config: AnimateAnyoneConfig) -> dict:
    """Constructor arguments shared by the ReferenceNet and the denoising UNet."""
    return {"in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS,
            "block_out_channels": config.block_out_channels, "layers_per_block": config.layers_per_block,
            "norm_num_groups": config.norm_num_groups, "cross_attention_dim": config.cross_attention_dim}


def build_reference_unet(config: AnimateAnyoneConfig) -> ReferenceUNet:
    return ReferenceUNet(**unet_kwargs(config), down_block_types=config.down_block_types,
                         up_block_types=config.up_block_types, attention_head_dim=config.attention_heads)


def build_denoising_unet(config: AnimateAnyoneConfig) -> UNetMotionModel:
    """SD1.5 UNet with motion modules in every block and in the mid block (AnimateDiff v2 layout)."""
    down = tuple(t.replace("2D", "Motion") for t in config.down_block_types)
    up = tuple(t.replace("2D", "Motion") for t in config.up_block_types)
    unet = UNetMotionModel(**unet_kwargs(config), down_block_types=down, up_block_types=up,
                           num_attention_heads=config.attention_heads, motion_num_attention_heads=config.motion_heads,
                           motion_max_seq_length=config.motion_max_frames, use_motion_mid_block=True)
    for name, module in unet.named_modules():
        if name.rsplit(".", 1)[-1] == "norm" and ".motion_modules." in name:
            module.__class__ = PerFrameGroupNorm  # same parameters, per-frame statistics
            module.num_groups = config.motion_norm_num_groups
    return unet


def build_pose_guider(config: AnimateAnyoneConfig) -> PoseGuider:
    return PoseGuider(config.block_out_channels[0], config.pose_guider_channels)


def build_vae(config: AnimateAnyoneConfig) -> AutoencoderKL:
    levels = len(config.vae_block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS,
                         block_out_channels=config.vae_block_out_channels,
                         layers_per_block=config.vae_layers_per_block,
                         norm_num_groups=config.vae_norm_num_groups,
                         down_block_types=("DownEncoderBlock2D",) * levels,
                         up_block_types=("UpDecoderBlock2D",) * levels)


def build_image_encoder(config: AnimateAnyoneConfig) -> CLIPVisionModelWithProjection:
    vision = CLIPVisionConfig(hidden_size=config.clip_hidden_size, num_hidden_layers=config.clip_layers,
                              num_attention_heads=config.clip_heads, intermediate_size=config.clip_intermediate_size,
                              image_size=config.clip_image_size, patch_size=config.clip_patch_size,
                              projection_dim=config.cross_attention_dim, hidden_act="quick_gelu")
    return CLIPVisionModelWithProjection(vision)
