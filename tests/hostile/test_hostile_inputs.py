"""Hostile and careless inputs: each ends in a clear error that names the input and the fix and writes nothing, or is
handled correctly. Never a traceback from deep inside, never invalid JSON written, never silent truncation.

Command-line cases run ``python -m choreograph`` in-process (an escaping exception fails the test); node cases
call the nodes the way ComfyUI does and expect ``InputError`` naming the input.
"""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import choreograph
from choreograph.cli import main
from choreograph.core.errors import InputError
from choreograph.core.synth import SceneConfig, make_scene
from choreograph.core.video.writer import write_mp4

PACK = Path(choreograph.__file__).resolve().parent
SCENE_VIDEO = PACK / "workflows" / "api" / "synth_scene_video.json"


@dataclass
class Case:
    """A command line and what must come of it: the exit code, words the error must contain, files it must not
    leave behind (``quiet`` = the output folder stays empty)."""

    argv: list[str]
    code: int
    says: list[str]
    quiet: Path | None = None
    check: Callable[[], None] | None = None
    notes: dict = field(default_factory=dict)


def _scene_workflow(**changes) -> str:
    """The synthetic-scene workflow's API JSON text with node-1 inputs replaced by raw JSON snippets."""
    prompt = json.loads(SCENE_VIDEO.read_text())
    marker = {name: f"@@{name}@@" for name in changes}
    prompt["1"]["inputs"].update(marker)
    text = json.dumps(prompt)
    for name, raw in changes.items():
        text = text.replace(f'"@@{name}@@"', raw)
    return text


def _pose_frames(values=None, canvas=(64, 64)) -> list[dict]:
    body = [10.0, 20.0, 1.0] * 18
    if values is not None:
        body[0:3] = values
    return [{"people": [{"pose_keypoints_2d": body}], "canvas_width": canvas[0], "canvas_height": canvas[1]}] * 3


def _chain(length: int) -> dict:
    """A synthetic scene feeding ``length`` pose smoothers in a row, then a pose save: a very deep graph."""
    scene = json.loads(SCENE_VIDEO.read_text())["1"]
    scene["inputs"].update(frames=2, width=64, height=64, characters=2)
    prompt = {"1": scene}
    for k in range(2, length + 2):
        source = ["1", 1] if k == 2 else [str(k - 1), 0]
        prompt[str(k)] = {"class_type": "ChoreoPoseSmooth", "inputs": {"poses": source, "sigma": 0.0}}
    prompt[str(length + 2)] = {"class_type": "ChoreoPoseToKeypoint",
                               "inputs": {"poses": [str(length + 1), 0], "keep_scores": False, "track_ids": True}}
    prompt[str(length + 3)] = {"class_type": "ChoreoSavePoseJSON",
                               "inputs": {"pose_keypoint": [str(length + 2), 0], "filename_prefix": "deep/poses"}}
    return prompt


def _run(tmp: Path, text: str | bytes, *extra: str) -> list[str]:
    path = tmp / f"wf{len(list(tmp.glob('wf*.json')))}.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["run", str(path), "--output-dir", str(tmp / "out"), "--input-dir", str(tmp / "in"), *extra]


