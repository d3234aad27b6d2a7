"""Pose scores: exact values on constructed motions, alignment invariances, pairing and bad input."""
import math

import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.metrics.frechet import frechet_between
from choreograph.core.metrics.pose import WHOLEBODY_SIGMAS, align_similarity, pose_metrics
from choreograph.core.pose.sequence import PoseSequence

FPS = 10.0


def _poses(xy, ids=(0, 1), width=96, height=80, conf=1.0):
    kp = np.concatenate([xy, np.full(xy.shape[:-1] + (1,), conf)], axis=-1)
    return PoseSequence(kp, ids, width, height, FPS)


def _walk(frames=6, people=2, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(20, 60, (1, people, 133, 2))
    drift = np.arange(frames)[:, None, None, None] * np.array([1.5, 0.5])
    return base + drift


def test_identical_poses_score_perfectly():
    xy = _walk()
    m = pose_metrics(_poses(xy), _poses(xy))
    assert m["MPJPE"] == pytest.approx(0, abs=1e-9) and m["OKS"] == pytest.approx(1)
    assert m["PoseSSIM"] == pytest.approx(1) and m["TimeDynRMSE"] == pytest.approx(0, abs=1e-9)
    assert m["FVMD"] == pytest.approx(0, abs=1e-6)
    assert m["SmoothRMS"] == pytest.approx(0, abs=0.01)  # float32 keypoints × fps³
    assert (m["frames"], m["people"]) == (6, 2)


def test_alignment_removes_scale_and_shift_but_oks_sees_them():
    xy = _walk()
    moved = (xy - 40) * 0.8 + 45
    m = pose_metrics(_poses(moved), _poses(xy))
    assert m["MPJPE"] == pytest.approx(0, abs=1e-4) and m["OKS"] < 0.9
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rotated = (xy - 40) @ rot.T * 1.2 + 40
    assert pose_metrics(_poses(rotated), _poses(xy))["MPJPE"] > 1
    assert pose_metrics(_poses(rotated), _poses(xy), rotation=True)["MPJPE"] == pytest.approx(0, abs=1e-4)
    src = np.random.default_rng(1).random((10, 2))
    assert align_similarity(src, src * 3 + 1) == pytest.approx(src * 3 + 1)


def test_exact_errors_oks_jerk_acceleration_and_velocity_shift():
    xy = _walk(frames=7)
    offset = xy.copy()
    offset[..., 0] += 2.0
    offset[:, 0, 5, 0] += 3.0  # one keypoint of person 0 is off by 3 px more (not removable by a shift... mostly)
    areas = np.full((7, 2), 400.0)
    m = pose_metrics(_poses(offset), _poses(xy), gt_areas=areas)
    kappa2 = (2 * WHOLEBODY_SIGMAS) ** 2
    d2 = np.full(133, 4.0)
    per_person = [np.exp(-d2 / (800 * kappa2)), np.exp(-d2 / (800 * kappa2))]
    per_person[0][5] = np.exp(-25.0 / (800 * kappa2[5]))
    assert m["OKS"] == pytest.approx(np.concatenate(per_person).mean())
    t = np.arange(7, dtype=float)[:, None, None, None]
    cubic = xy + np.concatenate([0.1 * t**3, 0 * t], axis=-1)
    assert pose_metrics(_poses(cubic), _poses(xy))["SmoothRMS"] == pytest.approx(0.6 * FPS**3)
    quadratic = xy + np.concatenate([0 * t, 0.5 * t**2], axis=-1)
    assert pose_metrics(_poses(quadratic), _poses(xy))["TimeDynRMSE"] == pytest.approx(1.0 * FPS**2)
    faster = xy * np.array([1.0, 1.0]) + np.concatenate([0.5 * t, 0 * t], axis=-1)
    assert pose_metrics(_poses(faster), _poses(xy))["FVMD"] == pytest.approx((0.5 * FPS) ** 2, abs=1e-4)


def test_people_are_paired_by_position_when_ids_differ_and_lengths_are_trimmed():
    xy = _walk(frames=6)
    swapped = _poses(xy[:, ::-1], ids=(7, 9))
    m = pose_metrics(swapped, _poses(xy[:5]))
    assert m["MPJPE"] == pytest.approx(0, abs=1e-4) and m["frames"] == 5
    same_ids_other_order = _poses(xy[:, ::-1], ids=(0, 1))  # a tracker's ids carry no meaning across videos
    assert pose_metrics(same_ids_other_order, _poses(xy))["MPJPE"] == pytest.approx(0, abs=1e-4)
    low = _poses(xy, conf=0.2)  # nothing confident: no pairing possible
    with pytest.raises(InputError, match="confident"):
        pose_metrics(low, _poses(xy, ids=(4, 5)))
    with pytest.raises(InputError, match="canvas"):
        pose_metrics(_poses(xy, width=200), _poses(xy))


def test_unseen_keypoints_do_not_count_and_short_clips_give_nan():
    xy = _walk(frames=2)
    gen = _poses(xy)
    broken = gen.keypoints.copy()
    broken[:, 0, :50, :2] += 30
    broken[:, 0, :50, 2] = 0.0  # wildly wrong but marked unseen
    m = pose_metrics(PoseSequence(broken, (0, 1), 96, 80, FPS), _poses(xy))
    assert m["MPJPE"] == pytest.approx(0, abs=1e-9)
    assert math.isnan(m["SmoothRMS"]) and math.isnan(m["TimeDynRMSE"])


def test_frechet_distance_of_shifted_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    a -= a.mean(0)
    assert frechet_between(a, a + [1, 2, 0]) == pytest.approx(5.0, rel=1e-6)
    assert frechet_between(a, a * 2) == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-6)
    with pytest.raises(InputError, match="at least 2"):
        frechet_between(a[:1], a)
