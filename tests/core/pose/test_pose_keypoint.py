"""POSE_KEYPOINT / OpenPose JSON interop and the 133 ⇄ OpenPose-18 conversion."""
import json

import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.pose.detections import PoseFrames
from choreograph.core.pose.openpose import openpose_to_wholebody, wholebody_to_openpose
from choreograph.core.pose.pose_keypoint import (
    load_pose_json,
    person_dict,
    read_pose_keypoint,
    save_json,
    with_track_ids,
    write_pose_keypoint,
)
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.pose.wholebody import FEET


def random_person(rng, width=640, height=480, score=0.9) -> np.ndarray:
    kp = np.zeros((133, 3), np.float32)
    kp[:, 0], kp[:, 1] = rng.uniform(0, width, 133), rng.uniform(0, height, 133)
    kp[:, 2] = score
    return kp


def dwpose_remap(kp133: np.ndarray) -> np.ndarray:
    """SPEC §0.4 written out literally: insert the neck at 17, then DWPose's index remap."""
    neck = kp133[[5, 6]].mean(axis=0)
    neck[2] = float(kp133[5, 2] > 0.3 and kp133[6, 2] > 0.3)
    new = np.insert(kp133, 17, neck, axis=0)
    new[[1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]] = new[[17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3]]
    return new


def test_body_remap_matches_dwpose():
    kp = random_person(np.random.default_rng(0))
    expected = dwpose_remap(kp)
    parts = wholebody_to_openpose(kp)
    np.testing.assert_allclose(parts["body"][:, :2], expected[:18, :2], atol=1e-4)
    np.testing.assert_allclose(parts["face"][:68], expected[24:92], atol=1e-4)
    np.testing.assert_allclose(parts["face"][68:], expected[[14, 15]], atol=1e-4)  # the eyes, as controlnet_aux pads
    np.testing.assert_allclose(parts["hand_left"], expected[92:113], atol=1e-4)
    np.testing.assert_allclose(parts["hand_right"], expected[113:134], atol=1e-4)


def test_neck_needs_both_shoulders():
    kp = random_person(np.random.default_rng(1))
    kp[5, 2] = 0.2
    assert wholebody_to_openpose(kp)["body"][1].tolist() == [0, 0, 0]


def test_round_trip_keeps_everything_but_feet():
    kp = random_person(np.random.default_rng(2))
    parts = wholebody_to_openpose(kp)
    back = openpose_to_wholebody(parts["body"], parts["face"], parts["hand_left"], parts["hand_right"])
    kept = np.ones(133, bool)
    kept[FEET] = False
    np.testing.assert_allclose(back[kept], kp[kept], atol=1e-4)
    assert (back[FEET] == 0).all()


def test_written_person_is_controlnet_aux_format():
    kp = random_person(np.random.default_rng(3))
    kp[0, 2] = 0.1  # nose under DWPose's 0.3 threshold
    kp[91:112, 2] = 0.0  # left hand not seen
    person = person_dict(kp, track_id=7)
    assert list(person) == ["pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d",
                            "hand_right_keypoints_2d", "track_id"]
    assert len(person["pose_keypoints_2d"]) == 54 and len(person["face_keypoints_2d"]) == 210
    assert person["hand_left_keypoints_2d"] is None and len(person["hand_right_keypoints_2d"]) == 63
    assert person["pose_keypoints_2d"][:3] == [0.0, 0.0, 0.0]
    assert set(person["pose_keypoints_2d"][5::3]) == {1.0}  # kept points have c = 1 (controlnet_aux drops c < 1)
    assert person["track_id"] == 7
    assert json.loads(json.dumps(person)) == person
    scored = person_dict(kp, keep_scores=True)
    assert scored["pose_keypoints_2d"][5] == pytest.approx(0.9)


