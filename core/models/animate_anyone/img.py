"""Identity Matching Graph: edge weights between reference and generated characters (SPEC §1.2–1.3).

At a chosen transformer block, queries come from the denoising stream (``to_q`` of the attn1 input ``f^g``) and
keys from the reference bank restricted to the reference characters (``to_k(f^r ⊙ U^r)``, the r_all trick: one
softmax in which every reference character competes for each query). Summing the attention that generated
character j's query pixels pay to reference character i's key pixels gives ``S_{j,i}`` (Eq. 5); normalising each
row gives the edge weight ``w(r_i, g_j)`` (Eq. 6), and the share of weight on the true partner is the IC score
``C`` (Eq. 7). The training issue turns ``C`` into ``L_match``; the sampler's diagnostic reports ``w``.

Memory: only query rows inside some generated mask are used, in chunks, so the ``L×L`` map is never materialised;
the softmax runs in fp32. Everything is differentiable (``to_q``/``to_k`` get gradients during stage 1).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention

from .config import AnimateAnyoneConfig

EDGE_EPS = 1e-8  # γ in Eq. 6
ROW_CHUNK = 1024


def matching_blocks(config: AnimateAnyoneConfig, count: int = 3) -> tuple[str, ...]:
    """The last transformer block of the mid block and of decoder levels 1, 2, … (SPEC §1.3: N = 3 by default)."""
    last = config.layers_per_block  # decoder levels have layers_per_block + 1 attentions
    levels = len(config.block_out_channels)
    blocks = ["mid_block.attentions.0.transformer_blocks.0"]
    blocks += [f"up_blocks.{i}.attentions.{last}.transformer_blocks.0" for i in range(1, levels)]
    if not 1 <= count <= len(blocks):
        raise ValueError(f"matching layer count must be 1..{len(blocks)}, got {count}")
    return tuple(blocks[:count])


def level_size(latent_hw: tuple[int, int], tokens: int) -> tuple[int, int]:
    """Spatial size of a UNet level with ``tokens`` positions (stride-2 convs with padding 1 ceil-halve)."""
    h, w = latent_hw
    while h * w > tokens:
        h, w = (h + 1) // 2, (w + 1) // 2
    if h * w != tokens:
        raise ValueError(f"no UNet level of a {latent_hw} latent has {tokens} positions")
    return h, w


def mask_tokens(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(N, k, H, W)`` masks → ``(N, k, h·w)`` binary float, nearest-resized to a level (SPEC §1.2)."""
    n, k = masks.shape[:2]
    resized = F.interpolate(masks.reshape(n * k, 1, *masks.shape[2:]).float(), size=size, mode="nearest")
    return (resized > 0.5).float().reshape(n, k, size[0] * size[1])


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, length, inner = x.shape
    return x.reshape(b, length, heads, inner // heads).transpose(1, 2)


def affinities(attn: Attention, generated: torch.Tensor, reference: torch.Tensor, generated_masks: torch.Tensor,
               reference_masks: torch.Tensor, chunk: int = ROW_CHUNK) -> torch.Tensor:
    """``S`` (Eq. 5) averaged over heads: ``(B', n, m)``.

    ``generated`` ``(B', L, c)`` attn1 input of the denoising stream; ``reference`` ``(B', L, c)`` bank (repeated per
    frame); masks ``(B', n, L)`` and ``(B', m, L)`` at this level.
    """
    union = reference_masks.sum(1).clamp(0, 1).unsqueeze(-1)
    keys = _heads(attn.to_k(reference * union.to(reference.dtype)), attn.heads).float()
    scale = 1.0 / math.sqrt(keys.shape[-1])
    used = torch.nonzero(generated_masks.sum((0, 1)) > 0).flatten()
    total = generated.new_zeros((generated.shape[0], attn.heads, generated_masks.shape[1],
                                 reference_masks.shape[1]), dtype=torch.float32)
    for rows in used.split(chunk):
        queries = _heads(attn.to_q(generated[:, rows]), attn.heads).float()
        weights = torch.softmax(queries @ keys.transpose(-1, -2) * scale, dim=-1)
        to_refs = weights @ reference_masks.float().transpose(1, 2).unsqueeze(1)  # (B', nh, r, m)
        total = total + generated_masks[:, :, rows].float().unsqueeze(1) @ to_refs
    return total.mean(1)


def edge_weights(similarity: torch.Tensor, eps: float = EDGE_EPS) -> torch.Tensor:
    """Eq. 6: ``w(r_i, g_j) = S_{j,i} / (Σ_i' S_{j,i'} + γ)``; rows of empty generated masks stay 0."""
    return similarity / (similarity.sum(-1, keepdim=True) + eps)


def ic_score(weights: torch.Tensor, partner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7 per frame: ``C = Σ_j w(r_π(j), g_j) / Σ_{j,i} w(r_i, g_j)``.

    ``partner`` ``(B', n)`` long: reference index π(j), or −1 for characters to skip. Returns ``(C, valid)``;
    frames with no usable character are invalid (C = 0 there).
    """
    keep = (partner >= 0).float()
    picked = weights.gather(-1, partner.clamp_min(0).unsqueeze(-1)).squeeze(-1) * keep
    denominator = (weights.sum(-1) * keep).sum(-1)
    valid = denominator > 0
    return picked.sum(-1) / denominator.clamp_min(EDGE_EPS), valid


def block_edge_weights(attn: Attention, generated: torch.Tensor, bank: torch.Tensor, latent_hw: tuple[int, int],
                       generated_masks: torch.Tensor, reference_masks: torch.Tensor,
                       chunk: int = ROW_CHUNK) -> torch.Tensor:
    """Edge weights ``(B·F, n, m)`` at one block from pixel-space masks.

    ``generated`` ``(B·F, L, c)``; ``bank`` ``(B, L, c)``; ``generated_masks`` ``(B·F, n, H, W)``;
    ``reference_masks`` ``(B, m, H, W)``.
    """
    size = level_size(latent_hw, generated.shape[1])
    frames = generated.shape[0] // bank.shape[0]
    reference = bank.to(generated.dtype).repeat_interleave(frames, 0)
    ref_tokens = mask_tokens(reference_masks, size).repeat_interleave(frames, 0)
    gen_tokens = mask_tokens(generated_masks, size)
    return edge_weights(affinities(attn, generated, reference, gen_tokens, ref_tokens, chunk))
