"""DreamActor-M2 on Wan-I2V: the double-width composite, its mask, and the full sampler on tiny networks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.sampling.dreamactor_m2 import generate_dreamactor, segment_input
from choreograph.core.sampling.solvers import FlowSettings
from choreograph.core.sampling.wan_prompt import WanPrompt


def test_history_frames_replace_the_reference_and_are_given():
    driving = torch.rand(9, 16, 16, 3)
    history = torch.rand(5, 16, 16, 3)
    first = segment_input(torch.full((16, 16, 3), 0.9), driving)
    assert np.allclose(first.composite[0, :, :16], 0.9) and first.mask[0, :, :16].all()
    later = segment_input(torch.full((16, 16, 3), 0.9), driving, history=history)
    assert np.allclose(later.composite[:5, :, :16], history.numpy())
    assert later.mask[:5, :, :16].all() and not later.mask[5:, :, :16].any() and later.mask[:, :, 16:].all()
    mask = later.latent_mask()
    assert mask.shape == (4, 3, 2, 4)  # 9 frames → F = 3; history covers latent frames 0 and 1
    assert mask[:, :2, :, :2].all() and not mask[:, 2, :, :2].any()


def test_full_sampler_on_tiny_networks(tiny_i2v, tiny_codec):
    g = torch.Generator().manual_seed(0)
    prompt = WanPrompt(torch.randn(1, 6, 32, generator=g), torch.zeros(1, 2, 32), torch.randn(1, 4, 24, generator=g))
    reference, driving = torch.rand(16, 32, 3, generator=g), torch.rand(7, 16, 32, 3, generator=g)
    seen = []
    out = generate_dreamactor(tiny_i2v, tiny_codec, reference, driving, prompt,
                              FlowSettings(steps=2, guidance=4.0, solver="euler", seed=3), lead_in=4, segment=5,
                              history=1, progress=lambda d, t: seen.append((d, t)))
    assert out.shape == (7, 16, 32, 3) and torch.isfinite(out).all()
    assert seen[-1] == (4, 4)
    with pytest.raises(InputError, match="multiples of 16"):
        generate_dreamactor(tiny_i2v, tiny_codec, torch.rand(20, 32, 3), torch.rand(5, 20, 32, 3), prompt,
                            FlowSettings(steps=1))


@pytest.mark.parametrize("image", [True, False])
def test_native_mode_reads_the_text_as_given_and_official_pads_it(tiny_i2v, tiny_codec, image):
    """Native ComfyUI feeds the prompt unpadded (a short prompt differs from its 512-padded form); the official
    Wan layout pads, so both forms give the same video. Without CLIP the native image branch reads the text."""
    g = torch.Generator().manual_seed(1)
    short = torch.randn(1, 6, 32, generator=g)
    padded = torch.cat([short, torch.zeros(1, 506, 32)], dim=1)
    clip = torch.randn(1, 4, 24, generator=g) if image else None
    reference, driving = torch.rand(16, 32, 3, generator=g), torch.rand(5, 16, 32, 3, generator=g)

    def run(text: torch.Tensor, compat: str) -> torch.Tensor:
        return generate_dreamactor(tiny_i2v, tiny_codec, reference, driving, WanPrompt(text, text, clip),
                                   FlowSettings(steps=1, solver="euler", seed=2), lead_in=0, segment=5, history=1,
                                   compat=compat)

    assert torch.equal(run(short, "official"), run(padded, "official"))
    assert not torch.allclose(run(short, "native"), run(padded, "native"), atol=1e-6)
