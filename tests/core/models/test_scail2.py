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


def _text_and_clip(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 16, F, H, W, generator=g), torch.randn(B, 24, 32, generator=g), torch.randn(
        B, 4, 24, generator=g)


def _run(model, video, ctx, text, clip=None):
    with torch.no_grad():
        return model(video, torch.tensor([500.0]), text, clip, context=ctx)


def test_the_forward_is_the_composition_of_its_separable_steps(make_tiny_model):
    """Conditioning-only steps (references, driving) can be computed once and reused across denoising steps."""
    model = make_tiny_model(SCAIL2)
    ctx = _context(REPLACEMENT, extra=1, history=1)
    video, text, clip = _text_and_clip()
    refs, driving = model.embed_references(ctx), model.embed_driving(ctx)
    with torch.no_grad():
        for seed in (1, 2):  # two "steps" reusing the same reference/driving embeddings
            noisy = torch.randn(B, 16, F, H, W, generator=torch.Generator().manual_seed(seed))
            group = model.embed_video(noisy, ctx)
            phasors = model.phasors(ctx, noisy.shape, refs, group, driving)
            split = model.denoise_tokens(refs, group, driving, phasors, torch.tensor([500.0]), text, clip,
                                         ctx.compat, noisy.shape)
            assert torch.equal(split, _run(model, noisy, ctx, text, clip))


def test_native_absent_masks_add_nothing_while_zero_masks_add_the_bias(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    video, text, clip = _text_and_clip()
    base = {**_context().__dict__, "compat": "native"}
    zeros = Scail2Context(**{**base, "reference_mask": torch.zeros_like(base["reference_mask"]),
                             "driving_mask": torch.zeros_like(base["driving_mask"])})
    absent = Scail2Context(**{**base, "reference_mask": None, "driving_mask": None})
    assert not torch.allclose(_run(model, video, zeros, text, clip), _run(model, video, absent, text, clip))
    with pytest.raises(ValueError, match="reference_mask, driving_mask missing"):
        Scail2Context(**{**base, "compat": "official", "reference_mask": None, "driving_mask": None})


def test_official_and_native_differ_only_where_the_conventions_do(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    video, text, clip = _text_and_clip()
    official = _context()
    native = Scail2Context(**{**official.__dict__, "compat": "native"})
    no_driving = {"driving": None, "driving_mask": None}
    # with CLIP and without the driving group (whose RoPE differs: pooled vs mid-points) the two are one model
    plain_native = Scail2Context(**{**native.__dict__, **no_driving})
    plain_official_out = model.denoise_tokens(model.embed_references(official), model.embed_video(video, official),
                                              None, model.phasors(official, video.shape,
                                                                  model.embed_references(official),
                                                                  model.embed_video(video, official), None),
                                              torch.tensor([500.0]), text, clip, "official", video.shape)
    assert torch.allclose(_run(model, video, plain_native, text, clip), plain_official_out, atol=1e-5)
    assert not torch.allclose(_run(model, video, official, text, clip), _run(model, video, native, text, clip),
                              atol=1e-4)  # the pooled driving RoPE (official) is a deliberate difference
    # without CLIP: official skips the image branch, native lets it read the text
    assert not torch.allclose(_run(model, video, official, text), _run(model, video, native, text), atol=1e-4)


def test_native_pads_odd_latents_circularly_and_official_refuses_them(make_tiny_model):
    model = make_tiny_model(SCAIL2)
    g = torch.Generator().manual_seed(3)
    h, w = 7, 9
    ctx = Scail2Context(reference=torch.randn(B, 16, 1, h, w, generator=g), reference_mask=None,
                        driving=torch.randn(B, 16, F, 4, 5, generator=g), driving_mask=None, compat="native")
    video = torch.randn(B, 16, F, h, w, generator=g)
    out = _run(model, video, ctx, torch.randn(B, 5, 32, generator=g))
    assert out.shape == video.shape and torch.isfinite(out).all()
    positions = model.token_positions(ctx, video.shape)
    assert positions.shape == (1 * 4 * 5 + F * 4 * 5 + F * 2 * 3, 3)
    assert float(positions[-1, 2]) > 120  # the driving group sits 120 columns to the right
    with pytest.raises(ValueError, match="not even"):
        Scail2Context(**{**_context().__dict__}).check(torch.Size((B, 16, F, h, w)))
