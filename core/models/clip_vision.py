"""CLIP vision (ViT-H/14, ComfyUI's ``clip_vision_h.safetensors``) for Wan's image context, without ComfyUI.

ComfyUI's file uses transformers' ``CLIPVisionModelWithProjection`` names, so the network is transformers' own,
sized from the checkpoint's shapes and filled by the shared exact loader. Wan reads the *penultimate* layer's
hidden states (257 × 1280, no final norm: Wan2.1 ``clip.py`` ``use_31_block``, ComfyUI
``penultimate_hidden_states``) of the image resized to 224 × 224 and normalised with CLIP's mean/std.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection

from ..errors import InputError
from .checkpoint import CheckpointReader, open_checkpoint
from .loading import DtypePolicy, build_on_meta, load_weights

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HEAD_DIM_BY_WIDTH = {1280: 80, 1024: 64, 768: 64}  # ViT-H/14, ViT-L/14, ViT-B
_IGNORED = ("vision_model.embeddings.position_ids",)  # a buffer older exports saved; recomputed by the model


def clip_vision_config(reader: CheckpointReader, heads: int | None = None) -> CLIPVisionConfig:
    """A transformers config sized from the checkpoint's tensor shapes."""
    shapes = reader.shapes()
    if "vision_model.embeddings.patch_embedding.weight" not in shapes:
        raise InputError("clip_vision", f"'{reader.name}' is not a CLIP vision checkpoint in transformers/ComfyUI "
                         "naming", "choose clip_vision_h.safetensors from models/clip_vision")
    width, _, patch, _ = shapes["vision_model.embeddings.patch_embedding.weight"]
    positions = shapes["vision_model.embeddings.position_embedding.weight"][0]
    layers = len({m.group(1) for k in shapes if (m := re.match(r"vision_model\.encoder\.layers\.(\d+)\.", k))})
    return CLIPVisionConfig(
        hidden_size=width, intermediate_size=shapes["vision_model.encoder.layers.0.mlp.fc1.weight"][0],
        num_hidden_layers=layers, num_attention_heads=heads or width // HEAD_DIM_BY_WIDTH.get(width, 64),
        patch_size=patch, image_size=round((positions - 1) ** 0.5) * patch, hidden_act="gelu",
        projection_dim=shapes.get("visual_projection.weight", (width,))[0])


@dataclass
class ClipVisionEncoder:
    """Image ``(H,W,3)`` in 0..1 → Wan's image tokens ``(1, 257, width)``."""

    model: CLIPVisionModel | CLIPVisionModelWithProjection

    @torch.no_grad()
    def encode(self, image: torch.Tensor) -> torch.Tensor:
        param = next(self.model.parameters())
        size = self.model.config.image_size
        x = image[..., :3].permute(2, 0, 1).unsqueeze(0).float()
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
        mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        pixels = ((x - mean) / std).to(param.device, param.dtype)
        out = self.model(pixel_values=pixels, output_hidden_states=True)
        return out.hidden_states[-2].float().cpu()


def load_clip_vision(path: str | Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                     heads: int | None = None) -> ClipVisionEncoder:
    """Load a CLIP vision tower (with or without ``visual_projection``) with the exact key check."""
    reader = open_checkpoint(path, "clip_vision")
    try:
        config = clip_vision_config(reader, heads)
        cls = CLIPVisionModelWithProjection if "visual_projection.weight" in reader else CLIPVisionModel
        model = build_on_meta(lambda: cls(config))
        for key in _IGNORED:
            reader.infos.pop(key, None)
        load_weights(model, reader, lambda k: k, DtypePolicy(dtype, "upcast"), device, "clip_vision")
        model.to(device)
    finally:
        reader.close()
    return ClipVisionEncoder(model)
