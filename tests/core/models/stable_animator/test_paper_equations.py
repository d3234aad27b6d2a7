"""Constants and weight-facing maths of DanceTogether / StableAnimator, pinned against independent derivations.

Each expected value below is computed here from the source's own equation, with the source's numbers written in
this file, never read from our modules; our modules only supply their weights. Sources:

* DanceTogether (shared/papers/dancetogether.txt §3.3, MaskPoseAdapter): eq. (7) f' = λ·w_pose·f_pose +
  (1 − λ)·w_mask·f_mask with λ = 0.8 at init; eq. (8) f = f' + α_res·(1 − λ)·w_mask·f_mask with α_res = 0.5;
  eq. (10) f̂ = s_p·f + (1 − s_p)·h with s_p = 1.5, h = PoseEnhancer(f); eq. (11)–(14) logits from the
  LayerNorm'd f̂, softmax over people at temperature τ (1 at init), S = Σ α_i·LN(f̂_i), F_int = Conv1×1(S);
  eq. (15) F = 0.9·F_int + 0.05·(1/N)·Σ f̂_i (the mean of the *un-normalised* f̂).
  ``w_mask·f_mask`` is our 3→C lift of the gated mask features (SPEC §8 row 7, a reconstructed choice).
* StableAnimator ``animation/modules/id_encoder.py`` (FacePerceiver, the IP-Adapter resampler): dim_head = 64,
  heads = D/64, and ``scale = 1/sqrt(sqrt(dim_head))`` applied to q and k each, so the logits are
  q·kᵀ/√64 — standard scaled dot-product attention over keys/values ``[LN(x) ; LN(latents)]``.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from choreograph.core.models.stable_animator.face_encoder import FaceEncoderConfig, FaceIdEncoder, PerceiverAttention
from choreograph.core.models.stable_animator.mask_pose import MaskPoseAdapter, MaskPoseConfig

LAMBDA_INIT, ALPHA_RES, S_P, W_INT, W_MEAN, TAU_INIT = 0.8, 0.5, 1.5, 0.9, 0.05, 1.0  # DanceTogether eq. (7)–(15)
PERCEIVER_DIM_HEAD = 64  # StableAnimator FacePerceiver(dim_head=64)


def _distinctive(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter and BatchNorm statistic random, so no path hides behind a zero init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name in ("pose_weight_logit", "log_temperature"):
                continue  # keep the paper's initial λ and τ
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if "norm" in name
                                                                                           and p.dim() == 1
                                                                                           and "weight" in name
                                                                                           else 0.0))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return module.eval()


def paper_mask_pose(adapter: MaskPoseAdapter, poses: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """DanceTogether eq. (4)–(15) written out with the paper's constants; ``adapter`` lends only its layers."""
    n, m = poses.shape[:2]
    pose = poses.flatten(0, 1)
    f_pose = adapter.pose_net(pose)  # eq. (4)
    f_mask = adapter.mask_processor(F.interpolate(masks.flatten(0, 1), size=f_pose.shape[-2:], mode="area"))  # (5)
    w_pose = adapter.pose_gate(adapter.pose_reduce(f_pose))  # eq. (6)
    gated_mask = adapter.mask_gate(f_mask) * adapter.mask_proj(f_mask)
    f_prime = LAMBDA_INIT * w_pose * f_pose + (1 - LAMBDA_INIT) * gated_mask  # eq. (7)
    f = f_prime + ALPHA_RES * (1 - LAMBDA_INIT) * gated_mask  # eq. (8)
    h = adapter.enhancer(f)  # eq. (9)
    f_hat = (S_P * f + (1 - S_P) * h).unflatten(0, (n, m))  # eq. (10), (N, M, C, h, w)
    normed = F.layer_norm(f_hat.movedim(2, -1), (f_hat.shape[2],), adapter.person_norm.weight,
                          adapter.person_norm.bias, adapter.person_norm.eps).movedim(-1, 2)
    logits = adapter.person_attention(torch.cat(list(normed), dim=1))  # eq. (11), (M, N, h, w)
    alpha = torch.softmax(logits / TAU_INIT, dim=1)  # eq. (12)
    s = sum(alpha[:, i:i + 1] * normed[i] for i in range(n))  # eq. (13)
    return W_INT * adapter.integrate(s) + W_MEAN * f_hat.mean(0)  # eq. (14), (15)


def test_mask_pose_config_holds_the_papers_constants():
    config = MaskPoseConfig()
    assert (config.pose_weight_init, config.residual_mask, config.enhance_scale) == (LAMBDA_INIT, ALPHA_RES, S_P)
    assert (config.integrated_weight, config.mean_weight, config.temperature_init) == (W_INT, W_MEAN, TAU_INIT)
    assert not config.additive_enhance


