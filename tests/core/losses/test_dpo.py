"""Bias-Aware DPO with the regional hand mask (SPEC §3.5)."""
from __future__ import annotations

import math

import numpy as np
import torch
from choreograph.core.losses import dpo
from choreograph.core.pose import wholebody as wb


def _poses_with_hand(frames: int, at: int, box: tuple[float, float, float, float]) -> np.ndarray:
    poses = np.zeros((frames, 1, 133, 3), np.float32)
    x0, y0, x1, y1 = box
    points = np.stack([np.linspace(x0, x1, 21), np.linspace(y0, y1, 21), np.ones(21)], 1)
    poses[at, 0, wb.RIGHT_HAND] = points
    return poses


def test_hand_mask_maps_boxes_to_latent_frames_and_cells():
    positive = _poses_with_hand(9, 3, (0.5, 0.5, 0.6, 0.6))  # pixel frame 3 → latent frame 1
    negative = _poses_with_hand(9, 0, (0.0, 0.0, 0.2, 0.2))  # pixel frame 0 → latent frame 0
    mask = dpo.hand_region_mask([positive, negative], (10, 10))
    assert mask.shape == (3, 10, 10)
    # 10 % margin: 0.49..0.61 → floor(4.9)=4 .. ceil(6.1)=7
    assert mask[1].nonzero().min(0).values.tolist() == [4, 4]
    assert mask[1].nonzero().max(0).values.tolist() == [6, 6]
    assert mask[0, 0, 0] == 1 and mask[0].sum() == 9  # clipped at 0: rows/cols 0..2
    assert mask[2].sum() == 0


def test_masked_error_is_the_mse_inside_the_mask():
    prediction, target = torch.zeros(2, 16, 2, 4, 4), torch.zeros(2, 16, 2, 4, 4)
    prediction[:, :, 0, 0, 0] = 2.0  # inside
    prediction[:, :, 1, 3, 3] = 100.0  # outside
    mask = torch.zeros(2, 1, 2, 4, 4)
    mask[:, :, 0, :2, :2] = 1
    assert torch.allclose(dpo.masked_error(prediction, target, mask), torch.full((2,), 4.0 / 4), atol=1e-5)


def test_dpo_rewards_improving_on_the_reference_gap():
    zeros = torch.zeros(4)
    neutral = dpo.bias_aware_dpo(zeros, zeros, zeros, zeros, sft=torch.tensor(0.0))
    assert math.isclose(float(neutral.loss), math.log(2), rel_tol=1e-6)
    better = dpo.bias_aware_dpo(torch.full((4,), 0.1), torch.full((4,), 0.3), torch.full((4,), 0.2),
                                torch.full((4,), 0.2), sft=torch.tensor(0.5), beta=10.0, sft_weight=2.0)
    assert float(better.dpo) < math.log(2) and float(better.implicit_accuracy) == 1.0
    assert math.isclose(float(better.loss), float(better.dpo) + 1.0, rel_tol=1e-6)
    worse = dpo.bias_aware_dpo(torch.full((4,), 0.3), torch.full((4,), 0.1), zeros, zeros, sft=torch.tensor(0.0))
    assert float(worse.dpo) > math.log(2) and float(worse.implicit_accuracy) == 0.0


def test_reference_errors_carry_no_gradient():
    win = torch.tensor([0.2], requires_grad=True)
    ref = torch.tensor([0.1], requires_grad=True)
    dpo.bias_aware_dpo(win, torch.tensor([0.3]), ref, torch.tensor([0.3]), sft=win.sum()).loss.backward()
    assert win.grad is not None and ref.grad is None
