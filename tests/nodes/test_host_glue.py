"""Inside ComfyUI, nodes report to comfy.utils.ProgressBar and stop when the user cancels."""
from __future__ import annotations

import sys
import types

import pytest
import torch

from choreograph.nodes import _host
from choreograph.nodes.video_io import ChoreoSaveVideo


class Interrupted(Exception):
    pass


@pytest.fixture
def fake_comfy(monkeypatch, tmp_path):
    """Stand-ins with ComfyUI's interfaces: ProgressBar.update_absolute is where ComfyUI raises on cancel."""
    state = {"updates": [], "cancel_after": None}

    class ProgressBar:
        def __init__(self, total):
            self.total = total

        def update_absolute(self, value, total=None):
            state["updates"].append((value, total))
            if state["cancel_after"] is not None and len(state["updates"]) > state["cancel_after"]:
                raise Interrupted()

    comfy = types.ModuleType("comfy")
    utils = types.ModuleType("comfy.utils")
    utils.ProgressBar = ProgressBar
    management = types.ModuleType("comfy.model_management")
    management.throw_exception_if_processing_interrupted = lambda: None
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_output_directory = lambda: str(tmp_path / "comfy_output")
    folder_paths.get_input_directory = lambda: str(tmp_path / "comfy_input")
    for name, module in {"comfy": comfy, "comfy.utils": utils, "comfy.model_management": management,
                         "folder_paths": folder_paths}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return state


def test_progress_goes_to_comfyui_and_files_to_its_output_folder(fake_comfy, tmp_path, bar_frames):
    assert _host.in_comfyui()
    path = ChoreoSaveVideo().run(torch.from_numpy(bar_frames), 12.0, "c", "mp4 (H.264)", 20)["result"][0]
    assert path == str(tmp_path / "comfy_output" / "c_00001.mp4")
    values = [v for v, _ in fake_comfy["updates"]]
    assert values == sorted(values) and values[-1] == len(bar_frames)


def test_cancel_in_comfyui_stops_the_node_and_leaves_no_file(fake_comfy, tmp_path, bar_frames):
    fake_comfy["cancel_after"] = 3
    with pytest.raises(Interrupted):
        ChoreoSaveVideo().run(torch.from_numpy(bar_frames), 12.0, "c", "mp4 (H.264)", 20)
    assert not any(p.is_file() for p in (tmp_path / "comfy_output").rglob("*"))


def test_headless_is_not_mistaken_for_comfyui():
    assert not _host.in_comfyui()
