"""The smaller things a user meets on the command line: resumable synth, no overwrite on convert or training,
normal file modes, progress in logs, errors on stderr, SIGTERM leaving nothing half-written."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import choreograph
from choreograph.cli import main
from choreograph.core.video.output_files import atomic_directory, atomic_file

PACK = Path(choreograph.__file__).resolve().parent
SYNTH = ["synth", "--scenes", "3", "--frames", "3", "--width", "64", "--height", "64", "--characters", "2",
         "--seed", "5"]


def test_an_interrupted_synth_resumes_to_the_same_dataset(tmp_path, monkeypatch, capsys):
    from choreograph.core.synth import dataset

    assert main(SYNTH + ["--out", str(tmp_path / "whole")]) == 0
    original = dataset.write_scene
    calls = []

    def interrupted_after_one(scene, folder):
        if calls:
            raise KeyboardInterrupt
        calls.append(folder)
        original(scene, folder)

    monkeypatch.setattr(dataset, "write_scene", interrupted_after_one)
    assert main(SYNTH + ["--out", str(tmp_path / "resumed")]) == 130
    assert [p.name for p in (tmp_path / "resumed").iterdir() if p.is_dir()] == ["scene_00000"]
    monkeypatch.setattr(dataset, "write_scene", original)
    assert main(SYNTH + ["--out", str(tmp_path / "resumed")]) == 0, capsys.readouterr().err
    whole, resumed = dataset.load_dataset(tmp_path / "whole"), dataset.load_dataset(tmp_path / "resumed")
    assert [p.name for p in resumed] == [p.name for p in whole] == ["scene_00000", "scene_00001", "scene_00002"]
    for a, b in zip(whole, resumed):
        assert np.array_equal(np.load(a / "poses.npz")["keypoints"], np.load(b / "poses.npz")["keypoints"])
    assert main(SYNTH[:-1] + ["6", "--out", str(tmp_path / "resumed")]) == 2  # other settings: refused
    assert "other settings" in capsys.readouterr().err


def test_convert_onto_an_existing_file_is_a_clean_error(tmp_path, capsys):
    workflow = PACK / "workflows" / "api" / "synth_scene_video.json"
    target = tmp_path / "ui.json"
    target.write_text("keep me")
    assert main(["convert", str(workflow), str(target)]) == 2
    captured = capsys.readouterr()
    assert "exists" in captured.err and "--overwrite" in captured.err and "Traceback" not in captured.err
    assert target.read_text() == "keep me"
    assert main(["convert", str(workflow), str(target), "--overwrite"]) == 0
    assert json.loads(target.read_text())["nodes"]
    assert main(["convert", str(target), str(target), "--overwrite"]) == 2


def test_saved_files_and_folders_get_the_normal_umask_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
        with atomic_directory(tmp_path / "folder") as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755


def test_progress_is_logged_when_the_output_is_not_a_terminal(caplog):
    from choreograph.nodes._host import progress_bar

    with caplog.at_level(logging.INFO, logger="choreograph"):
        with progress_bar(10, "saving clip") as progress:
            for done in range(11):
                progress(done, 10)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("saving clip")]
    assert lines[0] == "saving clip: 0/10 (0%)" and lines[-1] == "saving clip: 10/10 (100%)"


@pytest.mark.parametrize("argv", [["track", "{missing}", "{out}"], ["pose", "{missing}", "{out}", "--models-dir",
                                                                      "{tmp}"],
                                  ["prepare", "{missing}", "{tmp}/clips"]])
def test_track_pose_and_prepare_errors_go_to_stderr(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    values = {"missing": str(tmp_path / "missing.json"), "out": str(tmp_path / "o.json"), "tmp": str(tmp_path)}
    assert main([a.format(**values) for a in argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and "error" not in captured.out


def test_sigterm_during_a_save_leaves_no_partial_file(tmp_path):
    """A scheduler's SIGTERM mid-write: the atomic writers clean up as on Ctrl-C, and the exit says so."""
    out = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(PACK.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "choreograph", "synth", "--out", str(out), "--scenes", "200",
                                "--frames", "24", "--width", "128", "--height", "128"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("*.partial")) and process.poll() is None:
        time.sleep(0.05)
    assert list(out.glob("*.partial")), "no save was under way to interrupt"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and "terminated" in err
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
