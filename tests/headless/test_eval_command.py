"""`python -m choreograph eval`: scores frame folders and pose files, prints a table, writes strict JSON."""
import json

import numpy as np
import pytest
from choreograph.cli import main
from choreograph.core.pose.pose_keypoint import write_pose_keypoint
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.video.writer import write_png_frames

synth = pytest.importorskip("choreograph.core.synth")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    scene = synth.make_scene(synth.SceneConfig(characters=2, frames=6, width=64, height=64, seed=2))
    truth = scene.frames.astype(np.float32) / 255
    noisy = np.clip(truth + np.random.default_rng(0).normal(0, 0.05, truth.shape), 0, 1)
    write_png_frames(truth, root / "truth")
    write_png_frames(noisy, root / "generated")
    write_png_frames(noisy[:4], root / "short")
    kp = scene.poses.keypoints.copy()
    kp[3:] = kp[3:, ::-1]  # the generated identities swap at frame 3
    shaky = PoseSequence(kp, scene.poses.track_ids, 64, 64, scene.poses.fps)
    (root / "gt_poses.json").write_text(json.dumps(write_pose_keypoint(scene.poses)))
    (root / "gen_poses.json").write_text(json.dumps(write_pose_keypoint(shaky)))
    return root


def test_eval_prints_a_table_and_writes_the_report(clips, capsys):
    report = clips / "out" / "report.json"
    code = main(["eval", str(clips / "generated"), str(clips / "truth"), "--report", str(report),
                 "--generated-poses", str(clips / "gen_poses.json"), "--gt-poses", str(clips / "gt_poses.json")])
    out = capsys.readouterr().out
    assert code == 0 and "PSNR" in out and "HOTA" in out and "MPJPE" in out
    data = json.loads(report.read_text())
    assert 20 < data["video"]["PSNR"] < 30 and data["video"]["frames"] == 6
    assert data["tracking"]["IDSW"] >= 2 and data["tracking"]["IDF1"] < 1
    assert data["pose"]["frames"] == 6


def test_eval_refuses_different_lengths_unless_trimmed(clips, capsys):
    assert main(["eval", str(clips / "short"), str(clips / "truth")]) == 2
    assert "4 frames but the reference has 6" in capsys.readouterr().err
    assert main(["eval", str(clips / "short"), str(clips / "truth"), "--trim"]) == 0
    assert main(["eval", str(clips / "generated"), str(clips / "truth"), "--gt-poses",
                 str(clips / "gt_poses.json")]) == 2
    assert main(["eval", str(clips / "generated"), str(clips / "truth"), "--lpips", str(clips / "none.st")]) == 2


def test_reference_image_mode_runs_identity_qa(tmp_path, capsys):
    import cv2

    scene = synth.make_scene(synth.SceneConfig(characters=2, frames=8, width=96, height=96, seed=4))
    write_png_frames(scene.frames.astype(np.float32) / 255, tmp_path / "generated")
    cv2.imwrite(str(tmp_path / "reference.png"), cv2.cvtColor(scene.reference.frame, cv2.COLOR_RGB2BGR))
    (tmp_path / "poses.json").write_text(json.dumps(write_pose_keypoint(scene.poses)))
    (tmp_path / "reference_poses.json").write_text(json.dumps(write_pose_keypoint(scene.reference.poses)))
    args = ["eval", str(tmp_path / "generated"), str(tmp_path / "reference.png"), "--poses",
            str(tmp_path / "poses.json"), "--reference-poses", str(tmp_path / "reference_poses.json"),
            "--window", "4", "--report", str(tmp_path / "qa.json"), "--overlay", str(tmp_path / "qa.mp4")]
    assert main(args) == 0
    assert "IC_character" in capsys.readouterr().out
    data = json.loads((tmp_path / "qa.json").read_text())
    assert data["identity"]["identity_held"] and data["identity"]["IC_frame"] == 1.0
    assert len(data["qa"]["identities"]) == 2 and (tmp_path / "qa.mp4").stat().st_size > 0
    assert main(args[:3]) == 2 and "--poses" in capsys.readouterr().err
