"""Shared fixtures: a headless output folder per test, and small real videos."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `from _support import load_helper`

# Tiny networks spend more time handing work between threads than computing; one thread is faster and keeps
# timings steady when the machine is shared.
torch.set_num_threads(1)


@pytest.fixture
def headless_dirs(tmp_path, monkeypatch):
    """Point the pack's input/output folders at a fresh temporary folder."""
    from choreograph.nodes import _host

    monkeypatch.setattr(_host, "_headless_dirs", {})
    _host.set_headless_directory("output", tmp_path / "output")
    _host.set_headless_directory("input", tmp_path / "input")
    (tmp_path / "input").mkdir()
    return tmp_path


def moving_bar_frames(count: int = 12, height: int = 40, width: int = 64) -> np.ndarray:
    """A bar sweeping left to right: each frame differs, so frame order and selection are checkable."""
    frames = np.zeros((count, height, width, 3), np.float32)
    for i in range(count):
        x = int(i * (width - 8) / max(count - 1, 1))
        frames[i, :, x:x + 8] = (0.9, 0.6, 0.2)
    return frames


@pytest.fixture
def bar_frames():
    return moving_bar_frames()
