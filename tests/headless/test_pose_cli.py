"""`python -m choreograph pose` and `track` on tiny inputs."""
import json

import cv2
import numpy as np
import pytest
from _support import load_helper
from choreograph.cli import main

tiny = load_helper("core/pose/tiny_dwpose.py")


def walkers(frames: int = 25) -> list[dict]:
    """Two people crossing, listed right-to-left then left-to-right (so the list order swaps midway)."""
    out = []
    for t in range(frames):
        people = []
        for x in sorted((30 + 10 * t, 270 - 10 * t), reverse=t % 2 == 0):
            body = np.zeros((18, 3))
            body[:, 0], body[:, 1], body[:, 2] = x + np.linspace(-8, 8, 18), np.linspace(30, 200, 18), 1.0
            people.append({"pose_keypoints_2d": body.reshape(-1).tolist()})
        out.append({"people": people, "canvas_width": 320, "canvas_height": 240})
    return out


def test_track_adds_ids_and_keeps_keypoints(tmp_path, capsys):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(walkers()))
    assert main(["track", str(source), str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    for frame_in, frame_out in zip(walkers(), out):
        assert [{k: v for k, v in p.items() if k != "track_id"} for p in frame_out["people"]] == frame_in["people"]
        assert all(isinstance(p["track_id"], int) for p in frame_out["people"])
    first = {p["pose_keypoints_2d"][0]: p["track_id"] for p in out[0]["people"]}
    last = {p["pose_keypoints_2d"][0]: p["track_id"] for p in out[-1]["people"]}
    assert first[30 - 8] == last[270 - 8] and first[270 - 8] == last[30 - 8]  # they crossed, ids followed
    assert main(["track", str(source), str(tmp_path / "out.json")]) == 2  # no silent overwrite
    assert "exists" in capsys.readouterr().err


def test_track_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"people": [{"pose_keypoints_2d": [1, 2]}], "canvas_width": 9, "canvas_height": 9}]))
    assert main(["track", str(bad), str(tmp_path / "o.json")]) == 2
    assert "multiple of 3" in capsys.readouterr().err and not (tmp_path / "o.json").exists()


def test_pose_extracts_and_tracks_a_frame_folder(tmp_path, capsys):
    models = tmp_path / "models"
    (models / "detection").mkdir(parents=True)
    tiny.make_detector(models / "detection" / "yolox_l.onnx", tiny.two_people_raw())
    tiny.make_estimator(models / "detection" / "dw-ll_ucoco_384.onnx")
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(3):
        cv2.imwrite(str(frames / f"{t:03d}.png"), tiny.two_people_frame())
    out = tmp_path / "poses.json"
    assert main(["pose", str(frames), str(out), "--models-dir", str(models), "--device", "cpu"]) == 0
    data = json.loads(out.read_text())
    assert len(data) == 3 and sorted(p["track_id"] for p in data[0]["people"]) == [0, 1]


def test_pose_names_missing_models(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(["pose", str(tmp_path / "none.mp4"), str(tmp_path / "o.json"), "--models-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err  # every missing file named at once, on stderr
    assert "dw-ll_ucoco_384.onnx" in err and "yolox_l.onnx" in err


@pytest.mark.slow
def test_benchmark_prints_both_trackers(capsys):
    assert main(["track", "--benchmark"]) == 0
    table = capsys.readouterr().out
    assert "ours IDF1" in table and "L→R IDF1" in table and "mean / total" in table
