"""DreamActor-M2 on Wan-I2V: the double-width composite, its mask, and the full sampler on tiny networks."""
from __future__ import annotations

import pytest
import torch

from choreograph.core.errors import InputError
from choreograph.core.sampling.dreamactor_m2 import build_composite, generate_dreamactor, latent_mask
from choreograph.core.sampling.solvers import FlowSettings
from choreograph.core.sampling.wan_prompt import WanPrompt


def test_composite_places_reference_left_and_driving_right():
    reference = torch.full((16, 16, 3), 0.9)
    driving = torch.rand(5, 16, 16, 3)
    c = build_composite(reference, driving)
    assert c.frames.shape == (5, 16, 32, 3) and c.given.shape == (5, 16, 32)
    assert torch.equal(c.frames[0, :, :16], reference) and torch.equal(c.frames[:, :, 16:], driving)
    assert torch.all(c.frames[1:, :, :16] == 0.5)  # blank = 0 in the VAE's [-1,1] space
    assert c.given[0, :, :16].all() and not c.given[1:, :, :16].any() and c.given[:, :, 16:].all()


def test_history_and_lead_in():
    driving = torch.rand(9, 16, 16, 3)
    history = torch.rand(5, 16, 16, 3)
    c = build_composite(torch.zeros(16, 16, 3), driving, history=history)
    assert torch.equal(c.frames[:5, :, :16], history) and c.given[:5, :, :16].all() and not c.given[5:, :, :16].any()
    lead = build_composite(torch.zeros(16, 16, 3), driving, lead_in=4)
    assert lead.frames.shape[0] == 13
    assert not lead.given[:4, :, 16:].any() and lead.given[4:, :, 16:].all()
    assert torch.equal(lead.frames[4:, :, 16:], driving)


def test_latent_mask_folds_frame_zero_into_four_subframes():
    c = build_composite(torch.zeros(16, 16, 3), torch.rand(5, 16, 16, 3))
    mask = latent_mask(c.given)
    assert mask.shape == (1, 4, 2, 2, 4)  # F = 2 latent frames, h = 2, 2w = 4
    assert mask[0, :, 0, :, :2].all()  # frame 0 (reference) given in every sub-frame
    assert not mask[0, :, 1, :, :2].any()  # frames 1..4 to generate
    assert mask[0, :, :, :, 2:].all()  # driving half always given


def test_full_sampler_on_tiny_networks(tiny_i2v, tiny_codec):
    g = torch.Generator().manual_seed(0)
    prompt = WanPrompt(torch.randn(1, 6, 32, generator=g), torch.zeros(1, 2, 32), torch.randn(1, 4, 24, generator=g))
    reference, driving = torch.rand(16, 32, 3, generator=g), torch.rand(13, 16, 32, 3, generator=g)
    seen = []
    out = generate_dreamactor(tiny_i2v, tiny_codec, reference, driving, prompt,
                              FlowSettings(steps=2, guidance=4.0, solver="euler", seed=3), lead_in=4, segment=9,
                              history=5, progress=lambda d, t: seen.append((d, t)))
    assert out.shape == (13, 16, 32, 3) and torch.isfinite(out).all()
    assert seen[-1] == (4, 4)
    with pytest.raises(InputError, match="multiples of 16"):
        generate_dreamactor(tiny_i2v, tiny_codec, torch.rand(20, 32, 3), torch.rand(5, 20, 32, 3), prompt,
                            FlowSettings(steps=1))
