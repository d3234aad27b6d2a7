"""MaskPoseAdapter: DanceTogether's fusion of each person's pose map with that person's mask (SPEC §2.2).

Binding "who" to "how" happens here: every person's pose features are gated by their own mask, the people are
weighed against each other per pixel (person attention with a learnable temperature), and the result is added
to the UNet right after ``conv_in``. Weights are shared across people, so ``pose_net`` is StableAnimator's
single-person PoseNet (its file initialises it). The attention's first 1×1 conv reads all people at once, so
the adapter is built for ``people`` persons; fewer are padded with absent persons (black pose map, empty mask),
exactly what the paper feeds for a person missing from a frame.

Reconstructed choices (SPEC §8 rows 6–8): area-pool the mask to latent size before two 3×3 convs; a zero-init
1×1 ``mask_proj`` lifts the 3-channel mask features to the pose width; ``f̂ = 1.5·f − 0.5·h``;
``F = 0.9·F_int + 0.05·mean_i f̂_i``; no ReLU after the last attention conv (logits may be negative).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .pose_net import POSE_NET_DOWNSAMPLE, PoseNet

MASK_FEATURES = 3  # ψ's output channels; also the width η and ξ read (SPEC §2.2 (5), (6))
GATE_HIDDEN = 16
ATTENTION_HIDDEN_DIVISOR = 4  # 320 → 80 in Att (SPEC §2.2 (11))


@dataclass(frozen=True)
class MaskPoseConfig:
    """Sizes and the paper's constants. ``channels`` is the UNet's first block width (320 for SVD-xt)."""

    channels: int = 320
    people: int = 2
    mask_channels: int = 1  # 1 = body mask, 2 = [body, face]
    pose_weight_init: float = 0.8  # λ (SPEC §2.2 (7)), stored as a logit
    residual_mask: float = 0.5  # α_res (SPEC §2.2 (8))
    enhance_scale: float = 1.5  # s_p (SPEC §2.2 (10))
    additive_enhance: bool = False  # True: f̂ = s_p·f + h instead of s_p·f + (1 − s_p)·h
    literal_logit_relu: bool = False  # True: keep the paper's ReLU after the last attention conv
    temperature_init: float = 1.0  # τ, stored as log τ
    integrated_weight: float = 0.9  # SPEC §2.2 (15)
    mean_weight: float = 0.05

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError("MaskPoseConfig.people must be at least 1")
        if self.mask_channels not in (1, 2):
            raise ValueError("MaskPoseConfig.mask_channels must be 1 (body) or 2 (body, face)")


def _gate() -> nn.Sequential:
    """η / ξ: 3 channels → one per-pixel weight in (0, 1)."""
    return nn.Sequential(nn.Conv2d(MASK_FEATURES, GATE_HIDDEN, 3, padding=1), nn.SiLU(),
                         nn.Conv2d(GATE_HIDDEN, 1, 3, padding=1), nn.Sigmoid())


def _conv_bn_relu(c_in: int, c_out: int, relu: bool = True) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out)] + ([nn.ReLU()] if relu else [])


class MaskPoseAdapter(nn.Module):
    """``(N, M, 3, H, W)`` pose maps in −1..1 and ``(N, M, mask_channels, H, W)`` masks in 0..1 → ``(M, C, H/8,
    W/8)`` features (M = batch × frames)."""

    def __init__(self, config: MaskPoseConfig = MaskPoseConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.pose_net = PoseNet(c)
        self.mask_processor = nn.Sequential(nn.Conv2d(config.mask_channels, GATE_HIDDEN, 3, padding=1), nn.SiLU(),
                                            nn.Conv2d(GATE_HIDDEN, MASK_FEATURES, 3, padding=1))
        self.pose_reduce = nn.Conv2d(c, MASK_FEATURES, 1)
        self.pose_gate = _gate()
        self.mask_gate = _gate()
        self.mask_proj = nn.Conv2d(MASK_FEATURES, c, 1)
        nn.init.zeros_(self.mask_proj.weight)
        nn.init.zeros_(self.mask_proj.bias)
        p = config.pose_weight_init
        self.pose_weight_logit = nn.Parameter(torch.tensor(math.log(p / (1 - p))))
        self.enhancer = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.SiLU(), nn.BatchNorm2d(c), nn.Conv2d(c, c, 1))
        self.person_norm = nn.LayerNorm(c)
        hidden = c // ATTENTION_HIDDEN_DIVISOR
        self.person_attention = nn.Sequential(
            *_conv_bn_relu(config.people * c, c), *_conv_bn_relu(c, hidden),
            *_conv_bn_relu(hidden, config.people, relu=config.literal_logit_relu))
        self.log_temperature = nn.Parameter(torch.tensor(math.log(config.temperature_init)))
        self.integrate = nn.Conv2d(c, c, 1)

    def forward(self, poses: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        n, m = poses.shape[:2]
        if n != self.config.people:
            raise ValueError(f"MaskPoseAdapter was built for {self.config.people} people, got {n}; pad with "
                             "pad_absent_people first")
        enhanced = self.person_features(poses.flatten(0, 1), masks.flatten(0, 1))
        enhanced = enhanced.unflatten(0, (n, m))  # (N, M, C, h, w)
        normed = self.person_norm(enhanced.movedim(2, -1)).movedim(-1, 2)
        logits = self.person_attention(normed.transpose(0, 1).flatten(1, 2))  # (M, N, h, w)
        weights = torch.softmax(logits / self.log_temperature.exp(), dim=1)
        integrated = self.integrate((weights.transpose(0, 1).unsqueeze(2) * normed).sum(0))
        return self.config.integrated_weight * integrated + self.config.mean_weight * enhanced.mean(0)

    def person_features(self, pose: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One person's ``f̂_i`` (SPEC §2.2 (4)–(10)), batched over people × frames."""
        cfg = self.config
        pose_features = self.pose_net(pose)
        mask_features = self.mask_processor(F.interpolate(mask, size=pose_features.shape[-2:], mode="area"))
        pose_gate = self.pose_gate(self.pose_reduce(pose_features))
        mask_term = self.mask_gate(mask_features) * self.mask_proj(mask_features)
        lam = torch.sigmoid(self.pose_weight_logit)
        fused = lam * pose_gate * pose_features + (1 - lam) * mask_term
        fused = fused + cfg.residual_mask * (1 - lam) * mask_term
        refined = self.enhancer(fused)
        keep = 1.0 if cfg.additive_enhance else 1 - cfg.enhance_scale
        return cfg.enhance_scale * fused + keep * refined


def pad_absent_people(poses: torch.Tensor, masks: torch.Tensor, people: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Append absent persons (pose map −1 = black, mask 0) up to ``people`` (SPEC §2.2, "absent persons")."""
    missing = people - poses.shape[0]
    if missing <= 0:
        return poses, masks
    black = torch.full((missing,) + tuple(poses.shape[1:]), -1.0, dtype=poses.dtype, device=poses.device)
    empty = torch.zeros((missing,) + tuple(masks.shape[1:]), dtype=masks.dtype, device=masks.device)
    return torch.cat([poses, black]), torch.cat([masks, empty])


def latent_size(height: int, width: int) -> tuple[int, int]:
    """Feature size the adapter produces for pose maps of ``height × width`` (the SVD latent size)."""
    return height // POSE_NET_DOWNSAMPLE, width // POSE_NET_DOWNSAMPLE
