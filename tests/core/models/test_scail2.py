"""SCAIL-2's in-context transformer: RoPE offsets, token layout and forward behaviour (SPEC §0.3, §3.1–3.3)."""
from __future__ import annotations

import math

import pytest
import torch
from choreograph.core.models.rope import POOL_MIDPOINT, ShiftedWanRope
from choreograph.core.models.scail2 import ANIMATION, REPLACEMENT, Scail2Context, group_offsets, token_layout
from choreograph.core.models.wan_arch import SCAIL2
from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed

B, F, H, W = 1, 3, 8, 8


def _table(head_dim: int = 128) -> tuple[ShiftedWanRope, torch.Tensor, torch.Tensor]:
    rope = ShiftedWanRope(head_dim, (1, 2, 2), 1024)
    return rope, rope.freqs_cos.float(), rope.freqs_sin.float()


def _sliced(rope: ShiftedWanRope, table: torch.Tensor, grid, offset) -> torch.Tensor:
    """The reference construction: slice each axis of diffusers' table at the offset and broadcast (SPEC §0.3)."""
    t, h, w = grid
    dt, dh, dw = offset
    ct, ch, cw = table.split([rope.t_dim, rope.h_dim, rope.w_dim], dim=1)
    return torch.cat([ct[dt:dt + t][:, None, None].expand(t, h, w, -1),
                      ch[dh:dh + h][None, :, None].expand(t, h, w, -1),
                      cw[dw:dw + w][None, None, :].expand(t, h, w, -1)], dim=-1).reshape(t * h * w, -1)


def test_spec_rope_offsets_per_mode():
    assert group_offsets(ANIMATION, 0) == {"extra_refs": (0, 0, 0), "ref": (0, 0, 0), "video": (1, 0, 0),
                                           "driving": (1, 0, 120)}
    assert group_offsets(REPLACEMENT, 2) == {"extra_refs": (0, 120, 0), "ref": (2, 120, 0), "video": (2, 0, 0),
                                             "driving": (2, 0, 120)}
    with pytest.raises(ValueError):
        group_offsets("dance")


def test_unshifted_group_equals_diffusers_rope():
    rope, _, _ = _table()
    cos, sin = WanRotaryPosEmbed(128, (1, 2, 2), 1024)(torch.zeros(1, 16, 3, 8, 10))
    ours = rope.group((3, 4, 5))
    assert torch.allclose(ours[0], cos.reshape(60, 128).float(), atol=1e-6)
    assert torch.allclose(ours[1], sin.reshape(60, 128).float(), atol=1e-6)


def test_shifted_group_equals_sliced_tables():
    rope, cos_table, sin_table = _table()
    cos, sin = rope.group((2, 3, 4), (1, 120, 7))
    assert torch.allclose(cos, _sliced(rope, cos_table, (2, 3, 4), (1, 120, 7)), atol=1e-6)
    assert torch.allclose(sin, _sliced(rope, sin_table, (2, 3, 4), (1, 120, 7)), atol=1e-6)


def test_half_res_average_pools_phasors_and_midpoint_keeps_unit_length():
    rope, cos_table, _ = _table()
    cos, sin = rope.group((1, 2, 2), (0, 0, 120), half_res="average")
    full_cos = _sliced(rope, cos_table, (1, 4, 4), (0, 0, 120)).reshape(4, 4, 128)
    assert torch.allclose(cos[0], full_cos[:2, :2].mean(dim=(0, 1)), atol=1e-6)  # token (0,0) = mean of 2×2
    h_cols = slice(rope.t_dim, rope.t_dim + rope.h_dim, 2)
    theta_h = 10000.0 ** (-torch.arange(0, rope.h_dim, 2, dtype=torch.float64) / rope.h_dim)
    magnitude = (cos[:, h_cols] ** 2 + sin[:, h_cols] ** 2).sqrt()
    assert torch.allclose(magnitude, torch.cos(theta_h / 2).abs().float().expand_as(magnitude), atol=1e-5)
    mid_cos, _ = rope.group((1, 2, 2), (0, 0, 0), half_res=POOL_MIDPOINT)
    row1 = mid_cos.reshape(2, 2, 128)[1, 0, h_cols]
    assert torch.allclose(row1, torch.cos(2.5 * theta_h).float(), atol=1e-6)  # second row sits at position 2.5


