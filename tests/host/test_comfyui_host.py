"""The pack inside a real ComfyUI (0.3.75 from the registry), started and stopped by this test.

Skipped only where a real host cannot be installed (no registry access); CI runs it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import choreograph
from choreograph.core.video.reader import load_frames
from choreograph.core.video.writer import write_mp4
from choreograph.headless.remote import ComfyServer
from choreograph.headless.workflow import load_workflow, to_api

pytestmark = pytest.mark.host
PACK_ROOT = Path(choreograph.__file__).resolve().parent
WORKFLOWS = sorted((PACK_ROOT / "workflows").glob("*.json"))


def run_on(server, workflow: dict) -> tuple[str, dict]:
    client = ComfyServer(server.url)
    socket = client.open_events()
    try:
        prompt_id = client.submit(workflow)
        outcome = client.follow(socket, prompt_id, lambda kind, data: None, limit_s=600)
    finally:
        socket.close()
    return outcome.status, outcome.outputs | {"_error": outcome.error}


def test_every_node_is_registered_without_import_failures(server):
    info = server.get("/object_info")
    ours = {k: v for k, v in info.items() if v.get("python_module") == f"custom_nodes.{server.folder_name}"}
    assert set(ours) == set(choreograph.NODE_CLASS_MAPPINGS), server.log_text()
    log = server.log_text()
    assert "IMPORT FAILED" not in log and "nodes from '" not in log, log
    for node_id, cls in choreograph.NODE_CLASS_MAPPINGS.items():
        assert ours[node_id]["category"] == cls.CATEGORY
        assert ours[node_id]["output"] == list(cls.RETURN_TYPES)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_example_workflow_succeeds_in_comfyui(server, path):
    prompt = to_api(load_workflow(path), server.get("/object_info"))
    status, outputs = run_on(server, prompt)
    assert status == "success", (outputs["_error"], server.log_text())
    output_nodes = [i for i, n in prompt.items()
                    if getattr(choreograph.NODE_CLASS_MAPPINGS[n["class_type"]], "OUTPUT_NODE", False)]
    assert output_nodes and all(outputs.get(i) for i in output_nodes), ("an output node gave no result", outputs)


def test_headless_and_comfyui_give_the_same_video(server, tmp_path):
    frames = np.zeros((8, 32, 48, 3), np.float32)
    for i in range(8):
        frames[i, :, 4 * i:4 * i + 8] = (0.2, 0.8, 0.4)
    write_mp4(frames, server.workdir / "input" / "host_clip.mp4", fps=8)
    workflow = {
        "1": {"class_type": "ChoreoLoadVideo", "inputs": {"video": "host_clip.mp4", "force_rate": 0,
                                                          "custom_width": 0, "custom_height": 0, "frame_load_cap": 0,
                                                          "skip_first_frames": 1, "select_every_nth": 2}},
        "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": ["1", 2],
                                                          "filename_prefix": "host/clip", "format": "mp4 (H.264)",
                                                          "crf": 18}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    cli = [sys.executable, "-m", "choreograph", "run", str(path)]
    remote = subprocess.run(cli + ["--server", server.url], capture_output=True, text=True, timeout=300)
    assert remote.returncode == 0, remote.stderr + server.log_text()
    local = subprocess.run(cli + ["--output-dir", str(tmp_path / "out"), "--input-dir", str(server.workdir / "input")],
                           capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    from_server = load_frames(server.workdir / "output" / "host" / "clip_00001.mp4").frames
    from_cli = load_frames(tmp_path / "out" / "host" / "clip_00001.mp4").frames
    assert from_server.shape == from_cli.shape == (4, 32, 48, 3)
    assert np.abs(from_server - from_cli).max() < 1e-6


def test_a_broken_workflow_is_rejected_the_same_way(server, tmp_path):
    broken = {"1": {"class_type": "ChoreoLoadVideo", "inputs": {"video": "x.mp4", "force_rate": 0, "custom_width": 0,
                                                                "custom_height": 0, "frame_load_cap": 0,
                                                                "skip_first_frames": 0, "select_every_nth": 0}},
              "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": 8.0,
                                                                "filename_prefix": "x", "format": "mp4 (H.264)",
                                                                "crf": 99}}}
    client = ComfyServer(server.url)
    from choreograph.headless.remote import ServerRejected

    with pytest.raises(ServerRejected) as rejected:
        client.submit(broken)
    server_lines = " ".join(rejected.value.lines())
    assert "select_every_nth" in server_lines and "crf" in server_lines
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    local = subprocess.run([sys.executable, "-m", "choreograph", "run", str(path)], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path)
    assert local.returncode == 2
    assert "select_every_nth" in local.stderr and "crf" in local.stderr


def test_cancel_in_comfyui_stops_a_long_node_cleanly(server):
    """POST /interrupt while our node runs: ComfyUI reports the interruption and no half-written scene is left."""
    workflow = {"1": {"class_type": "ChoreoSyntheticDataset",
                      "inputs": {"scenes": 400, "frames": 48, "width": 256, "height": 256, "min_characters": 4,
                                 "max_characters": 6, "choreographies": "mix", "background": "mix",
                                 "lookalike_probability": 0.25, "seed": 1, "filename_prefix": "cancel/dataset"}}}
    client = ComfyServer(server.url)
    socket = client.open_events()
    interrupted = []

    def on_event(kind, data):
        if kind == "progress" and not interrupted:
            interrupted.append(data)
            client.interrupt()

    try:
        outcome = client.follow(socket, client.submit(workflow), on_event, limit_s=300)
    finally:
        socket.close()
    assert interrupted and outcome.status == "interrupted", (outcome, server.log_text())
    written = server.workdir / "output" / "cancel"
    leftovers = [p for p in written.rglob("*") if ".partial" in p.name] if written.exists() else []
    assert leftovers == []


def test_the_registry_metadata_parses_with_comfyuis_own_parser(server):
    """ComfyUI's comfy_config reads what the registry and ComfyUI-Manager show from the installed clone."""
    script = ("import json, sys; from comfy_config import config_parser as c; "
              "cfg = c.extract_node_configuration(sys.argv[1]); "
              "print(json.dumps({'name': cfg.project.name, 'version': cfg.project.version, "
              "'publisher': cfg.tool_comfy.publisher_id, 'display': cfg.tool_comfy.display_name, "
              "'icon': cfg.tool_comfy.icon, 'repository': cfg.project.urls.repository, "
              "'comfyui': cfg.project.supported_comfyui_version, 'deps': cfg.project.dependencies}))")
    found = json.loads(subprocess.run([str(server.python), "-c", script, str(server.pack)], cwd=server.tree,
                                      check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    assert found["name"] == "choreograph" and found["publisher"] and found["display"] and found["icon"]
    assert found["repository"].startswith("https://") and found["comfyui"].startswith(">=")
    requirements = [line for line in (server.pack / "requirements.txt").read_text().splitlines()
                    if line and not line.startswith("#")]
    assert found["deps"] == requirements


@pytest.mark.parametrize("video", ["/etc/passwd", "../../../../../../etc/hostname", "../comfyui.log"])
def test_a_workflow_in_comfyui_cannot_read_outside_the_input_folder(server, video):
    workflow = {"1": {"class_type": "ChoreoLoadVideo", "inputs": {"video": video, "force_rate": 0, "custom_width": 0,
                                                                  "custom_height": 0, "frame_load_cap": 0,
                                                                  "skip_first_frames": 0, "select_every_nth": 1}},
                "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": 8.0,
                                                                  "filename_prefix": "escape/copy",
                                                                  "format": "png frames", "crf": 19}}}
    status, outputs = run_on(server, workflow)
    assert status == "error" and "leads outside" in outputs["_error"]["exception_message"], outputs
    assert outputs["_error"]["node_id"] == "1"
    assert not (server.workdir / "output" / "escape").exists()
