"""Our HOTA / CLEAR-MOT / identity scores against the TrackEval reference on the same inputs, plus hand cases."""
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.metrics.tracking import (
    boxes_from_masks,
    frames_from_boxes,
    frames_from_masks,
    tracking_metrics,
)


def _random_clip(rng, frames=12, people=3, drop=0.15, swap_at=None, extra=True):
    """GT boxes walking across a canvas, and a noisy prediction with misses, an optional id swap and a ghost."""
    start = rng.uniform(0, 200, (people, 2))
    speed = rng.uniform(-6, 6, (people, 2))
    size = rng.uniform(30, 60, (people, 2))
    t = np.arange(frames)[:, None, None]
    xy = start[None] + speed[None] * t
    gt = np.concatenate([xy, xy + size[None]], axis=2)
    gt[rng.random((frames, people)) < drop / 2] = np.nan
    pred = gt + rng.normal(0, 4, gt.shape)
    pred[rng.random((frames, people)) < drop] = np.nan
    if swap_at is not None:
        pred[swap_at:, [0, 1]] = pred[swap_at:, [1, 0]]
    if extra:
        ghost = np.full((frames, 1, 4), np.nan)
        ghost[frames // 2:, 0] = [300, 300, 340, 350]
        pred = np.concatenate([pred, ghost], axis=1)
    return gt, pred


def _trackeval_scores(frames):
    trackeval = pytest.importorskip("trackeval")
    data = {
        "num_timesteps": len(frames.gt_ids), "num_gt_ids": len(frames.gt_labels),
        "num_tracker_ids": len(frames.pred_labels), "num_gt_dets": frames.num_gt_dets,
        "num_tracker_dets": frames.num_pred_dets, "gt_ids": list(frames.gt_ids),
        "tracker_ids": list(frames.pred_ids), "similarity_scores": list(frames.similarity),
    }
    out = {}
    for metric in (trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()):
        out.update(metric.eval_sequence(data))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matches_trackeval_on_random_clips(seed):
    rng = np.random.default_rng(seed)
    gt, pred = _random_clip(rng, swap_at=5 if seed % 2 else None)
    frames = frames_from_boxes(gt, [10, 20, 30], pred, [1, 2, 3, 4])
    ours, ref = tracking_metrics(frames), _trackeval_scores(frames)
    for key in ("HOTA", "DetA", "AssA", "LocA"):
        assert ours[key] == pytest.approx(float(np.mean(ref[key])), abs=1e-9), key
    assert ours["HOTA_alpha"] == pytest.approx(list(ref["HOTA"]), abs=1e-9)
    for key in ("MOTA", "MOTP", "MODA", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag",
                "IDF1", "IDP", "IDR", "IDTP", "IDFN", "IDFP"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key


def test_mask_tracks_match_trackeval_and_boxes_of_masks():
    rng = np.random.default_rng(7)
    masks = np.zeros((6, 2, 40, 50), dtype=bool)
    for t in range(6):
        masks[t, 0, 5:20, 3 + t:20 + t] = True
        masks[t, 1, 18:35, 30 - t:45 - t] = True
    masks[2, 1] = False  # person 1 absent in frame 2
    pred = masks.copy()
    pred[3:] = pred[3:, ::-1]  # identities swap from frame 3
    pred[:, 0] &= rng.random(pred[:, 0].shape) > 0.1
    frames = frames_from_masks(masks, [0, 1], pred, [5, 6])
    ours, ref = tracking_metrics(frames), _trackeval_scores(frames)
    assert ours["HOTA"] == pytest.approx(float(np.mean(ref["HOTA"])), abs=1e-9)
    assert ours["IDSW"] == ref["IDSW"] >= 2
    assert ours["IDF1"] == pytest.approx(ref["IDF1"])
    boxes = boxes_from_masks(masks)
    assert boxes[0, 0].tolist() == [3, 5, 20, 20]
    assert np.isnan(boxes[2, 1]).all()


def test_perfect_tracking_scores_one_and_swap_is_counted():
    gt = np.array([[[0, 0, 10, 10], [20, 0, 30, 10]]] * 4, dtype=float)
    perfect = tracking_metrics(frames_from_boxes(gt, [1, 2], gt, [7, 8]))
    assert perfect["HOTA"] == pytest.approx(1.0) and perfect["MOTA"] == 1.0 and perfect["IDF1"] == 1.0
    swapped = gt.copy()
    swapped[2:] = swapped[2:, ::-1]
    scores = tracking_metrics(frames_from_boxes(gt, [1, 2], swapped, [7, 8]))
    assert scores["IDSW"] == 2 and scores["MOTA"] == pytest.approx(1 - 2 / 8)
    assert scores["IDF1"] == pytest.approx(0.5) and scores["DetA"] == pytest.approx(1.0)
    assert scores["AssA"] < 0.6


def test_empty_prediction_scores_zero_and_empty_ground_truth_is_an_error():
    gt = np.array([[[0, 0, 10, 10]]] * 3, dtype=float)
    empty = np.full_like(gt, np.nan)
    scores = tracking_metrics(frames_from_boxes(gt, [1], empty, [1]))
    assert scores["HOTA"] == 0 and scores["MOTA"] == 0 and scores["CLR_FN"] == 3 and scores["IDF1"] == 0
    with pytest.raises(InputError, match="ground truth"):
        frames_from_boxes(empty, [1], gt, [1])
    with pytest.raises(InputError, match="frames"):
        frames_from_boxes(gt, [1], gt[:2], [1])


def test_tracks_from_poses_use_keypoint_boxes():
    from choreograph.core.metrics.tracking import boxes_from_poses, frames_from_poses
    from choreograph.core.pose.sequence import PoseSequence

    kp = np.zeros((4, 2, 133, 3), dtype=np.float32)
    kp[:, 0, :2] = [[10, 10, 1], [30, 50, 1]]
    kp[:, 1, :2] = [[60, 10, 1], [80, 50, 1]]
    kp[1, 1, :, 2] = 0  # person 1 unseen in frame 1
    gt = PoseSequence(kp, (0, 1), 100, 80)
    boxes = boxes_from_poses(gt)
    assert boxes[0, 0].tolist() == [10, 10, 30, 50] and np.isnan(boxes[1, 1]).all()
    swapped = kp.copy()
    swapped[2:] = swapped[2:, ::-1]
    scores = tracking_metrics(frames_from_poses(gt, PoseSequence(swapped, (5, 6), 100, 80)))
    assert scores["IDSW"] == 2 and scores["CLR_FN"] == 0
    with pytest.raises(InputError, match="canvas"):
        frames_from_poses(gt, PoseSequence(kp, (0, 1), 50, 80))
