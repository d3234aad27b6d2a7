"""Identity-swap QA on synthetic scenes: clean video holds, swapped looks are flagged as a pair, fading looks drift."""
import json

import cv2
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.metrics.identity import masked_crop
from choreograph.core.metrics.qa import BROKEN_RGB, DRIFTED, HELD, SWAPPED, identity_qa, qa_overlay

synth = pytest.importorskip("choreograph.core.synth")


@pytest.fixture(scope="module")
def scene():
    return synth.make_scene(synth.SceneConfig(characters=3, frames=16, width=128, height=128, seed=3))


def _inputs(scene, video=None):
    ref = scene.reference
    video = scene.frames.astype(np.float32) / 255 if video is None else video
    return (video, scene.masks_visible, scene.poses.track_ids, [ref.frame.astype(np.float32) / 255] * 3,
            list(ref.masks), [0, 1, 2])


def _swap_looks(frame, masks, a, b):
    out = frame.copy()
    for dst, src in ((a, b), (b, a)):
        crop, _ = masked_crop(frame, masks[src])
        ys, xs = np.nonzero(masks[dst])
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        look = cv2.resize(crop, (box[1].stop - box[1].start, box[0].stop - box[0].start),
                          interpolation=cv2.INTER_NEAREST)
        out[box][masks[dst][box]] = look[masks[dst][box]]
    return out


def test_clean_video_holds_every_identity(scene):
    report = identity_qa(*_inputs(scene), window=4)
    assert report.ok and len(report.verdicts) == 12
    assert all(v.status == HELD and v.looks_like == v.identity for v in report.verdicts)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] and data["identities"]["1"]["held_fraction"] == 1.0 and data["swaps"] == []


def test_swapped_looks_are_flagged_as_a_pair_in_the_right_windows(scene):
    video = scene.frames.astype(np.float32) / 255
    for t in range(8, 16):
        video[t] = _swap_looks(video[t], scene.masks_visible[t], 0, 2)
    report = identity_qa(*_inputs(scene, video), window=4)
    status = {(v.identity, v.start): v.status for v in report.verdicts}
    assert [status[(0, s)] for s in (0, 4, 8, 12)] == [HELD, HELD, SWAPPED, SWAPPED]
    assert [status[(2, s)] for s in (0, 4, 8, 12)] == [HELD, HELD, SWAPPED, SWAPPED]
    assert all(status[(1, s)] == HELD for s in (0, 4, 8, 12))
    assert report.swaps() == [{"start": 8, "stop": 12, "identity": 0, "looks_like": 2, "mutual": True},
                              {"start": 12, "stop": 16, "identity": 0, "looks_like": 2, "mutual": True}]
    assert report.ic.frame_accuracy == pytest.approx(0.5) and report.ic.per_identity[1] == 1.0
    overlay = qa_overlay(video, scene.masks_visible, report)
    assert overlay.dtype == np.uint8 and overlay.shape == video.shape
    assert (overlay[9, 0] == BROKEN_RGB).all() and not (overlay[3, 0] == BROKEN_RGB).all()


def test_a_fading_look_drifts_before_it_would_swap(scene):
    video = scene.frames.astype(np.float32) / 255
    masks = scene.masks_visible
    for t in range(8, 16):
        video[t][masks[t, 0]] = 0.5 * video[t][masks[t, 0]] + 0.5 * np.array([0.9, 0.2, 0.6])
    report = identity_qa(*_inputs(scene, video), window=8)
    status = {(v.identity, v.start): v.status for v in report.verdicts}
    assert status[(0, 0)] == HELD and status[(0, 8)] == DRIFTED
    assert status[(1, 8)] == HELD and not report.ok
    assert report.as_dict()["drifts"][0]["identity"] == 0


def test_absent_windows_and_bad_settings(scene):
    video, masks, ids, images, ref_masks, ref_ids = _inputs(scene)
    masks = masks.copy()
    masks[:4, 1] = False
    report = identity_qa(video, masks, ids, images, ref_masks, ref_ids, window=4)
    assert report.verdicts[1].status == "absent" and report.ok
    with pytest.raises(InputError, match="no reference"):
        identity_qa(video, masks, ids, images[:2], ref_masks[:2], [0, 1])
    with pytest.raises(InputError, match="window"):
        identity_qa(video, masks, ids, images, ref_masks, ref_ids, window=0)


def test_regions_drawn_from_the_driving_poses_cover_the_people(scene):
    from choreograph.core.metrics.qa import regions_from_poses
    from choreograph.core.metrics.tracking import mask_iou

    regions = regions_from_poses(scene.poses, 16, 128, 128)
    iou = np.mean([np.diag(mask_iou(regions[t], scene.masks_visible[t])) for t in range(16)], axis=0)
    assert (iou > 0.5).all()
    report = identity_qa(scene.frames.astype(np.float32) / 255, regions, *_inputs(scene)[2:], window=8)
    assert report.ok
    with pytest.raises(InputError, match="frames"):
        regions_from_poses(scene.poses, 12, 128, 128)
