"""DanceTogether trains MultiFace on real identity vectors, fed per person in stream order, and uses them: after a
few training steps, swapping two people's vectors swaps what their identity tokens are attended to by."""
from __future__ import annotations

import copy

import pytest
import torch
from _support import load_helper
from choreograph.core.sampling.stable_animator import clip_image_tokens
from choreograph.core.models.stable_animator.unet import denoise_step
from choreograph.training.config import load_config
from choreograph.training.dataset import Clip
from choreograph.training.face_vectors import clip_faces
from choreograph.training.batch_loader import step_generators
from choreograph.training.trainer import losses, make_batch, optimise, setup


@pytest.fixture(scope="module")
def dance_files(tmp_path_factory) -> dict[str, str]:
    module = load_helper("core/models/stable_animator/tiny_dance.py")
    return {k: str(v) for k, v in module.write_files(tmp_path_factory.mktemp("dance")).items()}


def person_attention(objective, batch, identities: torch.Tensor) -> torch.Tensor:
    """``(F, L, N)``: at the UNet's first identity layer, each pixel's attention mass on each person's K tokens."""
    clip = clip_image_tokens(objective.image_encoder, batch.reference)
    faces = objective.face_encoder.encode_people(identities[None], clip)
    context = torch.cat([clip, faces], dim=1)
    attn = objective.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn2
    seen = {}
    hook = attn.register_forward_pre_hook(lambda _m, args, kwargs: seen.update(
        hidden=args[0] if args else kwargs["hidden_states"], context=kwargs["encoder_hidden_states"]),
        with_kwargs=True)
    frames, (h, w) = batch.frames.shape[0], batch.frames.shape[1:3]
    sample = torch.randn(1, frames, 8, h // 8, w // 8, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            denoise_step(objective.unet, sample, torch.tensor([0.5]), context,
                         objective.settings.time_ids(), None)
    finally:
        hook.remove()
    with torch.no_grad():
        tokens = seen["context"][:, 1:]
        query = attn.to_q(seen["hidden"]).unflatten(-1, (attn.heads, -1)).transpose(1, 2)
        key = attn.processor.id_to_k(tokens).unflatten(-1, (attn.heads, -1)).transpose(1, 2)
        weights = torch.softmax(query @ key.transpose(-2, -1) / query.shape[-1] ** 0.5, dim=-1).mean(1)
    people = identities.shape[0]
    return weights.unflatten(-1, (people, -1)).sum(-1)  # (F, L, N)


def test_identity_vectors_reach_multiface_and_swapping_them_swaps_attention(make_config, dance_files):
    config = load_config(make_config(model={"backbone": "dance_together", "dance_together": dance_files},
                                     data={"frames": 5, "width": 64, "height": 64},
                                     train={"learning_rate": 1e-3}))
    run = setup(config)
    objective = run.network
    batch = make_batch(run, step_generators(0, 0, 0)[0])
    clips = [Clip(p) for p in sorted({c.meta.path for c in run.clips})]
    expected = [torch.from_numpy(clip_faces(c.meta.path, c.meta.ids).vectors) for c in clips]
    assert any(torch.equal(batch.identities, e) for e in expected)  # the synthetic vectors, in track order
    assert batch.identities.shape[0] == batch.pose_maps.shape[0] == 2
    assert not torch.allclose(batch.identities[0], batch.identities[1])

    reached = []
    for seed in range(4):  # some draws drop the conditioning (zero context); most do not
        run.accelerator.backward(losses(run, batch, torch.Generator().manual_seed(seed))["loss"])
        first_layer = objective.face_encoder.proj[0].weight.grad  # zero unless non-zero vectors enter MultiFace
        reached.append(first_layer is not None and bool(first_layer.abs().sum() > 0))
        run.optimizer.zero_grad(set_to_none=True)
    assert any(reached)
    before = copy.deepcopy(objective.face_encoder.state_dict())
    for step in range(3):
        optimise(run, losses(run, batch, torch.Generator().manual_seed(step)))
    moved = max((objective.face_encoder.state_dict()[k] - v).abs().max() for k, v in before.items())
    assert moved > 0  # MultiFace trained

    objective.eval()
    maps = person_attention(objective, batch, batch.identities)
    swapped = person_attention(objective, batch, batch.identities[[1, 0]])
    assert (maps[..., 0] - maps[..., 1]).abs().max() > 0.01  # the two people's tokens draw different pixels
    torch.testing.assert_close(swapped[..., 0], maps[..., 1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(swapped[..., 1], maps[..., 0], atol=1e-5, rtol=1e-4)
