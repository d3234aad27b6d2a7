"""The IMG loss on the in-context Wan transformer: Mask–Query Attention from video tokens to reference tokens.

Forward pre-hooks on chosen blocks' self-attention keep the attention input (the modulated ``norm1`` output)
and its RoPE phasors. From those, queries of the video tokens and keys of the mask-unioned reference tokens are
formed exactly as the block forms them (``to_q``/``to_k``, RMS norm across heads, rotary), and
``core.losses.img_loss`` scores, per latent frame, how much each person's queries go to their own reference. Wan's
``to_k`` has a bias, so keys outside the reference masks are one shared constant vector — still a common sink,
just not at logit 0 as in SD1.5 (SPEC §1.2).

Masks reach the token grid by nearest resizing (SPEC §1.2) or, optionally, as area coverage fractions: on coarse
grids (tiny training sizes) nearest sampling drops small people entirely, while soft coverage weights every token by
how much of it a person fills — the MQA sums take soft masks unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.losses.img_loss import MatchingScore, matching_score, union_masked
from ..core.models.scail2 import token_layout

NEAREST, AREA = "nearest", "area"


def default_blocks(num_layers: int, count: int = 3) -> list[int]:
    """``count`` evenly spaced blocks ending with the last one (the layers closest to the output)."""
    count = min(count, num_layers)
    return sorted({(num_layers - 1) * (i + 1) // count for i in range(count)})


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Wan's adjacent-pair rotary embedding; x ``(B, L, nh, d)``, cos/sin ``(1, L, 1, d)``."""
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    c, s = cos[..., 0::2], sin[..., 1::2]
    return torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], dim=-1).flatten(-2)


class WanMatchingProbe:
    """Captures self-attention inputs of ``blocks`` during a forward pass and turns them into IC scores."""

    def __init__(self, model: nn.Module, blocks: list[int], mask_resize: str = NEAREST) -> None:
        count = len(model.blocks)
        bad = [b for b in blocks if not -count <= b < count]
        if bad:
            raise ValueError(f"IMG blocks {bad} do not exist; the model has {count} blocks")
        if mask_resize not in (NEAREST, AREA):
            raise ValueError(f"mask_resize must be {NEAREST!r} or {AREA!r}, not {mask_resize!r}")
        self._resize = mask_resize
        self._attention = [model.blocks[b].attn1 for b in blocks]
        self._patch = tuple(model.config.patch_size)
        self._heads = model.config.num_attention_heads
        self._captured: list[tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]] = []
        self._handles = [a.register_forward_pre_hook(self._capture) for a in self._attention]

    def _capture(self, module: nn.Module, args: tuple) -> None:
        self._captured.append((args[0], args[3]))

    def clear(self) -> None:
        self._captured.clear()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    def scores(self, video_shape: torch.Size, gen_masks: torch.Tensor, ref_masks: torch.Tensor,
               match: torch.Tensor, extra_refs: int = 0) -> list[MatchingScore]:
        """One ``MatchingScore`` over ``B·F`` frames per probed block, from the last forward pass.

        gen_masks ``(B,F,P,H,W)``, ref_masks ``(B,P,H,W)`` at pixel (or any) resolution; match ``(B,P)``.
        """
        captured = self._captured[-len(self._attention):]
        if len(captured) != len(self._attention):
            raise RuntimeError("run the model forward before asking for IMG scores")
        _, _, f, h, w = video_shape
        layout = token_layout(tuple(video_shape), self._patch, extra_refs)
        grid = (h // self._patch[1], w // self._patch[2])
        ref_start = layout["extra_refs"]
        video_start = ref_start + layout["ref"]
        spans = (slice(ref_start, video_start), slice(video_start, video_start + layout["video"]))
        gen = F.interpolate(gen_masks.flatten(0, 1).float(), size=grid, mode=self._resize).flatten(2)
        ref = F.interpolate(ref_masks.float(), size=grid, mode=self._resize).flatten(2)
        ref = ref.repeat_interleave(f, 0)
        match = match.repeat_interleave(f, 0)
        return [self._score(attention, x, rotary, spans, gen, ref, match, f)
                for attention, (x, rotary) in zip(self._attention, captured)]

    def _score(self, attention: nn.Module, x: torch.Tensor, rotary: tuple[torch.Tensor, torch.Tensor],
               spans: tuple[slice, slice], gen: torch.Tensor, ref: torch.Tensor, match: torch.Tensor,
               frames: int) -> MatchingScore:
        ref_span, video_span = spans
        cos, sin = rotary
        keys_in = union_masked(x[:, ref_span], ref[::frames])
        q = attention.norm_q(attention.to_q(x[:, video_span])).unflatten(2, (self._heads, -1))
        k = attention.norm_k(attention.to_k(keys_in)).unflatten(2, (self._heads, -1))
        q = _rotate(q.float(), cos[:, video_span].float(), sin[:, video_span].float())
        k = _rotate(k.float(), cos[:, ref_span].float(), sin[:, ref_span].float())
        b, _, heads, d = q.shape
        q = q.reshape(b, frames, -1, heads, d).permute(0, 1, 3, 2, 4).flatten(0, 1)  # (B·F, nh, Lf, d)
        k = k.permute(0, 2, 1, 3).repeat_interleave(frames, 0)  # (B·F, nh, Lr, d)
        return matching_score(q, k, gen, ref, match)
