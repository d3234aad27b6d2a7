"""EverybodyDance's Identity Matching Graph loss via Mask–Query Attention, with r_all aggregation (SPEC §1.2–1.4).

Each generated character's queries attend to the union of all reference characters' keys in one softmax, so the
reference characters compete for every query (the O(n) form of Eq. 4). Summing the attention that falls inside
each reference mask gives the graph's edge weights; the identity-correspondence score C is the share of weight
on the right reference. The loss ``1 − C`` rewards attending to the right person. Attention rows are computed in
chunks, so the full ``L×L`` matrix at fine levels never exists.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

GAMMA = 1e-8  # Eq. 6 denominator guard
LINEAR, LOG = "linear", "log"
QUERY_CHUNK = 1024


@dataclass(frozen=True)
class MatchingScore:
    """C per frame ``(B',)`` and whether the frame counts (some generated character, ≥ 2 reference characters)."""

    score: torch.Tensor
    valid: torch.Tensor


def flat_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B', n, H, W)`` instance masks → nearest-resized to ``size`` and flattened to ``(B', n, h·w)`` in {0,1}."""
    small = F.interpolate(masks.float(), size=size, mode="nearest")
    return small.flatten(2)


def union_masked(features: torch.Tensor, ref_masks: torch.Tensor) -> torch.Tensor:
    """``r_all = f^r ⊙ clamp(Σ_i M^r_i, 0, 1)``: one masked feature map standing for every reference character.

    features ``(B', L, c)``, ref_masks ``(B', m, L)``.
    """
    union = ref_masks.sum(1).clamp(0, 1)
    return features * union.unsqueeze(-1).to(features.dtype)


def node_affinities(queries: torch.Tensor, keys: torch.Tensor, gen_masks: torch.Tensor, ref_masks: torch.Tensor,
                    chunk: int = QUERY_CHUNK) -> torch.Tensor:
    """``S = M^g · softmax(QKᵀ/√d) · (M^r)ᵀ`` averaged over heads: ``(B', n, m)`` (Eq. 5).

    queries ``(B', nh, L, d)``, keys ``(B', nh, Lr, d)``, gen_masks ``(B', n, L)``, ref_masks ``(B', m, Lr)``.
    Query rows no generated character covers are skipped chunk by chunk; softmax in fp32.
    """
    q, k = queries.float(), keys.float()
    gen, ref = gen_masks.float(), ref_masks.float()
    scale = q.shape[-1] ** -0.5
    total = q.new_zeros(q.shape[0], q.shape[1], gen.shape[1], ref.shape[1])
    covered = gen.sum(dim=(0, 1)) > 0
    for start in range(0, q.shape[2], chunk):
        stop = min(start + chunk, q.shape[2])
        if not bool(covered[start:stop].any()):
            continue
        attention = torch.softmax(q[:, :, start:stop] @ k.transpose(-1, -2) * scale, dim=-1)
        to_refs = attention @ ref.transpose(1, 2).unsqueeze(1)  # P = A·(M^r)ᵀ: (B', nh, rows, m)
        total = total + gen[:, None, :, start:stop] @ to_refs
    return total.mean(dim=1)


def edge_weights(similarity: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ``w(r_i, g_j) = S_{j,i} / (Σ_i' S_{j,i'} + γ)``; rows of empty generated masks stay 0."""
    return similarity / (similarity.sum(-1, keepdim=True) + GAMMA)


def partner_share(weights: torch.Tensor, partner: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7's numerator ``Σ_j w(r_π(j), g_j)`` and denominator ``Σ_{j,i} w(r_i, g_j)`` per frame, over kept j.

    ``partner`` ``(B', n)`` long (−1 allowed where ``keep`` is False), ``keep`` ``(B', n)`` bool.
    """
    right = weights.gather(-1, partner.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    kept = keep.to(weights.dtype)
    return (right * kept).sum(-1), (weights.sum(-1) * kept).sum(-1)


def matching_score(queries: torch.Tensor, keys: torch.Tensor, gen_masks: torch.Tensor, ref_masks: torch.Tensor,
                   match: torch.Tensor, chunk: int = QUERY_CHUNK) -> MatchingScore:
    """IC score ``C = Σ_j w(r_π(j), g_j) / Σ_{j,i} w(r_i, g_j)`` per frame (Eqs. 6–7).

    ``match`` ``(B', n)`` long: the reference index π(j) of generated character j, −1 when unknown. Characters
    with an empty (resized) mask are skipped; frames with none left, or fewer than two reference characters (C
    would be trivially 1), are marked invalid.
    """
    weights = edge_weights(node_affinities(queries, keys, gen_masks, ref_masks, chunk))
    present = (gen_masks.sum(-1) > 0) & (match >= 0)
    numerator, denominator = partner_share(weights, match, present)
    valid = present.any(-1) & ((ref_masks.sum(-1) > 0).sum(-1) >= 2)
    score = torch.where(valid, numerator / denominator.clamp_min(GAMMA), torch.ones_like(numerator))
    return MatchingScore(score, valid)


def matching_loss(scores: list[MatchingScore], variant: str = LINEAR) -> torch.Tensor:
    """``L_match = 1 − mean_ℓ C^(ℓ)`` (or ``−log`` of it) averaged over frames valid in every layer (SPEC §1.4).

    Zero, still attached to the graph, when no frame is valid, so a batch without pairs of people is harmless.
    """
    if variant not in (LINEAR, LOG):
        raise ValueError(f"variant must be {LINEAR!r} or {LOG!r}, not {variant!r}")
    if not scores:
        raise ValueError("matching_loss needs at least one layer's scores")
    mean_c = torch.stack([s.score for s in scores]).mean(0)
    valid = torch.stack([s.valid for s in scores]).all(0)
    per_frame = 1 - mean_c if variant == LINEAR else -torch.log(mean_c.clamp_min(GAMMA))
    if not bool(valid.any()):
        return per_frame.sum() * 0
    return per_frame[valid].mean()
