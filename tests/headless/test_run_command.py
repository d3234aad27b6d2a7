"""`python -m choreograph run`: validation reports every problem by node and input; valid graphs run."""
from __future__ import annotations

import json

import pytest

from choreograph.cli import main
from choreograph.core.video.writer import write_mp4
from choreograph.headless.schema import local_object_info
from choreograph.headless.validate import validate
from choreograph.headless.workflow import to_api


def roundtrip_workflow(video: str = "clip.mp4") -> dict:
    return {
        "1": {"class_type": "ChoreoLoadVideo", "inputs": {"video": video, "force_rate": 0, "custom_width": 32,
                                                          "custom_height": 0, "frame_load_cap": 0,
                                                          "skip_first_frames": 0, "select_every_nth": 1}},
        "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": ["1", 2],
                                                          "filename_prefix": "out/clip", "format": "mp4 (H.264)",
                                                          "crf": 20}},
    }


@pytest.fixture
def workspace(tmp_path, bar_frames, monkeypatch):
    write_mp4(bar_frames, tmp_path / "clip.mp4", fps=12)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(tmp_path, workflow: dict, *extra: str) -> int:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    return main(["run", str(path), "--output-dir", str(tmp_path / "output"), *extra])


def test_valid_workflow_runs_and_writes_its_output(workspace, capsys):
    assert run(workspace, roundtrip_workflow()) == 0
    written = list((workspace / "output" / "out").glob("*.mp4"))
    assert [p.name for p in written] == ["clip_00001.mp4"]
    assert "clip_00001.mp4" in capsys.readouterr().out
    from choreograph.core.video.reader import load_frames

    assert load_frames(written[0]).frames.shape[:3] == (12, 20, 32)


def test_set_overrides_an_input(workspace):
    assert run(workspace, roundtrip_workflow(), "--set", "1.frame_load_cap=3", "--set", "2.filename_prefix=x") == 0
    from choreograph.core.video.reader import load_frames

    assert len(load_frames(workspace / "output" / "x_00001.mp4").frames) == 3


def test_set_with_a_typo_is_refused(workspace, capsys):
    assert run(workspace, roundtrip_workflow(), "--set", "1.frame_cap=3") == 2
    assert "has no input 'frame_cap'" in capsys.readouterr().err
    assert not (workspace / "output").exists()


def test_every_problem_is_reported_by_node_and_input(workspace, capsys):
    broken = roundtrip_workflow()
    broken["1"]["inputs"]["select_every_nth"] = 0  # below min
    del broken["1"]["inputs"]["video"]  # required missing
    broken["2"]["inputs"]["images"] = ["1", 1]  # INT into IMAGE
    broken["2"]["inputs"]["format"] = "avi"  # not in list
    broken["3"] = {"class_type": "NoSuchNode", "inputs": {}}
    assert run(workspace, broken) == 2
    err = capsys.readouterr().err
    assert "5 problem(s)" in err
    assert "node 1 (ChoreoLoadVideo), input 'select_every_nth': 0 is smaller than the minimum 1" in err
    assert "node 1 (ChoreoLoadVideo), input 'video': required input is missing" in err
    assert "node 2 (ChoreoSaveVideo), input 'images': expects IMAGE but node 1 output 1 gives INT" in err
    assert "node 2 (ChoreoSaveVideo), input 'format': 'avi' is not one of" in err
    assert "node 3 (NoSuchNode): unknown node type" in err
    assert not (workspace / "output").exists()


def test_cycles_and_missing_outputs_are_caught():
    info = local_object_info()
    cyclic = roundtrip_workflow()
    cyclic["1"]["inputs"]["frame_load_cap"] = ["1", 1]
    problems = [str(p) for p in validate(cyclic, info)]
    assert any("cycle: 1 → 1" in p for p in problems)
    no_output = {"1": roundtrip_workflow()["1"]}
    assert any("no output node" in str(p) for p in validate(no_output, info))


def test_runtime_failure_names_the_node_and_exits_non_zero(workspace, capsys):
    assert run(workspace, roundtrip_workflow("missing.mp4")) == 1
    err = capsys.readouterr().err
    assert "node 1 (ChoreoLoadVideo) failed" in err and "video: 'missing.mp4' does not exist" in err


def test_ctrl_c_leaves_no_half_written_file(workspace, monkeypatch):
    from choreograph.core.video import writer

    real_encode = writer.write_mp4

    def interrupted(frames, path, fps, crf=19, overwrite=False, progress=None):
        def stop(done, total):
            if done == 2:
                raise KeyboardInterrupt
        return real_encode(frames, path, fps, crf, overwrite, progress=stop)

    monkeypatch.setattr("choreograph.nodes.video_io.write_mp4", interrupted)
    assert run(workspace, roundtrip_workflow()) == 130
    leftovers = [p for p in (workspace / "output").rglob("*") if p.is_file()]
    assert leftovers == []


def test_ui_format_is_converted_like_the_frontend_does():
    ui = {
        "nodes": [
            {"id": 4, "type": "ChoreoLoadVideo", "mode": 0, "inputs": [],
             "outputs": [{"name": "images", "type": "IMAGE", "links": [7]}],
             "widgets_values": ["clip.mp4", 0, 32, 0, 5, 0, 1]},
            {"id": 9, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 7}],
             "outputs": [{"name": "", "type": "IMAGE", "links": [8]}]},
            {"id": 5, "type": "ChoreoSaveVideo", "mode": 0,
             "inputs": [{"name": "images", "type": "IMAGE", "link": 8}],
             "widgets_values": [12.0, "ui/clip", "mp4 (H.264)", 21]},
            {"id": 6, "type": "Note", "mode": 0, "widgets_values": ["hello"]},
            {"id": 7, "type": "ChoreoSaveVideo", "mode": 2, "inputs": [{"name": "images", "type": "IMAGE",
                                                                         "link": None}],
             "widgets_values": [12.0, "muted", "mp4 (H.264)", 21]},
        ],
        "links": [[7, 4, 0, 9, 0, "IMAGE"], [8, 9, 0, 5, 0, "IMAGE"]],
    }
    api = to_api(ui, local_object_info())
    assert set(api) == {"4", "5"}
    assert api["4"]["inputs"] == {"video": "clip.mp4", "force_rate": 0, "custom_width": 32, "custom_height": 0,
                                  "frame_load_cap": 5, "skip_first_frames": 0, "select_every_nth": 1}
    assert api["5"]["inputs"] == {"images": ["4", 0], "frame_rate": 12.0, "filename_prefix": "ui/clip",
                                  "format": "mp4 (H.264)", "crf": 21}
    assert validate(api, local_object_info()) == []


def test_api_to_ui_and_back_is_lossless(workspace):
    from choreograph.headless.ui_layout import api_to_ui

    info = local_object_info()
    api = roundtrip_workflow()
    ui = api_to_ui(api, info)
    assert {n["type"] for n in ui["nodes"]} == {"ChoreoLoadVideo", "ChoreoSaveVideo"}
    save = next(n for n in ui["nodes"] if n["type"] == "ChoreoSaveVideo")
    assert [i["name"] for i in save["inputs"]] == ["images", "frame_rate"]  # a linked widget becomes a socket
    assert save["pos"][0] > 0
    assert to_api(ui, info) == api  # ids are 1..n by depth, which this graph already uses
    path = workspace / "ui.json"
    path.write_text(json.dumps(ui))
    assert main(["run", str(path), "--output-dir", str(workspace / "output")]) == 0
