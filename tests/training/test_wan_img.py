"""IMG on the Wan transformer: queries/keys are formed exactly as the block's self-attention forms them."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from choreograph.core.losses.img_loss import matching_loss
from choreograph.core.models.wan_loader import build_wan
from choreograph.core.models.pixel_codec import PixelCodec
from choreograph.training.config import ArchConfig
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.model import empty_prompt, tiny_arch
from choreograph.training.scail2_batch import SampleOptions, clip_sample
from choreograph.training.wan_img import WanMatchingProbe, _rotate, default_blocks


def test_rotation_is_complex_multiplication():
    x = torch.randn(1, 3, 2, 8)
    angles = torch.randn(3, 4)
    cos = torch.cos(angles).repeat_interleave(2, -1).reshape(1, 3, 1, 8)
    sin = torch.sin(angles).repeat_interleave(2, -1).reshape(1, 3, 1, 8)
    expected = torch.view_as_real(torch.view_as_complex(x.reshape(1, 3, 2, 4, 2)) * torch.polar(
        torch.ones_like(angles), angles).reshape(1, 3, 1, 4)).flatten(-2)
    assert torch.allclose(_rotate(x, cos, sin), expected, atol=1e-6)


def test_default_blocks_end_with_the_last():
    assert default_blocks(40) == [13, 26, 39]
    assert default_blocks(2) == [0, 1] and default_blocks(1) == [0]


def _model_and_sample(clip_root):
    torch.manual_seed(0)
    model = build_wan(tiny_arch(ArchConfig(dim=32, num_layers=2, ffn_dim=64, head_dim=16, text_dim=16,
                                           freq_dim=16)))
    clip = Clip(list_clips(clip_root)[0])
    sample = clip_sample(clip, PixelCodec(), SampleOptions(5, 64, 64, swap_probability=0.0),
                         np.random.default_rng(1))
    return model, sample


def _run(model, sample):
    text, image = empty_prompt(model, 1, torch.device("cpu"))
    return model(sample.latent, torch.tensor([500.0]), text, image, context=sample.context)


def test_probe_queries_and_keys_reproduce_the_block_attention(clip_root):
    model, sample = _model_and_sample(clip_root)
    attention = model.blocks[1].attn1
    seen = {}
    attention.register_forward_hook(lambda m, args, out: seen.update(x=args[0], rotary=args[3], out=out))
    probe = WanMatchingProbe(model, [1])
    with torch.no_grad():
        _run(model, sample)
    x, (cos, sin) = seen["x"], seen["rotary"]
    heads = model.config.num_attention_heads
    q = _rotate(attention.norm_q(attention.to_q(x)).unflatten(2, (heads, -1)), cos, sin).transpose(1, 2)
    k = _rotate(attention.norm_k(attention.to_k(x)).unflatten(2, (heads, -1)), cos, sin).transpose(1, 2)
    v = attention.to_v(x).unflatten(2, (heads, -1)).transpose(1, 2)
    out = attention.to_out[0](F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))
    assert torch.allclose(out, seen["out"], atol=1e-5)
    scores = probe.scores(sample.latent.shape, sample.gen_masks, sample.ref_masks, sample.match)
    assert len(scores) == 1 and scores[0].score.shape == (2,)  # one score per latent frame
    assert bool(((scores[0].score >= 0) & (scores[0].score <= 1)).all())


def test_img_gradient_reaches_query_and_key_projections(clip_root):
    model, sample = _model_and_sample(clip_root)
    probe = WanMatchingProbe(model, [0, 1])
    _run(model, sample)
    loss = matching_loss(probe.scores(sample.latent.shape, sample.gen_masks, sample.ref_masks, sample.match))
    assert float(loss.detach()) > 0
    loss.backward()
    for block in model.blocks:
        assert block.attn1.to_q.weight.grad.abs().sum() > 0
        assert block.attn1.to_k.weight.grad.abs().sum() > 0
    probe.remove()
    probe.clear()
    _run(model, sample)
    assert probe._captured == []  # hooks are gone


def test_area_masks_keep_small_people_that_nearest_drops(clip_root):
    model, sample = _model_and_sample(clip_root)
    nearest, area = WanMatchingProbe(model, [1]), WanMatchingProbe(model, [1], mask_resize="area")
    small = torch.zeros_like(sample.gen_masks)
    small[..., 0, 20:26, 20:26] = True  # 6×6 px: no 16×16 token centre falls inside
    small[..., 1, 40:60, 40:60] = True
    reference = small[:, 0]
    with torch.no_grad():
        _run(model, sample)
    args = (sample.latent.shape, small, reference, sample.match)
    assert not bool(nearest.scores(*args)[0].valid.any())
    assert bool(area.scores(*args)[0].valid.all())
    with pytest.raises(ValueError):
        WanMatchingProbe(model, [1], mask_resize="bicubic")
