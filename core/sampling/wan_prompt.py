"""Text and image context for Wan-family samplers, in the layout Wan's cross-attention expects.

Wan pads the umT5 embedding of a prompt with zeros to 512 tokens (Wan2.1 ``WanModel.forward``); diffusers'
attention processor also splits ``[image ; text]`` assuming exactly 512 text tokens, so every prompt is brought
to that length here, once. The CLIP image tokens (257 × 1280, penultimate layer) are shared by both branches.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

TEXT_TOKENS = 512


def pad_text(embedding: torch.Tensor, length: int = TEXT_TOKENS) -> torch.Tensor:
    """``(B, L, C)`` → ``(B, length, C)``: zero-padded, or cut when a prompt is longer than Wan's limit."""
    if embedding.ndim == 2:
        embedding = embedding.unsqueeze(0)
    if embedding.shape[1] >= length:
        return embedding[:, :length]
    pad = embedding.new_zeros(embedding.shape[0], length - embedding.shape[1], embedding.shape[2])
    return torch.cat([embedding, pad], dim=1)


@dataclass(frozen=True)
class WanPrompt:
    """Positive/negative umT5 embeddings ``(B, L, 4096)`` and optional CLIP image tokens ``(B, 257, 1280)``."""

    positive: torch.Tensor
    negative: torch.Tensor
    image: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.positive.shape[-1] != self.negative.shape[-1]:
            raise ValueError("positive and negative prompt embeddings have different widths")

    def text(self, positive: bool, device: torch.device, dtype: torch.dtype, pad: bool = True) -> torch.Tensor:
        """The embedding, zero-padded to 512 tokens (Wan's official layout) or, ``pad=False``, as given (what
        native ComfyUI feeds the model)."""
        text = self.positive if positive else self.negative
        text = pad_text(text) if pad else (text if text.ndim == 3 else text.unsqueeze(0))
        return text.to(device=device, dtype=dtype)

    def image_tokens(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor | None:
        if self.image is None:
            return None
        image = self.image if self.image.ndim == 3 else self.image.unsqueeze(0)
        return image.to(device=device, dtype=dtype)