def test_sequence_round_trip_through_pose_keypoint_keeps_ids_and_presence():
    rng = np.random.default_rng(4)
    kp = np.stack([np.stack([random_person(rng), random_person(rng)]) for _ in range(3)])
    kp[:, :, FEET] = 0  # OpenPose-18 has no feet
    kp[1, 0] = 0  # person 5 absent in frame 1
    seq = PoseSequence(kp, (5, 9), 640, 480)
    frames = write_pose_keypoint(seq, keep_scores=True)
    assert [len(f["people"]) for f in frames] == [2, 1, 2]
    assert frames[1]["people"][0]["track_id"] == 9
    assert (frames[0]["canvas_width"], frames[0]["canvas_height"]) == (640, 480)
    back = read_pose_keypoint(frames)
    assert back.has_ids() and back.ids[1].tolist() == [9]
    np.testing.assert_allclose(back.people[0], kp[0], atol=1e-3)


def test_reader_accepts_nested_lists_normalised_points_and_body25():
    body25 = np.zeros((25, 3))
    body25[2] = [0.25, 0.5, 1.0]  # right shoulder, normalised
    body25[19] = [0.5, 0.75, 1.0]  # left big toe
    frame = {"people": [{"pose_keypoints_2d": body25.tolist(), "person_id": [3]}]}
    poses = read_pose_keypoint(frame, canvas=(200, 100))
    person = poses.people[0][0]
    assert person[6].tolist() == [50.0, 50.0, 1.0]  # COCO right shoulder, in pixels
    assert person[FEET][0].tolist() == [100.0, 75.0, 1.0]
    assert poses.ids[0].tolist() == [3]


@pytest.mark.parametrize("data, problem", [
    ([], "non-empty list"),
    ([{"people": [{"pose_keypoints_2d": [1, 2]}], "canvas_width": 9, "canvas_height": 9}], "multiple of 3"),
    ([{"people": [{"pose_keypoints_2d": [1, 2, 1] * 17}], "canvas_width": 9, "canvas_height": 9}], "17 points"),
    ([{"people": [{"pose_keypoints_2d": [1, 2, 1] * 18}]}], "canvas"),
    ([{"animals": [], "canvas_width": 9, "canvas_height": 9}], "frame 0 is not a dict with a \"people\""),
    ([{"people": [], "canvas_width": 9, "canvas_height": 9}, 3], "frame 1"),
    ([{"people": [{"pose_keypoints_2d": ["a"] * 54}], "canvas_width": 9, "canvas_height": 9}], "numbers"),
])
def test_malformed_input_is_named(data, problem):
    with pytest.raises(InputError, match=problem):
        read_pose_keypoint(data)


def test_frames_repair_nan_and_out_of_canvas_points_and_drop_empty_people():
    good = np.full((133, 3), 10.0, np.float32)
    good[:, 2] = 1.0
    broken = good.copy()
    broken[0, 0] = np.nan
    broken[1, :2] = [5000, 10]
    ghost = good.copy()
    ghost[:, 2] = 0.0
    frames = PoseFrames((np.stack([broken, ghost]), np.zeros((0, 133, 3))), 100, 100)
    assert frames.repaired == 2 and len(frames.people[0]) == 1 and frames.sources[0].tolist() == [0]
    assert frames.people[0][0, :2, 2].tolist() == [0.0, 0.0] and frames.people[0][0, 2, 2] == 1.0
    assert len(frames.people[1]) == 0
    with pytest.raises(InputError, match="canvas"):
        PoseFrames((good[None],), 0, 100)


def test_files_folders_and_ids_written_back_unchanged(tmp_path):
    person = {"pose_keypoints_2d": [10.5, 20.25, 1.0] * 18, "face_keypoints_2d": []}
    for t in range(2):
        save_json({"version": 1.3, "people": [person, {"pose_keypoints_2d": [0] * 54}]}, tmp_path / f"f{t}_keypoints.json")
    raw, frames = load_pose_json(tmp_path, canvas=(64, 48))
    assert frames.num_frames == 2 and (frames.width, frames.height) == (64, 48)
    out = with_track_ids(raw, frames, [np.array([4]), np.array([4])])
    assert out[0]["people"][0] == {**person, "track_id": 4} and "track_id" not in out[0]["people"][1]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not readable JSON"):
        load_pose_json(tmp_path / "bad.json")