@pytest.mark.parametrize("people", [2, 3])
def test_mask_pose_adapter_computes_the_papers_equations(people):
    adapter = _distinctive(MaskPoseAdapter(MaskPoseConfig(channels=32, people=people)), seed=people)
    g = torch.Generator().manual_seed(10 + people)
    poses = torch.rand(people, 2, 3, 32, 32, generator=g) * 2 - 1
    masks = (torch.rand(people, 2, 1, 32, 32, generator=g) > 0.4).float()
    with torch.no_grad():
        ours, expected = adapter(poses, masks), paper_mask_pose(adapter, poses, masks)
    assert ours.abs().max() > 0.1  # a meaningful signal, not a collapsed map
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


def test_each_fusion_term_matters_at_this_scale():
    """Controls: the comparison above is sensitive to each pinned term (so passing it is informative)."""
    adapter = _distinctive(MaskPoseAdapter(MaskPoseConfig(channels=32, people=2)), seed=2)
    g = torch.Generator().manual_seed(12)
    poses = torch.rand(2, 2, 3, 32, 32, generator=g) * 2 - 1
    masks = (torch.rand(2, 2, 1, 32, 32, generator=g) > 0.4).float()
    with torch.no_grad():
        base = paper_mask_pose(adapter, poses, masks)
        for variant in (MaskPoseConfig(channels=32, people=2, residual_mask=0.0),
                        MaskPoseConfig(channels=32, people=2, additive_enhance=True)):
            other = MaskPoseAdapter(variant)
            other.load_state_dict(adapter.state_dict())
            assert (other.eval()(poses, masks) - base).abs().max() > 1e-3, variant


def paper_perceiver_attention(layer: PerceiverAttention, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """StableAnimator PerceiverAttention: standard attention, logits q·kᵀ/√dim_head, keys [LN x ; LN latents]."""
    x, latents = layer.norm1(x), layer.norm2(latents)
    q = layer.to_q(latents)
    k, v = layer.to_kv(torch.cat([x, latents], dim=1)).chunk(2, dim=-1)
    heads = q.shape[-1] // PERCEIVER_DIM_HEAD
    q, k, v = (t.unflatten(-1, (heads, PERCEIVER_DIM_HEAD)).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(PERCEIVER_DIM_HEAD), dim=-1)
    return layer.to_out((weights @ v).transpose(1, 2).flatten(2))


def test_face_perceiver_attention_scale_is_one_over_sqrt_dim_head():
    layer = _distinctive(PerceiverAttention(128, 128 // PERCEIVER_DIM_HEAD), seed=5)
    g = torch.Generator().manual_seed(6)
    x, latents = torch.randn(2, 1, 128, generator=g) * 3, torch.randn(2, 4, 128, generator=g) * 3
    with torch.no_grad():
        ours, expected = layer(x, latents), paper_perceiver_attention(layer, x, latents)
        flatter = layer.to_out(F.scaled_dot_product_attention(  # control: the d^-1/2-per-side variant differs
            *(t.unflatten(-1, (2, 64)).transpose(1, 2) for t in (
                layer.to_q(layer.norm2(latents)),
                *layer.to_kv(torch.cat([layer.norm1(x), layer.norm2(latents)], 1)).chunk(2, -1))),
            scale=1 / 64).transpose(1, 2).flatten(2))
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    assert (flatter - expected).abs().max() > 1e-3


def test_face_encoder_published_shapes():
    """StableAnimator's released face_encoder: FusionFaceId(cross_attention_dim=1024, id_embeddings_dim=512,
    clip_embeddings_dim=1024, num_tokens=4); FacePerceiver(depth=4, dim_head=64, heads=16, ff_mult=4)."""
    with torch.device("meta"):
        encoder = FaceIdEncoder(FaceEncoderConfig())
    shapes = {k: tuple(v.shape) for k, v in encoder.state_dict().items()}
    assert shapes["proj.0.weight"] == (1024, 512) and shapes["proj.2.weight"] == (4 * 1024, 1024)
    assert shapes["fusion_model.layers.3.0.to_q.weight"] == (16 * PERCEIVER_DIM_HEAD, 1024)
    assert shapes["fusion_model.layers.0.0.to_kv.weight"] == (2 * 16 * PERCEIVER_DIM_HEAD, 1024)
    assert shapes["fusion_model.layers.0.1.1.weight"] == (4 * 1024, 1024)
    assert "fusion_model.layers.4.0.to_q.weight" not in shapes
    assert encoder.fusion_model.layers[0][0].heads == 1024 // PERCEIVER_DIM_HEAD
