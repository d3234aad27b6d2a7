"""Bone-length retargeting, DreamActor-M2 augmentations and zero-lag smoothing."""
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.pose import wholebody as wb
from choreograph.core.pose.augment import (
    augment_bone_lengths,
    keypoint_box,
    normalise_to_box,
    normalise_to_reference,
    scale_bone_groups,
)
from choreograph.core.pose.retarget import retarget_sequence
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.pose.skeleton_tree import BONES, bone_vectors, neck
from choreograph.core.pose.smoothing import smooth_sequence, smooth_track

BODY = np.array([[0, -0.85], [-0.03, -0.88], [0.03, -0.88], [-0.06, -0.86], [0.06, -0.86], [-0.12, -0.7],
                 [0.12, -0.7], [-0.16, -0.45], [0.16, -0.45], [-0.17, -0.2], [0.17, -0.2], [-0.08, 0], [0.08, 0],
                 [-0.09, 0.27], [0.09, 0.27], [-0.09, 0.5], [0.09, 0.5]])


def person(x: float, height: float = 100.0, forearm: float = 1.0, shin: float = 1.0, wave: float = 0.0) -> np.ndarray:
    """A whole-body figure: stretched forearms/shins, the right arm raised by ``wave`` radians, hands, feet, face."""
    body = BODY.copy()
    for elbow, wrist in ((wb.LEFT_ELBOW, wb.LEFT_WRIST), (wb.RIGHT_ELBOW, wb.RIGHT_WRIST)):
        body[wrist] = body[elbow] + forearm * (body[wrist] - body[elbow])
    c, s = np.cos(wave), np.sin(wave)
    for j in (wb.RIGHT_ELBOW, wb.RIGHT_WRIST):
        d = body[j] - body[wb.RIGHT_SHOULDER]
        body[j] = body[wb.RIGHT_SHOULDER] + [c * d[0] - s * d[1], s * d[0] + c * d[1]]
    for knee, ankle in ((wb.LEFT_KNEE, wb.LEFT_ANKLE), (wb.RIGHT_KNEE, wb.RIGHT_ANKLE)):
        body[ankle] = body[knee] + shin * (body[ankle] - body[knee])
    kp = np.zeros((133, 3), np.float32)
    kp[:17, :2] = body
    ring = np.stack([np.cos(np.arange(21)), np.sin(np.arange(21))], 1) * 0.04
    kp[wb.LEFT_HAND, :2], kp[wb.RIGHT_HAND, :2] = body[wb.LEFT_WRIST] + ring, body[wb.RIGHT_WRIST] + ring
    kp[17:20, :2], kp[20:23, :2] = body[wb.LEFT_ANKLE] + [0.03, 0.02], body[wb.RIGHT_ANKLE] + [0.03, 0.02]
    kp[wb.FACE, :2] = body[wb.NOSE] + np.stack([np.cos(np.arange(68)), np.sin(np.arange(68))], 1) * 0.05
    kp[:, :2] = kp[:, :2] * height + [x, 200]
    kp[:, 2] = 1.0
    return kp


def lengths(kp: np.ndarray) -> np.ndarray:
    vectors, _ = bone_vectors(kp)
    return np.linalg.norm(vectors, axis=-1)


def test_retarget_gives_reference_bone_lengths_and_keeps_directions():
    driving = np.stack([person(150, wave=0.1 * t) for t in range(12)])
    reference = person(400, height=80, forearm=1.5, shin=1.3)
    out = retarget_sequence(PoseSequence(driving[:, None], (0,), 640, 400),
                            PoseSequence(reference[None, None], (0,), 640, 400)).keypoints[:, 0]
    np.testing.assert_allclose(lengths(out), np.broadcast_to(lengths(reference), (12, len(BONES))), rtol=1e-3)
    np.testing.assert_allclose(neck(out)[0], neck(driving)[0], atol=1e-3)  # stays where the dancer is
    d_in, _ = bone_vectors(driving)
    d_out, _ = bone_vectors(out)
    cos = (d_in * d_out).sum(-1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1)
    assert cos.min() > 0.9999  # same motion: every bone keeps its direction
    hand = out[:, wb.RIGHT_HAND, :2] - out[:, wb.RIGHT_WRIST, None, :2]
    np.testing.assert_allclose(np.linalg.norm(hand, axis=-1), 0.04 * 80, rtol=1e-3)  # hands follow, at ref size


