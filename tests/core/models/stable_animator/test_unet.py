"""Identity attention (moment alignment, init from to_k/to_v) and adapter features added after ``conv_in``."""
from __future__ import annotations

import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.stable_animator.id_attention import IdentityAttnProcessor, moment_aligned
from choreograph.core.models.stable_animator.loader import load_unet
from choreograph.core.models.stable_animator.unet import denoise_step

FRAMES = 3


@pytest.fixture(scope="module")
def unet(tiny):
    return tiny.tiny_unet()


def call(unet, context, features=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, FRAMES, 8, 4, 4, generator=g)
    with torch.no_grad():
        return denoise_step(unet, sample, torch.tensor([0.3]), context, torch.tensor([[6.0, 127.0, 0.02]]),
                            features)


def spatial_attn2(unet):
    return unet.down_blocks[0].attentions[0].transformer_blocks[0].attn2


def test_moment_alignment_takes_the_image_branch_statistics():
    g = torch.Generator().manual_seed(0)
    face, image = torch.randn(2, 5, 8, generator=g) * 3 + 1, torch.randn(2, 5, 8, generator=g) * 0.5 - 2
    aligned = moment_aligned(face, image)
    assert torch.allclose(aligned.mean(dim=(1, 2)), image.mean(dim=(1, 2)), atol=1e-5)
    assert torch.allclose(aligned.std(dim=(1, 2)), image.std(dim=(1, 2)), atol=1e-3)


def test_without_identity_tokens_the_processor_is_plain_cross_attention(unet):
    attn = spatial_attn2(unet)
    assert isinstance(attn.processor, IdentityAttnProcessor)
    g = torch.Generator().manual_seed(1)
    hidden, clip = torch.randn(2, 16, attn.to_q.in_features, generator=g), torch.randn(2, 1, 64, generator=g)
    with torch.no_grad():
        ours = attn.processor(attn, hidden, clip)
        stock = AttnProcessor2_0()(attn, hidden, clip)
        with_faces = attn.processor(attn, hidden, torch.cat([clip, torch.randn(2, 8, 64, generator=g)], 1))
    assert torch.allclose(ours, stock, atol=1e-5)
    assert not torch.allclose(with_faces, stock, atol=1e-4)


def test_identity_projections_start_as_to_k_and_to_v(tiny):
    unet = tiny.tiny_unet(identity=False)
    from choreograph.core.models.stable_animator.id_attention import install_identity_processors

    install_identity_processors(unet)
    attn = spatial_attn2(unet)
    assert torch.equal(attn.processor.id_to_k.weight, attn.to_k.weight)
    assert torch.equal(attn.processor.id_to_v.weight, attn.to_v.weight)


def test_features_are_added_after_conv_in_only_during_the_call(unet):
    context = torch.randn(1, 9, 64, generator=torch.Generator().manual_seed(2))
    plain = call(unet, context)
    zero = call(unet, context, torch.zeros(FRAMES, 32, 4, 4))
    moved = call(unet, context, torch.randn(FRAMES, 32, 4, 4))
    assert torch.equal(plain, zero) and not torch.allclose(plain, moved)
    assert not unet.conv_in._forward_hooks
    assert plain.shape == (1, FRAMES, 4, 4, 4)
    with pytest.raises(ValueError, match="frames"):
        call(unet, context, torch.zeros(FRAMES + 1, 32, 4, 4))


def test_face_tokens_change_the_output(unet):
    g = torch.Generator().manual_seed(3)
    clip = torch.randn(1, 1, 64, generator=g)
    faces = torch.randn(1, 8, 64, generator=g)
    assert not torch.allclose(call(unet, torch.cat([clip, faces], 1)), call(unet, clip), atol=1e-5)


def test_plain_svd_unet_file_gets_identity_layers_initialised(tmp_path, tiny):
    tiny.tiny_unet(identity=False).save_pretrained(tmp_path / "svd_unet", safe_serialization=True)
    unet = load_unet(tmp_path / "svd_unet", DtypePolicy(torch.float32))
    attn = spatial_attn2(unet)
    assert torch.equal(attn.processor.id_to_k.weight, attn.to_k.weight)


def test_temporal_cross_attention_sees_only_the_clip_token(unet):
    """StableAnimator's transformer_temporal.py drops the face tokens before the temporal blocks' attn2."""
    from choreograph.core.models.stable_animator.id_attention import ClipOnlyAttnProcessor

    temporal = {n: p for n, p in unet.attn_processors.items()
                if "temporal_transformer_blocks" in n and n.endswith("attn2.processor")}
    assert temporal and all(isinstance(p, ClipOnlyAttnProcessor) for p in temporal.values())
    attn = unet.down_blocks[0].attentions[0].temporal_transformer_blocks[0].attn2
    g = torch.Generator().manual_seed(4)
    hidden = torch.randn(2, FRAMES, attn.to_q.in_features, generator=g)
    clip = torch.randn(2, 1, attn.to_k.in_features, generator=g)
    faces = torch.randn(2, 8, attn.to_k.in_features, generator=g)
    with torch.no_grad():
        ours = attn.processor(attn, hidden, torch.cat([clip, faces], dim=1))
        plain = AttnProcessor2_0()(attn, hidden, clip)
    torch.testing.assert_close(ours, plain)
