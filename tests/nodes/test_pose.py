"""Pose nodes run without ComfyUI: DWPose on tiny ONNX models, tracking, conversions, retargeting, JSON files."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning.identity import assign_identities
from choreograph.core.errors import InputError
from choreograph.core.pose.sequence import PoseSequence
from choreograph.nodes import pose as nodes

tiny = load_helper("core/pose/tiny_dwpose.py")


@pytest.fixture()
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models" / "detection"
    folder.mkdir(parents=True)
    tiny.make_detector(folder / "yolox_l.onnx", tiny.two_people_raw())
    tiny.make_estimator(folder / "dw-ll_ucoco_384.onnx")
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return folder


def crossing_keypoints(frames: int = 30, seed: int = 0) -> list[dict]:
    """Two OpenPose-18 people walking through each other, listed in random order per frame, no ids."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        people = []
        for x in (40 + 8 * t, 280 - 8 * t):
            body = np.zeros((18, 3))
            body[:, 0] = x + np.linspace(-10, 10, 18)
            body[:, 1] = np.linspace(40, 200, 18) + 0.1 * x
            body[:, 2] = 1.0
            people.append({"pose_keypoints_2d": body.reshape(-1).tolist(), "face_keypoints_2d": None,
                           "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None})
        out.append({"people": [people[i] for i in rng.permutation(2)], "canvas_height": 240, "canvas_width": 320})
    return out


def test_every_node_is_documented():
    for node_id, cls in nodes.NODE_CLASS_MAPPINGS.items():
        assert node_id.startswith("Choreo") and cls.CATEGORY == "Choreograph/pose" and cls.DESCRIPTION
        assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES)
        for section in cls.INPUT_TYPES().values():
            assert all(spec[1]["tooltip"] for spec in section.values())


def test_dwpose_node_extracts_and_tracks(models_dir):
    frames = torch.from_numpy(np.stack([tiny.two_people_frame()] * 3).astype(np.float32) / 255.0)
    keypoints, poses = nodes.ChoreoDWPose().run(frames, device="cpu", fps=12.0)
    assert poses.num_people == 2 and poses.num_frames == 3 and poses.fps == 12.0
    assert [len(f["people"]) for f in keypoints] == [2, 2, 2]
    assert sorted(p["track_id"] for p in keypoints[2]["people"]) == [0, 1]
    neck = np.array(keypoints[0]["people"][0]["pose_keypoints_2d"]).reshape(18, 3)[1]
    np.testing.assert_allclose(neck[:2], tiny.DOTS[0], atol=1.5)


def test_dwpose_node_names_missing_models(tmp_path, monkeypatch):
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="models/detection/dw-ll_ucoco_384.onnx"):
        nodes.ChoreoDWPose().run(torch.zeros(1, 32, 32, 3), device="cpu")


def test_track_node_keeps_identities_through_a_crossing():
    poses, keypoints = nodes.ChoreoPoseTrack().run(crossing_keypoints())
    assert poses.num_people == 2
    x = poses.keypoints[..., 0, 0]  # nose x per frame and identity
    assert (np.diff(x[:, 0]) > 0).all() and (np.diff(x[:, 1]) < 0).all()  # each id keeps walking its way
    assert all("track_id" in p for f in keypoints for p in f["people"])


def test_conversions_round_trip_ids():
    poses, keypoints = nodes.ChoreoPoseTrack().run(crossing_keypoints())
    (back,) = nodes.ChoreoPoseFromKeypoint().run(keypoints)
    assert back.track_ids == poses.track_ids
    np.testing.assert_allclose(back.keypoints[..., :17, :2], poses.keypoints[..., :17, :2], atol=1e-3)
    (plain,) = nodes.ChoreoPoseToKeypoint().run(poses, keep_scores=False, track_ids=False)
    assert "track_id" not in plain[0]["people"][0]
    with pytest.raises(InputError, match="canvas"):
        nodes.ChoreoPoseFromKeypoint().run([{"people": []}])
    (sized,) = nodes.ChoreoPoseFromKeypoint().run([{"people": []}], width=64, height=32)
    assert (sized.width, sized.height, sized.num_people) == (64, 32, 0)


def test_retarget_and_smooth_nodes():
    driving, _ = nodes.ChoreoPoseTrack().run(crossing_keypoints())
    ref_kp = driving.keypoints[:1].copy()
    ref_kp[..., :2] *= 0.5
    reference = PoseSequence(ref_kp, driving.track_ids, driving.width, driving.height)
    identity_map = assign_identities(driving)
    (out,) = nodes.ChoreoPoseRetarget().run(driving, reference, identity_map, "", fit_to_reference_box=True)
    assert out.track_ids == driving.track_ids and out.keypoints.shape == driving.keypoints.shape
    seen = driving.keypoints[..., 2] > 0
    assert np.abs(out.keypoints[..., :2] - driving.keypoints[..., :2])[seen].max() > 1.0
    (smooth,) = nodes.ChoreoPoseSmooth().run(driving, 2.0)
    np.testing.assert_allclose(smooth.keypoints[..., :2], driving.keypoints[..., :2], atol=1e-2)  # linear walk


def test_json_load_and_save(headless_dirs):
    tmp_path = headless_dirs / "input"
    result = nodes.ChoreoSavePoseJSON().run(crossing_keypoints(3), "poses/clip")
    path = Path(result["result"][0])
    assert path.name == "clip_00001.json" and json.loads(path.read_text()) == crossing_keypoints(3)
    openpose = tmp_path / "openpose"
    openpose.mkdir()
    (openpose / "a_000.json").write_text(json.dumps({"version": 1.3, "people": []}))
    (loaded,) = nodes.ChoreoLoadPoseJSON().run("openpose", width=100, height=50)
    assert loaded == [{"canvas_width": 100, "canvas_height": 50, "version": 1.3, "people": []}]
