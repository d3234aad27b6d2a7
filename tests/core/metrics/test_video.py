"""Full-reference video scores: SSIM/PSNR agree with torchmetrics and scikit-image; masks and bad input."""
import math

import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.metrics.video import gmsd_temporal, psnr, ssim, st_ssim, video_quality


def _clip(seed=0, frames=4, size=(24, 32)):
    rng = np.random.default_rng(seed)
    base = rng.random((frames, *size, 3))
    noisy = np.clip(base + rng.normal(0, 0.1, base.shape), 0, 1)
    return base, noisy


def test_ssim_and_psnr_agree_with_torchmetrics_and_skimage():
    tm = pytest.importorskip("torchmetrics.functional")
    skm = pytest.importorskip("skimage.metrics")
    ref, gen = _clip()
    ref_tm_ssim = tm.structural_similarity_index_measure(
        torch.from_numpy(gen).permute(0, 3, 1, 2), torch.from_numpy(ref).permute(0, 3, 1, 2), gaussian_kernel=True, sigma=1.5, kernel_size=11,
        data_range=1.0)
    assert ssim(gen, ref) == pytest.approx(float(ref_tm_ssim), abs=2e-3)  # torchmetrics crops borders differently
    sk = np.mean([skm.structural_similarity(gen[t], ref[t], data_range=1.0, channel_axis=2,
                                            gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
                  for t in range(len(gen))])
    assert ssim(gen, ref) == pytest.approx(sk, abs=1e-9)
    per_frame = [float(tm.peak_signal_noise_ratio(torch.from_numpy(g), torch.from_numpy(r), data_range=1.0))
                 for g, r in zip(gen, ref)]
    assert psnr(gen, ref) == pytest.approx(np.mean(per_frame), abs=1e-6)


def test_st_ssim_equals_ssim_on_static_clips_and_gmsd_sees_motion_only():
    ref, gen = _clip(frames=1)
    static_ref, static_gen = np.repeat(ref, 5, axis=0), np.repeat(gen, 5, axis=0)
    assert st_ssim(static_gen, static_ref) == pytest.approx(ssim(static_gen, static_ref), abs=1e-9)
    assert st_ssim(static_ref, static_ref) == pytest.approx(1.0)
    moving, _ = _clip(seed=3, frames=5)
    assert gmsd_temporal(moving, moving) == pytest.approx(0.0, abs=1e-12)
    assert gmsd_temporal(np.clip(moving * 0.9 + 0.05, 0, 1), moving) == pytest.approx(0.0, abs=0.02)
    frozen = np.repeat(moving[:1], 5, axis=0)
    assert gmsd_temporal(frozen, moving) > 0.1
    assert math.isnan(st_ssim(moving[:2], moving[:2])) and math.isnan(gmsd_temporal(moving[:1], moving[:1]))


def test_masked_scores_ignore_what_lies_outside_the_people():
    ref, _ = _clip(frames=3)
    masks = torch.zeros(3, 2, 24, 32)  # torch masks are accepted like numpy ones
    masks[:, 0, 2:14, 2:14] = 1
    masks[:, 1, 10:22, 16:30] = 1
    outside = (masks.sum(1) == 0)[..., None].numpy()
    gen = np.where(outside, 1 - ref, ref)
    scores = video_quality(gen, ref, masks)
    assert scores["masked_L1"] == 0 and scores["masked_SSIM"] == pytest.approx(1.0)
    assert scores["masked_PSNR"] == pytest.approx(100.0)
    assert scores["L1"] > 0.2 and scores["SSIM"] < 0.5
    masks[:, 1] = 0  # a person never present is left out, not scored as a perfect empty region
    assert video_quality(gen, ref, masks)["masked_L1"] == 0


def test_mismatched_or_invalid_videos_are_refused():
    ref, gen = _clip()
    with pytest.raises(InputError, match="frames"):
        video_quality(gen[:3], ref)
    with pytest.raises(InputError, match="resize"):
        video_quality(gen[:, :20], ref)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        video_quality(gen * 255, ref)
    with pytest.raises(InputError, match="masks"):
        video_quality(gen, ref, torch.ones(4, 1, 10, 10))
