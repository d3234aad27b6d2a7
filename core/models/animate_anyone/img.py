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

import torch
from diffusers.models.attention_processor import Attention

from ...losses.img_loss import GAMMA as EDGE_EPS
from ...losses.img_loss import QUERY_CHUNK as ROW_CHUNK
from ...losses.img_loss import edge_weights, flat_masks, node_affinities, partner_share, union_masked
from .config import AnimateAnyoneConfig

__all__ = ["EDGE_EPS", "affinities", "block_edge_weights", "edge_weights", "ic_score", "level_size", "mask_tokens",
           "matching_blocks"]


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
    return (flat_masks(masks, size) > 0.5).float()


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, length, inner = x.shape
    return x.reshape(b, length, heads, inner // heads).transpose(1, 2)


def affinities(attn: Attention, generated: torch.Tensor, reference: torch.Tensor, generated_masks: torch.Tensor,
               reference_masks: torch.Tensor, chunk: int = ROW_CHUNK) -> torch.Tensor:
    """``S`` (Eq. 5) averaged over heads: ``(B', n, m)``, through this block's own ``to_q``/``to_k``.

    ``generated`` ``(B', L, c)`` attn1 input of the denoising stream; ``reference`` ``(B', L, c)`` bank (repeated per
    frame); masks ``(B', n, L)`` and ``(B', m, L)`` at this level. The maths is the IMG loss's (core/losses).
    """
    keys = _heads(attn.to_k(union_masked(reference, reference_masks)), attn.heads)
    queries = _heads(attn.to_q(generated), attn.heads)
    return node_affinities(queries, keys, generated_masks, reference_masks, chunk)


def ic_score(weights: torch.Tensor, partner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7 per frame: ``C = Σ_j w(r_π(j), g_j) / Σ_{j,i} w(r_i, g_j)``.

    ``partner`` ``(B', n)`` long: reference index π(j), or −1 for characters to skip. Returns ``(C, valid)``;
    frames with no usable character are invalid (C = 0 there).
    """
    numerator, denominator = partner_share(weights, partner, partner >= 0)
    return numerator / denominator.clamp_min(EDGE_EPS), denominator > 0


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
