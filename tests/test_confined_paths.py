"""File inputs are confined like ComfyUI's own loaders: inside the input folder (or the models folder for model
folders, or a folder shipped in the pack), never an absolute path, a `..` or a symlink that leads out."""
from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest

from choreograph.cli import main
from choreograph.core.errors import InputError
from choreograph.core.video.writer import write_mp4
from choreograph.nodes import _host
from choreograph.nodes._host import resolve_input_path

PACK = Path(_host.PACK_ROOT)


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("not for the server")
    return path


def test_a_file_in_the_input_folder_resolves(headless_dirs):
    (headless_dirs / "input" / "sub").mkdir()
    (headless_dirs / "input" / "sub" / "a.json").write_text("[]")
    assert resolve_input_path("sub/a.json", "path") == (headless_dirs / "input" / "sub" / "a.json").resolve()
    assert resolve_input_path(str(headless_dirs / "input" / "sub" / "a.json"), "path").is_file()
    assert resolve_input_path("sub/../sub/a.json", "path").is_file()


@pytest.mark.parametrize("value", ["../secret.txt", "sub/../../secret.txt", "{secret}", "~/../../{secret}",
                                   "/etc/passwd", "/etc", "../../../../../../etc/passwd", "..", "/"])
def test_paths_leading_out_are_refused_and_name_the_input(headless_dirs, secret, value):
    value = value.format(secret=secret)
    with pytest.raises(InputError) as refused:
        resolve_input_path(value, "video")
    assert refused.value.input_name == "video"
    assert "input" in refused.value.fix


def test_outside_files_are_refused_whether_or_not_they_exist(headless_dirs):
    """No existence oracle: a missing outside file gets the same refusal as a present one."""
    messages = []
    for name in ("../secret.txt", "../missing.txt"):
        with pytest.raises(InputError) as refused:
            resolve_input_path(name, "video")
        messages.append(refused.value.problem.replace(name, "X"))
    assert messages[0] == messages[1] and "leads outside" in messages[0]


def test_a_symlink_leading_out_is_refused_one_staying_inside_is_followed(headless_dirs, secret):
    inside = headless_dirs / "input"
    (inside / "real.txt").write_text("fine")
    os.symlink(secret, inside / "escape.txt")
    os.symlink(inside / "real.txt", inside / "alias.txt")
    os.symlink(secret.parent, inside / "escape_dir")
    with pytest.raises(InputError, match="leads outside"):
        resolve_input_path("escape.txt", "path")
    with pytest.raises(InputError, match="leads outside"):
        resolve_input_path("escape_dir/secret.txt", "path")
    assert resolve_input_path("alias.txt", "path") == (inside / "real.txt").resolve()


def test_the_pack_example_assets_are_readable_but_nothing_else_of_the_pack(headless_dirs):
    assert resolve_input_path("workflows/assets/pose_swap_untracked.json", "path").is_file()
    for value in ("pyproject.toml", "workflows/assets/../../pyproject.toml", "nodes/_host.py"):
        with pytest.raises(InputError):
            resolve_input_path(value, "path")


def test_model_folders_resolve_in_the_models_folder_only(headless_dirs, monkeypatch, secret):
    models = headless_dirs / "models"
    (models / "diffusers" / "svd").mkdir(parents=True)
    _host.set_headless_directory("models", models)
    assert resolve_input_path("svd", "svd_folder", model_folder="diffusers") == (models / "diffusers" / "svd")
    with pytest.raises(InputError, match="leads outside"):
        resolve_input_path("../../../secret.txt", "svd_folder", model_folder="diffusers")
    with pytest.raises(InputError, match="leads outside"):
        resolve_input_path(str(secret.parent), "model_folder", model_folder="")


def test_the_demo_loader_reads_the_shipped_demo_but_not_an_outside_folder(headless_dirs):
    from choreograph.nodes.demo import ChoreoDemoModelLoader

    ChoreoDemoModelLoader().run(model_folder=str(PACK / "demo" / "ablation_no_img"))
    with pytest.raises(InputError, match="model_folder"):
        ChoreoDemoModelLoader().run(model_folder=str(PACK / "core"))


def test_inside_comfyui_the_folders_are_comfyuis_and_allow_any_path_is_ignored(monkeypatch, tmp_path, secret):
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_input_directory = lambda: str(tmp_path / "comfy_input")
    folder_paths.get_output_directory = lambda: str(tmp_path / "comfy_output")
    folder_paths.models_dir = str(tmp_path / "comfy_models")
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    monkeypatch.setattr(_host, "_headless_dirs", {})
    (tmp_path / "comfy_input").mkdir()
    (tmp_path / "comfy_input" / "a.txt").write_text("x")
    _host.allow_paths_outside(True)
    assert resolve_input_path("a.txt", "path") == (tmp_path / "comfy_input" / "a.txt").resolve()
    with pytest.raises(InputError, match="leads outside"):
        resolve_input_path(str(secret), "path")


def _load_then_save(video: str) -> dict:
    return {"1": {"class_type": "ChoreoLoadVideo", "inputs": {"video": video, "force_rate": 0, "custom_width": 0,
                                                              "custom_height": 0, "frame_load_cap": 0,
                                                              "skip_first_frames": 0, "select_every_nth": 1}},
            "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": 8.0,
                                                              "filename_prefix": "copy", "format": "png frames",
                                                              "crf": 19}}}


def test_a_load_save_chain_cannot_copy_an_outside_file(tmp_path, bar_frames, capsys, monkeypatch):
    outside = write_mp4(bar_frames, tmp_path / "private" / "clip.mp4", fps=8)
    (tmp_path / "input").mkdir()
    monkeypatch.chdir(tmp_path / "input")
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(_load_then_save(str(outside))))
    base = ["run", str(workflow), "--output-dir", str(tmp_path / "out"), "--input-dir", str(tmp_path / "input")]
    assert main(base) == 1
    err = capsys.readouterr().err
    assert "video:" in err and "leads outside" in err and "Traceback" not in err
    assert not any(p.is_file() for p in (tmp_path / "out").rglob("*"))
    assert main(base + ["--allow-any-path"]) == 0  # the explicit headless opt-in
    assert main(["run", str(workflow), "--allow-any-path", "--server", "http://127.0.0.1:1"]) == 2
    assert "local runs" in capsys.readouterr().err