def test_token_layout_matches_spec_example():
    layout = token_layout((1, 16, 21, 88, 160))  # 704×1280, 81 frames
    assert layout == {"extra_refs": 0, "ref": 3520, "video": 73920, "driving": 18480}
    assert sum(layout.values()) == 95920


def _context(mode: str = ANIMATION, history: int = 0, seed: int = 1, extra: int = 0) -> Scail2Context:
    g = torch.Generator().manual_seed(seed)
    extras = {} if not extra else {"extra_references": torch.randn(B, 16, extra, H, W, generator=g),
                                   "extra_reference_masks": torch.rand(B, 28, extra, H, W, generator=g)}
    return Scail2Context(reference=torch.randn(B, 16, 1, H, W, generator=g),
                         reference_mask=torch.rand(B, 28, 1, H, W, generator=g),
                         driving=torch.randn(B, 16, F, H // 2, W // 2, generator=g),
                         driving_mask=torch.rand(B, 28, F, H // 2, W // 2, generator=g),
                         mode=mode, history_frames=history, **extras)


def _forward(model, ctx: Scail2Context, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return model(torch.randn(B, 16, F, H, W, generator=g), torch.tensor([600.0]),
                     torch.randn(B, 512, 32, generator=g), torch.randn(B, 4, 24, generator=g), context=ctx)


def test_sequence_order_spans_and_phasors(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    ctx = _context(REPLACEMENT, extra=2)
    tokens, (cos, _), span = model.sequence(torch.zeros(B, 16, F, H, W), ctx)
    layout = token_layout((B, 16, F, H, W), extra_refs=2)
    assert tokens.shape[1] == sum(layout.values()) == cos.shape[1]
    assert span == (layout["extra_refs"] + layout["ref"], layout["extra_refs"] + layout["ref"] + layout["video"])
    rope = model.rope
    ref_start = layout["extra_refs"]
    expected_ref = _sliced(rope, rope.freqs_cos.float(), (1, H // 2, W // 2), (2, 120, 0))
    assert torch.allclose(cos[0, ref_start:ref_start + layout["ref"], 0], expected_ref, atol=1e-6)
    expected_video = _sliced(rope, rope.freqs_cos.float(), (F, H // 2, W // 2), (2, 0, 0))
    assert torch.allclose(cos[0, span[0]:span[1], 0], expected_video, atol=1e-6)


def test_forward_reads_every_conditioning_input(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    base = _forward(model, _context())
    assert base.shape == (B, 16, F, H, W) and torch.isfinite(base).all()
    assert torch.equal(base, _forward(model, _context()))  # deterministic
    assert not torch.allclose(base, _forward(model, _context(seed=2)))  # reference/driving/masks matter
    assert not torch.allclose(base, _forward(model, _context(REPLACEMENT)))  # mode moves RoPE offsets
    assert not torch.allclose(base, _forward(model, _context(history=1)))  # history mask enters the video group
    mask_only = _context()
    other_mask = Scail2Context(**{**mask_only.__dict__, "driving_mask": torch.zeros_like(mask_only.driving_mask)})
    assert not torch.allclose(base, _forward(model, other_mask))
    assert _forward(model, _context(extra=1)).shape == base.shape


def test_bad_context_shapes_are_named(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    ctx = _context()
    wrong = Scail2Context(**{**ctx.__dict__, "driving": torch.zeros(B, 16, F, H, W)})
    with pytest.raises(ValueError, match="driving has shape"):
        _forward(model, wrong)
    with pytest.raises(ValueError, match="together"):
        Scail2Context(**{**ctx.__dict__, "extra_references": torch.zeros(B, 16, 1, H, W)})
    assert math.isfinite(float(_forward(model, ctx).abs().sum()))
