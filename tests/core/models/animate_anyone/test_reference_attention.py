"""ReferenceNet write/read attention (SPEC §1.1, §1.7) and the IMG edge weights (SPEC §1.2–1.3)."""
from __future__ import annotations

import math

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone import img
from choreograph.core.models.animate_anyone.config import SD15, TINY
from choreograph.core.models.animate_anyone.reference_attention import ReferenceBank, ReferenceReader
from choreograph.core.sampling.animate_anyone import encode_reference
from diffusers.models.attention_processor import Attention


def test_bank_has_every_spatial_block_of_the_denoiser(models, make_images):
    enc = encode_reference(models, make_images(1, 0)[0], make_images(1, 1)[0])
    assert set(enc.bank.features) == set(models.reader.attentions)
    assert not any("motion_modules" in b for b in enc.bank.features)
    mid = enc.bank.features["mid_block.attentions.0.transformer_blocks.0"]
    assert mid.shape == (1, 4 * 4, TINY.block_out_channels[-1])  # 16 px → 8×8 latent → 4×4 at the mid level


def test_reference_ieg_reaches_the_bank(models, make_images):
    ref = make_images(1, 0)[0]
    a = encode_reference(models, ref, make_images(1, 1)[0]).bank.features
    b = encode_reference(models, ref, make_images(1, 2)[0]).bank.features
    assert any(not torch.allclose(a[k], b[k]) for k in a)


def _attention(dim: int = 8, heads: int = 2, seed: int = 0) -> Attention:
    torch.manual_seed(seed)
    return Attention(query_dim=dim, heads=heads, dim_head=dim // heads).eval()


def test_read_attends_to_own_tokens_and_the_bank_repeated_per_frame():
    attn = _attention()
    unet = torch.nn.ModuleDict({"up": torch.nn.ModuleDict({"attentions": torch.nn.ModuleDict(
        {"0": torch.nn.ModuleDict({"attn1": attn})})})})
    reader = ReferenceReader.install(unet)
    (block,) = reader.attentions
    assert block == "up.attentions.0"
    hidden = torch.randn(3, 5, 8)  # 3 frames of one clip
    bank = ReferenceBank({block: torch.randn(1, 5, 8)})
    with reader.reading(bank):
        read = attn(hidden)
    manual = torch.cat([hidden, bank.features[block].expand(3, -1, -1)], 1)
    q = attn.to_q(hidden).view(3, 5, 2, 4).transpose(1, 2)
    k = attn.to_k(manual).view(3, 10, 2, 4).transpose(1, 2)
    v = attn.to_v(manual).view(3, 10, 2, 4).transpose(1, 2)
    expected = attn.to_out[0]((torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(4), -1) @ v)
                              .transpose(1, 2).reshape(3, 5, 8))
    torch.testing.assert_close(read, expected, atol=1e-5, rtol=1e-5)
    with reader.reading(None):  # unconditional branch: plain self-attention
        torch.testing.assert_close(attn(hidden), attn(hidden, encoder_hidden_states=hidden))


def test_reader_rejects_a_bank_from_another_unet(models):
    with pytest.raises(InputError, match="bank lacks"), models.reader.reading(ReferenceBank({})):
        pass
    with pytest.raises(InputError, match="matching_blocks"), models.reader.reading(None, capture=("no.such",)):
        pass


def test_matching_blocks_are_the_spec_layers():
    assert img.matching_blocks(SD15) == ("mid_block.attentions.0.transformer_blocks.0",
                                        "up_blocks.1.attentions.2.transformer_blocks.0",
                                        "up_blocks.2.attentions.2.transformer_blocks.0")
    assert img.matching_blocks(SD15, 4)[-1] == "up_blocks.3.attentions.2.transformer_blocks.0"
    assert img.level_size((64, 96), 8 * 12) == (8, 12) and img.level_size((5, 7), 3 * 4) == (3, 4)


