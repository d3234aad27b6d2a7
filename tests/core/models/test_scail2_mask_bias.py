"""SCAIL-2: the mask embedding's bias reaches every token group, the video tokens included (issue 18, mutation 1).

Source: SCAIL-2 (shared/papers, SPEC §3.1) adds ``patch_embedding_mask(mask)`` to every group's patch tokens; the
video group has no binding mask, so it receives only that conv's bias (``patch_embedding_mask(0) = bias``). Hence
an exact identity, derived from linearity alone: moving a vector ``b`` out of ``patch_embedding_mask.bias`` and into
the biases of both patch embeddings (``patch_embedding`` for references and video, ``patch_embedding_pose`` for
driving) changes no token, so the output must be bit-for-bit the same up to float rounding. If the video tokens
lost the mask bias, the video tokens would shift by ``b`` and the output would move.
"""
from __future__ import annotations

import copy

import torch
from choreograph.core.models.scail2 import ANIMATION, Scail2Context
from choreograph.core.models.wan_arch import SCAIL2

B, F, H, W = 1, 2, 8, 8


def _inputs(seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    ctx = Scail2Context(reference=torch.randn(B, 16, 1, H, W, generator=g),
                        reference_mask=torch.rand(B, 28, 1, H, W, generator=g),
                        driving=torch.randn(B, 16, F, H // 2, W // 2, generator=g),
                        driving_mask=torch.rand(B, 28, F, H // 2, W // 2, generator=g), mode=ANIMATION)
    return (torch.randn(B, 16, F, H, W, generator=g), torch.tensor([500.0]), torch.randn(B, 512, 32, generator=g),
            torch.randn(B, 4, 24, generator=g)), ctx


def test_mask_bias_is_a_shared_offset_of_every_group_video_included(make_tiny_model):
    model = make_tiny_model(SCAIL2).eval()
    moved = copy.deepcopy(model)
    with torch.no_grad():
        offset = torch.randn_like(model.patch_embedding_mask.bias) * 2.0
        model.patch_embedding_mask.bias.add_(offset)
        moved.patch_embedding.bias.add_(offset)
        moved.patch_embedding_pose.bias.add_(offset)
        (video, t, text, image), ctx = _inputs()
        out = model(video, t, text, image, context=ctx)
        same = moved(video, t, text, image, context=ctx)
        dropped = copy.deepcopy(model)  # control: the offset really moves the output when removed everywhere
        dropped.patch_embedding_mask.bias.sub_(offset)
        other = dropped(video, t, text, image, context=ctx)
    torch.testing.assert_close(same, out, atol=1e-5, rtol=1e-5)
    assert (other - out).abs().max() > 1e-3