def cli_cases(tmp: Path) -> dict[str, Case]:
    (tmp / "in").mkdir(exist_ok=True)
    out = tmp / "out"
    wf = lambda text, *extra: _run(tmp, text, *extra)  # noqa: E731
    api_ok = json.loads(SCENE_VIDEO.read_text())
    ui_ok = json.loads((PACK / "workflows" / "synth_scene_video.json").read_text())

    def ui_with(mutate) -> str:
        data = json.loads(json.dumps(ui_ok))
        mutate(data)
        return json.dumps(data)

    cases = {
        # numbers JSON should not hold
        "nan-float": Case(wf(_scene_workflow(speed="NaN")), 2, ["node 1", "'speed'", "finite"], out),
        "infinity-int": Case(wf(_scene_workflow(frames="Infinity")), 2, ["node 1", "'frames'", "finite"], out),
        "minus-infinity": Case(wf(_scene_workflow(amplitude="-Infinity")), 2, ["'amplitude'", "finite"], out),
        "overflowing-float": Case(wf(_scene_workflow(speed="1e400")), 2, ["'speed'", "finite"], out),
        "huge-int": Case(wf(_scene_workflow(frames=str(10**30))), 2, ["'frames'", "maximum"], out),
        "huge-canvas": Case(wf(_scene_workflow(width=str(10**12))), 2, ["'width'", "maximum"], out),
        "fraction-for-int": Case(wf(_scene_workflow(frames="12.5")), 2, ["'frames'", "whole number"], out),
        "string-for-number": Case(wf(_scene_workflow(seed='"7"')), 2, ["'seed'", "expected a number"], out),
        "bool-for-int": Case(wf(_scene_workflow(frames="true")), 2, ["'frames'", "expected a number"], out),
        # files that are not a workflow
        "non-utf8": Case(wf(b"\xff\xfe\x00{\x80\x81}"), 2, ["UTF-8", "Fix"], out),
        "latin1-text": Case(wf(_scene_workflow().replace("synth/", "synth\u00e9/").encode("latin-1")), 2, ["UTF-8"], out),
        "empty-file": Case(wf(b""), 2, ["not valid JSON"], out),
        "truncated-json": Case(wf(_scene_workflow()[:-40]), 2, ["not valid JSON"], out),
        "deeply-nested": Case(wf("[" * 200000 + "]" * 200000), 2, ["nested too deeply"], out),
        "json-array": Case(wf("[1, 2]"), 2, ["JSON object"], out),
        "json-string": Case(wf('"hello"'), 2, ["JSON object"], out),
        "no-nodes": Case(wf("{}"), 2, ["neither"], out),
        "directory": Case(["run", str(tmp / "in"), "--output-dir", str(out)], 2, ["is a folder", "Fix"], out),
        "missing-file": Case(["run", str(tmp / "nope.json"), "--output-dir", str(out)], 2, ["no such workflow"], out),
        # malformed API shapes
        "api-node-not-object": Case(wf(json.dumps({**api_ok, "4": 17})), 2, ["node 4", "not an object"], out),
        "api-class-type-list": Case(wf(json.dumps({"1": {"class_type": ["x"], "inputs": {}}})), 2,
                                    ["node 1", "class_type"], out),
        "api-class-type-missing": Case(wf(json.dumps({"1": {"inputs": {}}})), 2, ["node 1", "class_type"], out),
        "api-inputs-list": Case(wf(json.dumps({"1": {"class_type": "ChoreoSaveVideo", "inputs": [1, 2]}})), 2,
                                ["node 1", "'inputs'"], out),
        "api-link-missing-node": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": ["99", 0]}}})), 2, ["node 2", "'images'", "node 99"], out),
        "api-link-bad-slot": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": ["1", 40]}}})), 2, ["node 2", "'images'", "output 40"], out),
        "api-link-negative-slot": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": ["1", -1]}}})), 2, ["node 2", "'images'"], out),
        "api-link-three-items": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": ["1", 0, 0]}}})), 2, ["node 2", "'images'", "needs a link"], out),
        "api-link-null-source": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": [None, 0]}}})), 2, ["node 2", "'images'"], out),
        "api-link-object": Case(wf(json.dumps({**api_ok, "2": {**api_ok["2"], "inputs": {
            **api_ok["2"]["inputs"], "images": {"node": "1"}}}})), 2, ["node 2", "'images'"], out),
        "api-cycle": Case(wf(json.dumps({
            "1": {"class_type": "ChoreoPoseSmooth", "inputs": {"poses": ["2", 0], "strength": 1.0}},
            "2": {"class_type": "ChoreoPoseSmooth", "inputs": {"poses": ["1", 0], "strength": 1.0}},
            "3": {"class_type": "ChoreoSavePoseJSON", "inputs": {"poses": ["2", 0], "filename_prefix": "x"}}})),
            2, ["cycle"], out),
        # malformed UI shapes
        "ui-node-not-object": Case(wf(ui_with(lambda d: d["nodes"].append(5))), 2, ["not a node object"], out),
        "ui-node-without-id": Case(wf(ui_with(lambda d: d["nodes"][0].pop("id"))), 2, ["'id'"], out),
        "ui-node-type-number": Case(wf(ui_with(lambda d: d["nodes"][0].update(type=3))), 2, ["'type'"], out),
        "ui-duplicate-ids": Case(wf(ui_with(lambda d: d["nodes"][1].update(id=d["nodes"][0]["id"]))), 2,
                                 ["used twice"], out),
        "ui-inputs-not-list": Case(wf(ui_with(lambda d: d["nodes"][1].update(inputs={"a": 1}))), 2, ["'inputs'"],
                                   out),
        "ui-short-link": Case(wf(ui_with(lambda d: d["links"].append([99, 1]))), 2, ["link [99, 1]"], out),
        "ui-links-object": Case(wf(ui_with(lambda d: d.update(links={"1": [1, 1, 0, 2, 0, "IMAGE"]}))), 2,
                                ["'links' must be a list"], out),
        "ui-widgets-string": Case(wf(ui_with(lambda d: d["nodes"][0].update(widgets_values="abc"))), 2,
                                  ["widgets_values"], out),
        "ui-link-id-object": Case(wf(ui_with(lambda d: d["nodes"][1]["inputs"][0].update(link={"x": 1}))), 2,
                                  ["input slot"], out),
        # --set
        "set-link-looking-value": Case(wf(json.dumps(api_ok), "--set", '2.filename_prefix=["1", 0]'), 2,
                                       ["--set", "link", "quote it"], out),
        "set-nan": Case(wf(json.dumps(api_ok), "--set", "1.speed=NaN"), 2, ["'speed'", "finite"], out),
        "set-no-equals": Case(wf(json.dumps(api_ok), "--set", "1.speed"), 2, ["NODE_ID.INPUT=VALUE"], out),
        "set-unknown-node": Case(wf(json.dumps(api_ok), "--set", "77.x=1"), 2, ["no node 77"], out),
        # output names
        "prefix-escapes-output": Case(wf(json.dumps(api_ok), "--set", "2.filename_prefix=../../escape"), 1,
                                      ["filename_prefix"], out),
        "prefix-absolute": Case(wf(json.dumps(api_ok), "--set", "2.filename_prefix=/tmp/escape"), 1,
                                ["filename_prefix"], out),
        # server
        "server-not-http": Case(wf(json.dumps(api_ok), "--server", "ftp://127.0.0.1:8188")[:2] +
                                ["--server", "ftp://127.0.0.1:8188"], 1, ["--server", "http"]),
        "server-down": Case(wf(json.dumps(api_ok))[:2] + ["--server", "http://127.0.0.1:9"], 1,
                            ["--server", "cannot reach"]),
        "server-bad-port": Case(wf(json.dumps(api_ok))[:2] + ["--server", "http://127.0.0.1:70000"], 1,
                                ["--server", "port"]),
    }
    return cases




