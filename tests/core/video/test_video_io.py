"""Video and image-folder I/O: fidelity, VHS frame selection, atomic and non-overwriting writes."""
from __future__ import annotations

import numpy as np
import pytest

from choreograph.core.errors import InputError
from choreograph.core.video.output_files import atomic_file, next_numbered_path, safe_prefix_path
from choreograph.core.video.reader import FrameSelection, load_frames
from choreograph.core.video.writer import write_mp4, write_png_frames


def bar_position(frame: np.ndarray) -> float:
    """Column centre of the bright bar in a frame."""
    columns = frame.mean(axis=(0, 2))
    return float((columns * np.arange(len(columns))).sum() / columns.sum())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_mp4_round_trip_is_h264_and_faithful(tmp_path, bar_frames):
    import av

    path = write_mp4(bar_frames, tmp_path / "clip.mp4", fps=12, crf=12)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    loaded = load_frames(path)
    assert loaded.frames.shape == bar_frames.shape
    assert psnr(loaded.frames, bar_frames) > 30
    assert loaded.info["source_fps"] == pytest.approx(12)


def test_odd_sizes_are_padded_not_rejected(tmp_path):
    frames = np.random.default_rng(0).random((3, 17, 23, 3)).astype(np.float32)
    loaded = load_frames(write_mp4(frames, tmp_path / "odd.mp4", fps=8))
    assert loaded.frames.shape == (3, 18, 24, 3)


def test_selection_order_matches_videohelpersuite(tmp_path, bar_frames):
    folder = tmp_path / "frames"
    write_png_frames(bar_frames, folder)
    sel = FrameSelection(skip_first_frames=2, select_every_nth=3, frame_load_cap=3)
    loaded = load_frames(folder, sel)
    expected = [bar_position(bar_frames[i]) for i in (2, 5, 8)]
    assert [bar_position(f) for f in loaded.frames] == pytest.approx(expected, abs=0.01)
    assert loaded.info["loaded_fps"] == pytest.approx(24 / 3)


def test_force_rate_halves_a_video(tmp_path, bar_frames):
    path = write_mp4(bar_frames, tmp_path / "clip.mp4", fps=12, crf=12)
    loaded = load_frames(path, FrameSelection(force_rate=6))
    assert len(loaded.frames) == 6
    assert loaded.info["loaded_fps"] == 6
    got = [bar_position(f) for f in loaded.frames]
    want = [bar_position(bar_frames[i]) for i in range(0, 12, 2)]
    assert got == pytest.approx(want, abs=0.6)


def test_resize_keeps_aspect_when_one_side_given(tmp_path, bar_frames):
    folder = tmp_path / "frames"
    write_png_frames(bar_frames, folder)
    loaded = load_frames(folder, FrameSelection(width=32))
    assert loaded.frames.shape[1:3] == (20, 32)


def test_nothing_left_is_a_clear_error(tmp_path, bar_frames):
    folder = tmp_path / "frames"
    write_png_frames(bar_frames, folder)
    with pytest.raises(InputError, match="skip_first_frames"):
        load_frames(folder, FrameSelection(skip_first_frames=100))


def test_mismatched_folder_sizes_are_reported(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    write_png_frames(np.zeros((1, 8, 8, 3)), folder / "a")
    write_png_frames(np.zeros((1, 8, 10, 3)), folder / "b")
    flat = tmp_path / "flat"
    flat.mkdir()
    (folder / "a" / "frame_00000.png").rename(flat / "1.png")
    (folder / "b" / "frame_00000.png").rename(flat / "2.png")
    with pytest.raises(InputError, match="2.png"):
        load_frames(flat)
    assert load_frames(flat, FrameSelection(width=8, height=8)).frames.shape == (2, 8, 8, 3)


def test_not_a_video_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(InputError, match="video"):
        load_frames(bogus)


def test_existing_output_is_never_overwritten(tmp_path, bar_frames):
    path = write_mp4(bar_frames, tmp_path / "clip.mp4", fps=12)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_mp4(bar_frames[:2], path, fps=12)
    assert path.read_bytes() == before
    with pytest.raises(FileExistsError):
        write_png_frames(bar_frames, tmp_path)


def test_interrupted_writes_leave_nothing_behind(tmp_path, bar_frames):
    def interrupt(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_mp4(bar_frames, tmp_path / "clip.mp4", fps=12, progress=interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_png_frames(bar_frames, tmp_path / "frames", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "a.txt"
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_numbered_paths_continue_after_the_highest(tmp_path):
    (tmp_path / "clip_00001.mp4").write_text("x")
    (tmp_path / "clip_00007.mp4").write_text("x")
    (tmp_path / "clip_00003").mkdir()
    assert next_numbered_path(tmp_path, "clip", ".mp4").name == "clip_00008.mp4"
    assert next_numbered_path(tmp_path, "other", ".mp4").name == "other_00001.mp4"


def test_prefix_cannot_escape_the_output_folder(tmp_path):
    folder, stem = safe_prefix_path(tmp_path, "runs/dance")
    assert folder == (tmp_path / "runs").resolve() and stem == "dance"
    with pytest.raises(InputError, match="filename_prefix"):
        safe_prefix_path(tmp_path, "../../etc/x")
