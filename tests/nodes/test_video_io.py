"""The video I/O nodes, run as plain classes the way ComfyUI calls them."""
from __future__ import annotations

import shutil

import pytest
import torch

from choreograph.core.errors import InputError
from choreograph.nodes.video_io import ChoreoLoadVideo, ChoreoSaveVideo


def test_save_then_load_through_the_nodes(headless_dirs, bar_frames):
    saved = ChoreoSaveVideo().run(torch.from_numpy(bar_frames), 12.0, "dance/clip", "mp4 + png frames", 14)
    mp4 = headless_dirs / "output" / "dance" / "clip_00001.mp4"
    assert saved["result"] == (str(mp4),)
    # native SaveVideo's shape: the stock frontend previews it as a video
    assert saved["ui"]["images"][0] == {"filename": "clip_00001.mp4", "subfolder": "dance", "type": "output",
                                        "format": "video/h264-mp4", "frame_rate": 12.0}
    assert saved["ui"]["animated"] == [True]
    assert len(list((headless_dirs / "output" / "dance" / "clip_00001").glob("*.png"))) == len(bar_frames)

    shutil.copy(mp4, headless_dirs / "input" / "clip.mp4")  # loaders read only the input folder
    images, count, fps, info = ChoreoLoadVideo().run("clip.mp4", select_every_nth=2)
    assert images.dtype == torch.float32 and images.shape == (6, 40, 64, 3)
    assert count == 6 and fps == pytest.approx(6.0)
    assert info["source_frame_count"] == 12 and info["loaded_frame_count"] == 6
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_second_save_gets_the_next_number(headless_dirs, bar_frames):
    node = ChoreoSaveVideo()
    first = node.run(torch.from_numpy(bar_frames), 12.0, "clip", "mp4 (H.264)", 20)["result"][0]
    second = node.run(torch.from_numpy(bar_frames), 12.0, "clip", "mp4 (H.264)", 20)["result"][0]
    assert first.endswith("clip_00001.mp4") and second.endswith("clip_00002.mp4")


def test_png_only_writes_a_numbered_folder(headless_dirs, bar_frames):
    path = ChoreoSaveVideo().run(torch.from_numpy(bar_frames), 12.0, "frames", "png frames", 20)["result"][0]
    assert path.endswith("frames_00001") and len(list((headless_dirs / "output").rglob("*.png"))) == 12
    assert not list((headless_dirs / "output").rglob("*.mp4"))


def test_missing_video_names_the_input_and_where_it_looked(headless_dirs):
    with pytest.raises(InputError) as err:
        ChoreoLoadVideo().run("nowhere.mp4")
    assert err.value.input_name == "video" and "input" in str(err.value)


def test_is_changed_follows_the_file(headless_dirs, bar_frames):
    from choreograph.core.video.writer import write_mp4

    path = write_mp4(bar_frames, headless_dirs / "input" / "a.mp4", fps=12)
    before = ChoreoLoadVideo.IS_CHANGED("a.mp4")
    path.unlink()
    write_mp4(bar_frames[:4], path, fps=12)
    assert ChoreoLoadVideo.IS_CHANGED("a.mp4") != before