def _all_cli_ids() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return list(cli_cases(Path(tmp)))


def _check_case(case: Case, capsys) -> str:
    code = main(case.argv)
    captured = capsys.readouterr()
    assert code == case.code, (code, captured.out, captured.err)
    assert "Traceback" not in captured.err + captured.out
    for words in case.says:
        assert words in captured.err, (words, captured.err)
    if case.quiet is not None:
        assert not any(p.is_file() for p in case.quiet.rglob("*")) if case.quiet.exists() else True
    if case.check is not None:
        case.check()
    return captured.err


@pytest.mark.parametrize("name", _all_cli_ids())
def test_hostile_workflow_input_gets_a_clear_error(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = cli_cases(tmp_path)[name]
    _check_case(case, capsys)


def test_a_3000_node_chain_validates_runs_and_converts(tmp_path, capsys, monkeypatch):
    """No RecursionError: ordering, cycle search, layout and execution all walk the graph iteratively."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    argv = _run(tmp_path, json.dumps(_chain(3000)))
    assert main(argv) == 0, capsys.readouterr().err
    saved = list((tmp_path / "out" / "deep").glob("*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())
    assert main(["convert", argv[1], str(tmp_path / "ui.json")]) == 0
    ui = json.loads((tmp_path / "ui.json").read_text())
    assert len(ui["nodes"]) == 3003 and max(n["pos"][0] for n in ui["nodes"]) > 3000 * 300


def test_a_3000_node_cycle_is_reported_not_a_recursion_error(tmp_path, capsys):
    prompt = _chain(3000)
    prompt["2"]["inputs"]["poses"] = ["3001", 0]
    assert main(_run(tmp_path, json.dumps(prompt))) == 2
    assert "links form a cycle" in capsys.readouterr().err


# ---- pose files -----------------------------------------------------------------------------------------------------

def _track(tmp_path: Path, frames) -> list[str]:
    source = tmp_path / "poses.json"
    source.write_text(frames if isinstance(frames, str) else json.dumps(frames))
    return ["track", str(source), str(tmp_path / "tracked.json")]


POSE_CASES = {
    "nan-coordinate": ("NaN", ["pose_keypoints_2d", "NaN"]),
    "infinite-coordinate": ("Infinity", ["pose_keypoints_2d", "Infinity"]),
    "huge-coordinate": ("1e30", ["pose_keypoints_2d", "beyond"]),
    "canvas-1e12": ("canvas", ["canvas size", "outside"]),
    "canvas-zero": ("canvas0", ["canvas size", "outside"]),
    "canvas-nan": ("canvasnan", ["canvas size"]),
    "truncated": ("truncated", ["not readable JSON"]),
    "not-utf8": ("latin1", ["not readable JSON"]),
    "people-not-list": ("people", ["people"]),
    "person-not-object": ("person", ["person"]),
}


@pytest.mark.parametrize("name", sorted(POSE_CASES))
def test_hostile_pose_file_is_refused_and_nothing_invalid_is_written(name, tmp_path, capsys):
    kind, says = POSE_CASES[name]
    if kind in ("NaN", "Infinity", "1e30"):
        text = json.dumps(_pose_frames([12.0, 20.0, 1.0])).replace("12.0", kind, 1)
    elif kind.startswith("canvas"):
        value = {"canvas": 10**12, "canvas0": 0, "canvasnan": "NaN"}[kind]
        text = json.dumps(_pose_frames()).replace('"canvas_width": 64', f'"canvas_width": {value}', 1)
    elif kind == "truncated":
        text = json.dumps(_pose_frames())[:-25]
    elif kind == "latin1":
        (tmp_path / "poses.json").write_bytes(json.dumps(_pose_frames()).replace("people", "p\u00e9ople").encode(
            "latin-1"))
        text = None
    elif kind == "people":
        text = json.dumps([{"people": {"a": 1}, "canvas_width": 64, "canvas_height": 64}])
    else:
        text = json.dumps([{"people": [[1, 2, 3]], "canvas_width": 64, "canvas_height": 64}])
    argv = _track(tmp_path, text) if text is not None else ["track", str(tmp_path / "poses.json"),
                                                             str(tmp_path / "tracked.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert all(word in err for word in says), err
    assert not (tmp_path / "tracked.json").exists()


def test_extra_nan_fields_in_a_pose_file_never_become_invalid_json(tmp_path, capsys):
    frames = _pose_frames()
    text = json.dumps(frames).replace('"canvas_height": 64}', '"canvas_height": 64, "score": NaN}')
    assert main(_track(tmp_path, text)) == 2
    assert "NaN" in capsys.readouterr().err and not (tmp_path / "tracked.json").exists()


def test_eval_refuses_pose_files_of_different_lengths_instead_of_scoring_the_shorter(tmp_path, capsys):
    scene = make_scene(SceneConfig(characters=2, frames=6, width=64, height=64, seed=1))
    video = write_mp4(scene.frames.astype(np.float32) / 255.0, tmp_path / "gen.mp4", fps=8)
    write_mp4(scene.frames.astype(np.float32) / 255.0, tmp_path / "gt.mp4", fps=8)
    from choreograph.core.pose.pose_keypoint import save_json, write_pose_keypoint

    save_json(write_pose_keypoint(scene.poses), tmp_path / "gt.json")
    save_json(write_pose_keypoint(scene.poses.frames(0, 4)), tmp_path / "short.json")
    argv = ["eval", str(video), str(tmp_path / "gt.mp4"), "--generated-poses", str(tmp_path / "short.json"),
            "--gt-poses", str(tmp_path / "gt.json"), "--report", str(tmp_path / "r.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "4 frames" in err and "6" in err and "--trim" in err and not (tmp_path / "r.json").exists()
    assert main(argv + ["--trim"]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["pose"]["frames"] == 4


# ---- model and data files -------------------------------------------------------------------------------------------

def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\x01garbage" * 64)
    elif how == "header":
        path.write_bytes((10**9).to_bytes(8, "little") + data[8:])
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncate", "garbage", "header", "empty"])
def test_a_corrupt_demo_model_names_the_input(headless_dirs, how):
    from choreograph.nodes.demo import ChoreoDemoModelLoader

    folder = headless_dirs / "input" / "model"
    shutil.copytree(PACK / "demo", folder, ignore=shutil.ignore_patterns("ablation_no_img", "README.md"))
    _corrupt(folder / "diffusion_pytorch_model.safetensors", how)
    with pytest.raises(InputError) as error:
        ChoreoDemoModelLoader().run(model_folder="model")
    assert error.value.input_name == "model_folder" and "safetensors" in str(error.value)


@pytest.mark.parametrize("change", ["heads-zero", "head-dim-zero", "config-truncated",
                                    "config-list", "heads-string"])
def test_a_broken_model_config_names_the_input(headless_dirs, change):
    from choreograph.nodes.demo import ChoreoDemoModelLoader

    folder = headless_dirs / "input" / "model"
    shutil.copytree(PACK / "demo", folder, ignore=shutil.ignore_patterns("ablation_no_img", "README.md"))
    config = json.loads((folder / "config.json").read_text())
    text = {"heads-zero": lambda: json.dumps({**config, "num_attention_heads": 0}),
            "head-dim-zero": lambda: json.dumps({**config, "attention_head_dim": 0}),
            "config-truncated": lambda: json.dumps(config)[:40],
            "config-list": lambda: "[1, 2]",
            "heads-string": lambda: json.dumps({**config, "num_attention_heads": "four"})}[change]()
    (folder / "config.json").write_text(text)
    with pytest.raises(InputError) as error:
        ChoreoDemoModelLoader().run(model_folder="model")
    assert error.value.input_name == "model_folder" and "config.json" in str(error.value)


@pytest.mark.parametrize("how", ["truncate", "garbage", "empty"])
def test_a_corrupt_prompt_embeddings_file_names_the_input(headless_dirs, how):
    import torch
    from safetensors.torch import save_file

    from choreograph.nodes.wan_incontext import ChoreoWanPrompt

    path = headless_dirs / "input" / "emb.safetensors"
    save_file({"positive": torch.zeros(5, 32), "negative": torch.zeros(2, 32)}, str(path))
    _corrupt(path, how)
    with pytest.raises(InputError) as error:
        ChoreoWanPrompt().run(embeddings_file="emb.safetensors")
    assert error.value.input_name == "embeddings_file"


@pytest.mark.parametrize("how", ["truncate", "garbage", "empty"])
def test_a_corrupt_onnx_network_names_the_option(tmp_path, capsys, how):
    scene = make_scene(SceneConfig(characters=1, frames=4, width=64, height=64, seed=2))
    video = write_mp4(scene.frames.astype(np.float32) / 255.0, tmp_path / "gen.mp4", fps=8)
    onnx = tmp_path / "inception.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x04test" * 100)
    _corrupt(onnx, how)
    assert main(["eval", str(video), str(video), "--inception", str(onnx)]) == 2
    err = capsys.readouterr().err
    assert "--inception" in err and "ONNX" in err


def test_corrupt_dwpose_files_are_named(tmp_path, capsys):
    models = tmp_path / "models" / "detection"
    models.mkdir(parents=True)
    (models / "yolox_l.onnx").write_bytes(b"not onnx")
    (models / "dw-ll_ucoco_384.onnx").write_bytes(b"")
    frames = tmp_path / "frames"
    frames.mkdir()
    assert main(["pose", str(frames), str(tmp_path / "o.json"), "--models-dir", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err
    assert "dw-ll_ucoco_384.onnx" in err and "ONNX" in err and not (tmp_path / "o.json").exists()


# ---- videos ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["truncate", "garbage", "empty", "middle"])
def test_a_broken_video_names_the_input(headless_dirs, bar_frames, how):
    from choreograph.nodes.video_io import ChoreoLoadVideo

    path = write_mp4(np.repeat(bar_frames, 4, axis=0), headless_dirs / "input" / "clip.mp4", fps=12)
    if how == "middle":
        data = bytearray(path.read_bytes())
        start = len(data) // 3
        data[start:start + len(data) // 3] = bytes(len(data) // 3)  # zeros over the middle third of the stream
        path.write_bytes(bytes(data))
    else:
        _corrupt(path, how)
    try:
        images, count, _, _ = ChoreoLoadVideo().run("clip.mp4")
    except InputError as error:
        assert error.input_name == "video" and "clip.mp4" in str(error)
    else:  # a decoder may conceal damage; then every frame it returns must be a real, finite frame
        assert count == len(images) > 0 and bool(np.isfinite(images.numpy()).all())


def test_an_empty_frame_folder_names_the_input(headless_dirs):
    from choreograph.nodes.video_io import ChoreoLoadVideo

    (headless_dirs / "input" / "frames").mkdir()
    (headless_dirs / "input" / "frames" / "notes.txt").write_text("no images")
    with pytest.raises(InputError) as error:
        ChoreoLoadVideo().run("frames")
    assert error.value.input_name == "video"


# ---- training checkpoints -------------------------------------------------------------------------------------------

def _tiny_run(lora_rank: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, lora_rank), nn.Linear(lora_rank, 4))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    return model, optimizer, scheduler


def test_resuming_a_checkpoint_of_another_lora_rank_is_refused(tmp_path):
    from choreograph.training.checkpoints import load_checkpoint, save_checkpoint

    saved = save_checkpoint(tmp_path / "checkpoints", 3, *_tiny_run(4))
    with pytest.raises(InputError) as error:
        load_checkpoint(saved, *_tiny_run(8))
    assert error.value.input_name == "--resume" and "shape" in str(error.value)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"checkpoint": 5}', '{"checkpoint": "../../etc"}', "\xff"])
def test_a_corrupt_latest_json_is_refused(tmp_path, text):
    from choreograph.training.checkpoints import LATEST, latest_checkpoint, save_checkpoint

    save_checkpoint(tmp_path / "checkpoints", 3, *_tiny_run(4))
    (tmp_path / "checkpoints" / LATEST).write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as error:
        latest_checkpoint(tmp_path / "checkpoints")
    assert error.value.input_name == "--resume" and LATEST in str(error.value)


@pytest.mark.parametrize("file", ["trainable.safetensors", "optimizer.safetensors", "state.json"])
def test_a_corrupt_checkpoint_file_is_refused(tmp_path, file):
    from choreograph.training.checkpoints import load_checkpoint, save_checkpoint

    saved = save_checkpoint(tmp_path / "checkpoints", 3, *_tiny_run(4))
    _corrupt(saved / file, "truncate")
    with pytest.raises(InputError) as error:
        load_checkpoint(saved, *_tiny_run(4))
    assert error.value.input_name == "--resume" and file in str(error.value)


def test_finite_checks_do_not_reject_ordinary_numbers():
    from choreograph.headless.validate import _check_constant

    assert _check_constant("FLOAT", {"min": 0.0, "max": 10.0}, 2.5) is None
    assert _check_constant("INT", {"min": 0, "max": 10}, 3.0) is None  # JSON 3.0 is a whole number
    assert "finite" in _check_constant("FLOAT", {}, math.nan)


@pytest.mark.parametrize("arch", [{"head_dim": 0}, {"dim": 0}, {"num_layers": -1}, {"dim": 100, "head_dim": 32}])
def test_zero_or_mismatched_model_sizes_in_a_training_config_are_refused(arch, tmp_path, capsys):
    from choreograph.training.__main__ import main as train_main

    config = PACK / "training" / "configs" / "demo_scail2.yaml"
    text = config.read_text()
    import yaml

    raw = yaml.safe_load(text)
    raw.setdefault("model", {}).setdefault("arch", {}).update(arch)
    raw["output_dir"] = str(tmp_path / "run")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    assert train_main([str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert "model.arch." in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_training_config_that_is_not_utf8_is_refused(tmp_path, capsys):
    from choreograph.training.__main__ import main as train_main

    (tmp_path / "c.yaml").write_bytes(b"model:\n  backbone: scail\xe9\n")
    assert train_main([str(tmp_path / "c.yaml")]) == 2
    assert "UTF-8" in capsys.readouterr().err