def _dense_affinities(attn, gen, ref, gen_masks, ref_masks):
    """Eq. 5 written out with the full L×L attention map."""
    keys = attn.to_k(ref * ref_masks.sum(1).clamp(0, 1).unsqueeze(-1))
    heads = attn.heads
    q = attn.to_q(gen).view(*gen.shape[:2], heads, -1).transpose(1, 2)
    k = keys.view(*keys.shape[:2], heads, -1).transpose(1, 2)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
    return (gen_masks.unsqueeze(1) @ weights @ ref_masks.transpose(1, 2).unsqueeze(1)).mean(1)


def _two_character_scene(swap: bool):
    """Each generated character's tokens copy one reference character's (orthogonal) tokens, swapped or not."""
    length = 16
    ref = torch.eye(length).unsqueeze(0) * 5
    ref_masks = torch.zeros(1, 2, length)
    ref_masks[0, 0, :8], ref_masks[0, 1, 8:] = 1, 1
    gen = ref.clone()
    if swap:
        gen = torch.cat([ref[:, 8:], ref[:, :8]], 1)
    gen_masks = ref_masks.clone()
    return gen, ref, gen_masks, ref_masks


def test_chunked_affinities_equal_the_dense_formula():
    attn = _attention(16, 2)
    gen, ref, gen_masks, ref_masks = _two_character_scene(False)
    gen = gen + torch.randn_like(gen)
    dense = _dense_affinities(attn, gen, ref, gen_masks, ref_masks)
    torch.testing.assert_close(img.affinities(attn, gen, ref, gen_masks, ref_masks, chunk=3), dense)


def test_edge_weights_follow_appearance_and_score_identity_correctness():
    attn = _attention(16, 1)
    with torch.no_grad():  # q·k = x·y: tokens attend to their own copies
        for proj in (attn.to_q, attn.to_k):
            proj.weight.copy_(torch.eye(16))
    partner = torch.tensor([[0, 1]])
    right = img.edge_weights(img.affinities(attn, *_two_character_scene(False)))
    swapped = img.edge_weights(img.affinities(attn, *_two_character_scene(True)))
    assert torch.allclose(right.sum(-1), torch.ones(1, 2), atol=1e-6)
    assert right[0, 0, 0] > 0.9 and right[0, 1, 1] > 0.9
    score_right, valid = img.ic_score(right, partner)
    score_swapped, _ = img.ic_score(swapped, partner)
    assert valid.all() and score_right.item() > 0.9 and score_swapped.item() < 0.1


def test_empty_and_skipped_characters_do_not_count():
    weights = torch.tensor([[[0.8, 0.2], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    score, valid = img.ic_score(weights, torch.tensor([[0, 1], [0, -1]]))
    assert valid.tolist() == [True, False]
    assert score[0].item() == pytest.approx(0.8)


def test_matching_loss_gradient_reaches_query_and_key_projections():
    attn = _attention(16, 2)
    gen, ref, gen_masks, ref_masks = _two_character_scene(True)
    score, _ = img.ic_score(img.edge_weights(img.affinities(attn, gen, ref, gen_masks, ref_masks)),
                            torch.tensor([[0, 1]]))
    (1 - score.mean()).backward()
    assert attn.to_q.weight.grad.abs().sum() > 0 and attn.to_k.weight.grad.abs().sum() > 0


def test_motion_modules_normalise_each_frame_on_its_own():
    from choreograph.core.models.animate_anyone.networks import PerFrameGroupNorm, build_denoising_unet

    unet = build_denoising_unet(TINY)
    norms = [m for n, m in unet.named_modules() if n.endswith(".norm") and ".motion_modules." in n]
    assert norms and all(type(m) is PerFrameGroupNorm for m in norms)
    video = torch.randn(1, 32, 2, 3, 3)
    video[:, :, 1] = video[:, :, 1] * 10 + 5  # the second frame has very different statistics
    out = norms[0](video)
    alone = torch.nn.functional.group_norm(video[:, :, 0], norms[0].num_groups, norms[0].weight, norms[0].bias,
                                           norms[0].eps)
    torch.testing.assert_close(out[:, :, 0], alone)
