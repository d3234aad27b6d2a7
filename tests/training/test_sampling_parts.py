"""Pair sampling (SPEC §1.5), the pixel codec, bone-length augmentation (§4.2) and SCAIL-2 training samples."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from choreograph.core.models.scail2 import MASK_CHANNELS
from choreograph.core.pose.sequence import PoseSequence
from choreograph.training.augment import GROUPS, scale_bones
from choreograph.core.models.pixel_codec import PixelCodec
from choreograph.training.dataset import Clip, list_clips
from choreograph.training.pairs import sample_pair
from choreograph.training.scail2_batch import SampleOptions, clip_sample, collate


def test_swap_pairs_are_drawn_with_probability_beta():
    rng = np.random.default_rng(0)
    swaps = np.array([[0, 40], [3, 90], [50, 10]])  # (3, 90) cannot hold a 17-frame window in 100 frames
    draws = [sample_pair(rng, 100, 17, swaps, beta=0.5, margin=5) for _ in range(2000)]
    drawn_swaps = [(a, b) for a, b, s in draws if s]
    assert 0.45 < len(drawn_swaps) / 2000 < 0.55
    assert set(drawn_swaps) == {(0, 40), (50, 10)}
    assert all(abs(a - b) <= 5 and b <= 83 for a, b, s in draws if not s)
    assert not any(s for _, _, s in (sample_pair(rng, 100, 17, swaps, beta=0.0) for _ in range(100)))
    with pytest.raises(ValueError):
        sample_pair(rng, 4, 5, swaps)


def test_pixel_codec_is_wan_shaped_and_exact_on_blocky_video():
    codec = PixelCodec()
    blocks = torch.rand(5, 8, 8, 3).repeat_interleave(4, 1).repeat_interleave(4, 2)  # 4×4 pixel blocks
    blocks[1:] = blocks[1:2]  # frames 1..4 form one latent frame: identical, so their mean is exact
    latent = codec.encode(blocks)
    assert latent.shape == (1, 16, 2, 4, 4)
    assert torch.allclose(codec.decode(latent), blocks, atol=1e-5)
    assert torch.equal(latent[:, 12:], torch.zeros_like(latent[:, 12:]))
    with pytest.raises(ValueError):
        codec.encode(torch.rand(5, 12, 12, 3))


def _arm_pose() -> PoseSequence:
    kp = np.zeros((1, 1, 133, 3), np.float32)
    points = {5: (40, 20), 6: (60, 20), 7: (30, 40), 9: (30, 60), 11: (45, 60), 12: (55, 60), 0: (50, 10),
              1: (48, 8)}
    for i, (x, y) in points.items():
        kp[0, 0, i] = (x, y, 1)
    kp[0, 0, 91] = (30, 62, 1)  # left hand root near the wrist
    return PoseSequence(kp, (0,), 100, 100)


def test_bone_scaling_rebuilds_joints_outward_from_the_neck():
    pose = _arm_pose()
    same = scale_bones(pose, np.random.default_rng(0), {g: 1.0 for g in GROUPS})
    assert np.allclose(same.keypoints, pose.keypoints)
    scales = {g: 1.0 for g in GROUPS} | {"upper_arm": 1.5, "head": 2.0}
    out = scale_bones(pose, np.random.default_rng(0), scales).keypoints[0, 0]
    assert np.allclose(out[7, :2], (25, 50))  # elbow: shoulder + 1.5·(elbow − shoulder)
    assert np.allclose(out[9, :2], (25, 70))  # wrist keeps its forearm vector, moved with the elbow
    assert np.allclose(out[91, :2], (25, 72))  # hand follows the wrist
    assert np.allclose(out[0, :2], (50, 0)) and np.allclose(out[1, :2], (48, -2))  # face moves rigidly with nose
    assert np.allclose(out[[10, 13]], 0)  # unseen joints stay unseen


def test_training_sample_fits_the_transformer_and_binds_slots(clip_root):
    clip = Clip(list_clips(clip_root)[0])
    options = SampleOptions(frames=5, width=32, height=32, swap_probability=1.0)
    samples = [clip_sample(clip, PixelCodec(), options, np.random.default_rng(s)) for s in range(2)]
    batch = collate(samples)
    assert batch.latent.shape == (2, 16, 2, 4, 4)
    batch.context.check(batch.latent.shape)
    assert batch.context.reference_mask.shape[1] == MASK_CHANNELS
    assert batch.gen_masks.shape == (2, 2, 2, 32, 32) and batch.ref_masks.shape == (2, 2, 32, 32)
    assert bool(batch.swapped.all())
    # each identity's reference slot channel is lit where that identity stands (slot permutation is consistent)
    ref_slots = batch.context.reference_mask[:, 1:7, 0].flatten(2).sum(-1) > 0  # sub-frame 0 channels
    drv_slots = batch.context.driving_mask[:, 1:7].flatten(2).sum(-1) > 0
    assert torch.equal(ref_slots & drv_slots, ref_slots)
    assert ref_slots.sum(1).tolist() == [2, 2]
