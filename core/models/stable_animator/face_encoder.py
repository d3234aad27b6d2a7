"""MultiFace encoder: StableAnimator's FusionFaceId run once per identity, tokens concatenated in person order.

SPEC §2.3: an ArcFace vector (512) becomes K = 4 tokens of width D (1024 for SVD) through an MLP and LayerNorm,
then a 4-layer Perceiver refines them against the CLIP image embedding. Module and parameter names equal
StableAnimator's ``animation/modules/id_encoder.py`` (``proj``, ``norm``, ``fusion_model.*``), so its
``face_encoder`` weights load with the exact key check and initialise MultiFace directly (the weights are
shared across identities). Person order must be the pose/mask stream order: it is the only binding between a
face and a motion stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

FACE_EMBEDDING_DIM = 512
HEAD_DIM = 64


@dataclass(frozen=True)
class FaceEncoderConfig:
    """``width`` = D = the UNet's cross-attention width; ``clip_dim`` = the CLIP image embedding width."""

    width: int = 1024
    clip_dim: int = 1024
    tokens: int = 4
    depth: int = 4
    ff_mult: int = 4
    id_dim: int = FACE_EMBEDDING_DIM


class PerceiverAttention(nn.Module):
    """Latents attend to ``[x ; latents]``; bias-free projections; the scale is split between q and k."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        inner = heads * HEAD_DIM
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        latents = self.norm2(latents)
        context = torch.cat([self.norm1(x), latents], dim=1)
        key, value = self.to_kv(context).chunk(2, dim=-1)
        q, k, v = (t.unflatten(-1, (self.heads, HEAD_DIM)).transpose(1, 2)
                   for t in (self.to_q(latents), key, value))
        scale = HEAD_DIM ** -0.25  # on q and k each (SPEC §2.3), numerically kinder in fp16
        weights = torch.softmax(((q * scale) @ (k * scale).transpose(-2, -1)).float(), dim=-1).to(q.dtype)
        return self.to_out((weights @ v).transpose(1, 2).flatten(2))


def _feed_forward(dim: int, mult: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult, bias=False), nn.GELU(),
                         nn.Linear(dim * mult, dim, bias=False))


class FacePerceiver(nn.Module):
    """Refines face tokens against the (projected) CLIP image embedding; ``proj_out`` starts at zero."""

    def __init__(self, config: FaceEncoderConfig) -> None:
        super().__init__()
        dim = config.width
        self.proj_in = nn.Linear(config.clip_dim, dim)
        self.proj_out = nn.Linear(dim, dim)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)
        self.norm_out = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim, dim // HEAD_DIM), _feed_forward(dim, config.ff_mult)])
            for _ in range(config.depth))

    def forward(self, latents: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        x = self.proj_in(clip)
        for attention, feed_forward in self.layers:
            latents = attention(x, latents) + latents
            latents = feed_forward(latents) + latents
        return self.norm_out(self.proj_out(latents))


class FaceIdEncoder(nn.Module):
    """StableAnimator's FusionFaceId: ``(B, 512)`` ArcFace + ``(B, 1, clip_dim)`` CLIP → ``(B, K, D)`` tokens."""

    def __init__(self, config: FaceEncoderConfig = FaceEncoderConfig()) -> None:
        super().__init__()
        self.config = config
        self.proj = nn.Sequential(nn.Linear(config.id_dim, config.id_dim * 2), nn.GELU(),
                                  nn.Linear(config.id_dim * 2, config.width * config.tokens))
        self.norm = nn.LayerNorm(config.width)
        self.fusion_model = FacePerceiver(config)

    def forward(self, face: torch.Tensor, clip: torch.Tensor, shortcut: bool = False,
                shortcut_scale: float = 1.0) -> torch.Tensor:
        tokens = self.norm(self.proj(face).unflatten(-1, (self.config.tokens, self.config.width)))
        refined = self.fusion_model(tokens, clip)
        return tokens + shortcut_scale * refined if shortcut else refined

    def encode_people(self, faces: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        """MultiFace (SPEC §2.3 stage III): ``(B, N, 512)`` + ``(B, 1, clip_dim)`` → ``(B, N·K, D)``.

        A missing face is a zero vector; it still yields (bias-driven) tokens, as in training.
        """
        b, n = faces.shape[:2]
        if n == 0:
            return clip.new_zeros((b, 0, self.config.width))
        tokens = self(faces.flatten(0, 1), clip.repeat_interleave(n, dim=0))
        return tokens.reshape(b, n * self.config.tokens, self.config.width)
