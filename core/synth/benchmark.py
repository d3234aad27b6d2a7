"""Generation speed of the synthetic world: frames/s by resolution and cast size, and a 1,000-frame dataset.

Reports wall-clock and CPU time: on a shared machine wall-clock includes waiting for other processes, while CPU
time is what generation itself costs.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import SceneConfig
from .dataset import DatasetSpec, write_dataset
from .scene import make_scene


@dataclass(frozen=True)
class Timing:
    label: str
    frames: int
    wall_s: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return self.frames / max(self.wall_s, 1e-9)

    @property
    def cpu_fps(self) -> float:
        return self.frames / max(self.cpu_s, 1e-9)

    def line(self) -> str:
        return (f"{self.label:<34} {self.frames:5d} frames  {self.wall_s:7.2f} s wall ({self.fps:7.1f} frames/s)"
                f"  {self.cpu_s:7.2f} s CPU ({self.cpu_fps:7.1f} frames/s)")


def _timed(label: str, frames: int, work) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Timing(label, frames, time.perf_counter() - wall, time.process_time() - cpu)


def generation_timings(sides: tuple[int, ...] = (256, 512), casts: tuple[int, ...] = (2, 6),
                       frames: int = 48) -> list[Timing]:
    """In-memory scene generation ("dance+swap", textured background) for each side × cast size."""
    timings = []
    for side in sides:
        for cast in casts:
            config = SceneConfig(characters=cast, frames=frames, width=side, height=side,
                                 choreography="dance+swap", background="textured", seed=0)
            timings.append(_timed(f"generate {side}x{side}, {cast} characters", frames, lambda c=config: make_scene(c)))
    return timings


def dataset_timing(total_frames: int = 1000, frames_per_scene: int = 48, side: int = 256) -> Timing:
    """Write a mixed dataset of at least ``total_frames`` frames to a temporary folder (PNG + npz + json)."""
    scenes = -(-total_frames // frames_per_scene)
    spec = DatasetSpec(scenes=scenes, seed=0, frames=frames_per_scene, width=side, height=side)
    with tempfile.TemporaryDirectory() as tmp:
        return _timed(f"dataset {scenes} scenes at {side}x{side}", scenes * frames_per_scene,
                      lambda: write_dataset(Path(tmp) / "dataset", spec))
