"""The network a run trains: a SCAIL-2 transformer loaded from a checkpoint, or a small one built from sizes."""
from __future__ import annotations

import torch
from torch import nn

from ..core.models.loading import DtypePolicy
from ..core.models.wan_arch import SCAIL2, WanArch
from ..core.models.wan_loader import build_wan, load_wan_transformer
from .config import ArchConfig, ModelConfig

TEXT_TOKENS = 512  # Wan pads prompts to 512 umT5 tokens (sampling.wan_prompt)
IMAGE_TOKENS = 257  # CLIP ViT-H penultimate layer


def tiny_arch(sizes: ArchConfig, variant: str = SCAIL2) -> WanArch:
    """A ``WanArch`` of the given sizes: SCAIL-2 (20 input + 28 mask channels) or Wan-I2V (36 input channels)."""
    scail = variant == SCAIL2
    return WanArch(variant=variant, dim=sizes.dim, in_channels=20 if scail else 36, out_channels=16,
                   num_layers=sizes.num_layers, ffn_dim=sizes.ffn_dim, text_dim=sizes.text_dim,
                   freq_dim=sizes.freq_dim, patch_size=(1, 2, 2), cross_attn_norm=True, image_dim=sizes.image_dim,
                   pos_embed_seq_len=None, mask_channels=28 if scail else None, head_dim=sizes.head_dim)


def build_model(config: ModelConfig, seed: int, variant: str = SCAIL2) -> nn.Module:
    """The checkpoint's network (float32, CPU) or a freshly initialised one (deterministic in ``seed``).

    Every parameter comes back trainable (the loader hands out frozen inference models); LoRA freezes the base
    itself when it injects its layers.
    """
    if config.checkpoint is not None:
        model = load_wan_transformer(config.checkpoint, DtypePolicy(torch.float32), expect=(variant,),
                                     input_name="model.checkpoint").model.requires_grad_(True)
    else:
        torch.manual_seed(seed)
        model = build_wan(tiny_arch(config.arch, variant))
    if config.gradient_checkpointing:
        model.enable_gradient_checkpointing()
    return model.float().train()


def empty_prompt(model: nn.Module, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Text and image tokens of an empty condition (zeros) in the shapes the network takes.

    Training here is prompt-free: identity comes from the reference and binding masks, not from text.
    """
    cfg = model.config
    text = torch.zeros(batch, TEXT_TOKENS, cfg.text_dim, device=device)
    image = None if cfg.image_dim is None else torch.zeros(batch, IMAGE_TOKENS, cfg.image_dim, device=device)
    return text, image