def test_unseen_points_and_people_without_reference_are_untouched():
    driving = np.stack([person(150), person(300)])[None]
    driving[0, 0, wb.LEFT_ELBOW, 2] = 0.0
    reference = PoseSequence(person(400, height=50)[None, None], (7,), 640, 400)
    out = retarget_sequence(PoseSequence(driving, (0, 1), 640, 400), reference, pairs={0: 7}).keypoints[0]
    assert out[0, wb.LEFT_ELBOW].tolist() == driving[0, 0, wb.LEFT_ELBOW].tolist()
    np.testing.assert_array_equal(out[1], driving[0, 1])


def test_group_scaling_is_symmetric_and_factor_exact():
    kp = person(200)[None]
    out = scale_bone_groups(kp, {"thigh": 1.2, "upper_arm": 0.8})
    ratio = lengths(out)[0] / lengths(kp)[0]
    for (_, _, group), r in zip(BONES, ratio):
        assert r == pytest.approx({"thigh": 1.2, "upper_arm": 0.8}.get(group, 1.0), rel=1e-4)


def test_bone_augmentation_probability_and_range():
    seq = PoseSequence(np.stack([person(100 + 60 * k) for k in range(6)])[None].repeat(2, 0), tuple(range(6)), 640, 400)
    changed = augment_bone_lengths(seq, np.random.default_rng(0), probability=1.0)
    ratio = lengths(changed.keypoints[0]) / lengths(seq.keypoints[0])
    assert (ratio > 0.8 - 1e-4).all() and (ratio < 1.2 + 1e-4).all() and not np.allclose(ratio, 1)
    np.testing.assert_array_equal(augment_bone_lengths(seq, np.random.default_rng(0), 0.0).keypoints, seq.keypoints)


def test_box_normalisation_fits_the_clip_box_isotropically():
    kp = np.stack([person(100 + 10 * t) for t in range(5)])
    out = normalise_to_box(kp, np.array([300, 50, 400, 350]))
    box = keypoint_box(out)
    source = keypoint_box(kp)
    assert (box[2:] - box[:2])[0] / (box[2:] - box[:2])[1] == pytest.approx(
        (source[2] - source[0]) / (source[3] - source[1]), rel=1e-4)  # aspect kept
    assert box[0] >= 300 - 1e-3 and box[2] <= 400 + 1e-3 and box[1] >= 50 - 1e-3 and box[3] <= 350 + 1e-3
    assert (box[:2] + box[2:]).tolist() == pytest.approx([700, 400], abs=1e-3)
    ref = PoseSequence(person(500, 60)[None, None], (0,), 640, 400)
    moved = normalise_to_reference(PoseSequence(kp[:, None], (0,), 640, 400), ref).keypoints[:, 0]
    got, want = keypoint_box(moved), keypoint_box(ref.keypoints[0, 0])
    assert (got[:2] >= want[:2] - 1e-3).all() and (got[2:] <= want[2:] + 1e-3).all()
    assert np.isclose(got[2:] - got[:2], want[2:] - want[:2], rtol=1e-4).any()  # fills it along one side
    with pytest.raises(InputError, match="target_box"):
        normalise_to_box(kp, np.array([10, 10, 5, 20]))


def test_smoothing_has_no_lag_and_removes_noise():
    rng = np.random.default_rng(0)
    t = np.arange(60, dtype=np.float32)
    clean = np.zeros((60, 1, 3), np.float32)
    clean[:, 0, 0], clean[:, 0, 1], clean[:, 0, 2] = 5 * t, 3 * t + 7, 1.0
    np.testing.assert_allclose(smooth_track(clean, 3.0), clean, atol=1e-3)  # linear motion: exact, ends too
    noisy = clean.copy()
    noisy[:, 0, :2] += rng.normal(0, 2.0, (60, 2))
    gap = noisy.copy()
    gap[20:25, 0, 2] = 0.0
    out = smooth_track(gap, 2.0)
    assert np.abs(out[:, 0, :2] - clean[:, 0, :2])[gap[:, 0, 2] > 0].std() < 0.6 * 2.0
    np.testing.assert_array_equal(out[20:25], gap[20:25])  # unseen stays unseen and unmoved
    seq = PoseSequence(np.repeat(person(100)[None, None], 3, 0), (4,), 640, 400)
    assert smooth_sequence(seq).track_ids == (4,)
