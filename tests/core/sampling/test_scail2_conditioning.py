"""SCAIL-2 conditioning embedded once per segment gives exactly the per-call result, and is embedded once."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.models.scail2 import Scail2Context
from choreograph.core.sampling.scail2 import sample_scail2
from choreograph.core.sampling.solvers import FlowSettings
from choreograph.core.sampling.wan_prompt import WanPrompt


def _context(compat: str, masks: bool = True, extra: bool = False) -> Scail2Context:
    g = torch.Generator().manual_seed(5)
    f, h, w = 3, 4, 8
    parts = {"reference": torch.randn(1, 16, 1, h, w, generator=g), "reference_mask": None,
             "driving": torch.randn(1, 16, f, h // 2, w // 2, generator=g), "driving_mask": None}
    if masks:
        parts.update(reference_mask=torch.rand(1, 28, 1, h, w, generator=g),
                     driving_mask=torch.rand(1, 28, f, h // 2, w // 2, generator=g))
    if extra:
        parts.update(extra_references=torch.randn(1, 16, 2, h, w, generator=g),
                     extra_reference_masks=torch.rand(1, 28, 2, h, w, generator=g))
    return Scail2Context(**parts, compat=compat)


def _prompt(image: bool) -> WanPrompt:
    g = torch.Generator().manual_seed(6)
    return WanPrompt(torch.randn(1, 7, 32, generator=g), torch.randn(1, 3, 32, generator=g),
                     torch.randn(1, 4, 24, generator=g) if image else None)


@pytest.mark.parametrize("compat, masks, extra, image, guidance", [
    ("official", True, True, True, 3.0),
    ("official", True, False, True, 1.0),
    ("native", False, False, False, 2.0),
    ("native", True, True, False, 1.0),
])
def test_embedding_once_is_bit_identical(tiny_scail2, compat, masks, extra, image, guidance):
    context, prompt = _context(compat, masks, extra), _prompt(image)
    settings = FlowSettings(steps=3, guidance=guidance, solver="unipc", seed=2)
    history = torch.randn(1, 16, 1, 4, 8, generator=torch.Generator().manual_seed(7))
    for clean in (None, history):
        once = sample_scail2(tiny_scail2, context, prompt, settings, clean, embed_once=True)
        every = sample_scail2(tiny_scail2, context, prompt, settings, clean, embed_once=False)
        assert torch.equal(once, every)


def test_reference_driving_and_text_are_embedded_once_per_segment(tiny_scail2, monkeypatch):
    calls = {"references": 0, "driving": 0, "video": 0}
    for name in calls:
        original = getattr(tiny_scail2, f"embed_{name}")

        def counted(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(tiny_scail2, f"embed_{name}", counted)
    text = tiny_scail2.condition_embedder.text_embedder
    texts = []
    handle = text.register_forward_hook(lambda *_: texts.append(1))
    try:
        sample_scail2(tiny_scail2, _context("official"), _prompt(True), FlowSettings(steps=4, guidance=3.0))
    finally:
        handle.remove()
    assert calls == {"references": 1, "driving": 1, "video": 8}  # 4 steps × 2 branches embed only the video
    assert len(texts) == 2  # the positive and the negative prompt, once each
