"""SCAIL-2's Bias-Aware DPO: preference learning on hand regions against a frozen reference (SPEC §3.5).

The preferred and dispreferred videos differ mostly in their hands (the negative was regenerated from a worse
pose), so the flow-matching error is compared only inside a per-latent-frame box mask around the hands. The
Diffusion-DPO loss pushes the model's error gap ``E(w) − E(l)`` below the frozen reference model's; a full-frame
SFT term on the preferred video anchors the model against drifting away from good videos.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..pose import wholebody as wb

BOX_MARGIN = 0.10  # hand box grows by 10 % of its size on each side [choice]
TEMPORAL_FACTOR = 4
EPS = 1e-6


def _latent_frame_groups(frames: int) -> list[list[int]]:
    """Pixel frames behind each Wan latent frame: ``[0]``, then groups of 4 (SPEC §0.2)."""
    groups = [[0]]
    for start in range(1, frames, TEMPORAL_FACTOR):
        groups.append(list(range(start, min(start + TEMPORAL_FACTOR, frames))))
    return groups


def _hand_boxes(keypoints: np.ndarray, min_score: float) -> list[tuple[float, float, float, float]]:
    """Boxes ``(x0, y0, x1, y1)`` (normalised) around each visible hand of one frame's ``(P, 133, 3)`` poses."""
    boxes = []
    for person in keypoints:
        for hand in (wb.LEFT_HAND, wb.RIGHT_HAND):
            points = person[hand]
            points = points[points[:, 2] > min_score, :2]
            if len(points) < 2:
                continue
            (x0, y0), (x1, y1) = points.min(0), points.max(0)
            mx, my = BOX_MARGIN * (x1 - x0), BOX_MARGIN * (y1 - y0)
            boxes.append((x0 - mx, y0 - my, x1 + mx, y1 + my))
    return boxes


def hand_region_mask(keypoints: list[np.ndarray], latent_size: tuple[int, int], min_score: float = 0.3,
                     pad: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """``(F, h, w)`` mask: union over videos, people and the 4 sub-frames of latent-mapped hand boxes.

    ``keypoints``: one ``(T, P, 133, 3)`` array per video (positive and negative), x/y normalised to 0..1.
    ``pad`` (x, y, normalised) widens every box, e.g. by the pixel a drawn hand reaches beyond its points.
    Box edges map with ``floor(x0·w)`` … ``ceil(x1·w)`` (SCAIL-2 ``gen_latent_bbox_mask``).
    """
    frames = keypoints[0].shape[0]
    h, w = latent_size
    groups = _latent_frame_groups(frames)
    mask = torch.zeros(len(groups), h, w)
    for f, group in enumerate(groups):
        for video in keypoints:
            for t in group:
                for x0, y0, x1, y1 in _hand_boxes(video[t], min_score):
                    x0, y0, x1, y1 = x0 - pad[0], y0 - pad[1], x1 + pad[0], y1 + pad[1]
                    c0, c1 = max(0, math.floor(x0 * w)), min(w, math.ceil(x1 * w))
                    r0, r1 = max(0, math.floor(y0 * h)), min(h, math.ceil(y1 * h))
                    mask[f, r0:r1, c0:c1] = 1
    return mask


def masked_error(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample ``Σ M ⊙ (v̂ − u)² / (C·Σ M + 1e−6)``; mask ``(B, 1, F, h, w)`` broadcast over C channels."""
    channels = prediction.shape[1]
    mask = mask.to(prediction.dtype)
    squared = (prediction.float() - target.float()) ** 2 * mask
    area = mask.expand_as(prediction).flatten(1).sum(1) / channels
    return squared.flatten(1).sum(1) / (channels * area + EPS)


@dataclass(frozen=True)
class DpoTerms:
    """The loss and what to monitor: implicit accuracy (share of pairs ranked right) and the SFT term."""

    loss: torch.Tensor
    dpo: torch.Tensor
    sft: torch.Tensor
    implicit_accuracy: torch.Tensor


def bias_aware_dpo(model_win: torch.Tensor, model_lose: torch.Tensor, ref_win: torch.Tensor,
                   ref_lose: torch.Tensor, sft: torch.Tensor, beta: float = 1000.0, sft_weight: float = 1.0
                   ) -> DpoTerms:
    """``L = −log σ(−(β/2)·((E_θ(w) − E_θ(l)) − (E_ref(w) − E_ref(l)))) + λ_sft·L_SFT``, mean over pairs.

    Inputs are per-pair masked errors ``(B,)`` (``masked_error``); ``sft`` is the full-frame error on the preferred
    video. The reference errors come from the frozen base and carry no gradient.
    """
    inside = -0.5 * beta * ((model_win - model_lose) - (ref_win - ref_lose).detach())
    dpo = -F.logsigmoid(inside).mean()
    return DpoTerms(loss=dpo + sft_weight * sft, dpo=dpo, sft=sft, implicit_accuracy=(inside > 0).float().mean())
