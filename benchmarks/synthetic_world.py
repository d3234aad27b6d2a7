"""Generation speed of the synthetic world: frames/s by resolution and cast size, and a 1,000-frame dataset.

Each setting reports CPU time (what generation itself costs) and wall time (which on a shared machine includes
waiting for other processes), min / median / max over repeats, one thread. The dataset write is timed once (it
is long and mostly encoding; its spread is not known from one run, and the line says so).

Run: ``python -m choreograph.benchmarks.synthetic_world`` (or ``python -m choreograph synth --benchmark``).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.synth.config import SceneConfig
from ..core.synth.dataset import DatasetSpec, write_dataset
from ..core.synth.scene import make_scene
from .timing import CPU, WALL, Samples, measure, one_thread


@dataclass(frozen=True)
class Timing:
    """``frames`` produced per run of one setting, and the per-run CPU and wall seconds."""

    label: str
    frames: int
    samples: Samples

    @property
    def fps(self) -> float:
        """Frames per wall second at the median run."""
        return self.frames / max(self.samples.stats(WALL)[1], 1e-9)

    @property
    def cpu_fps(self) -> float:
        """Frames per CPU second at the median run."""
        return self.frames / max(self.samples.stats(CPU)[1], 1e-9)

    def line(self) -> str:
        return f"{self.label:<34} {self.frames:5d} frames  " + self.samples.cells(self.frames)


def generation_timings(sides: tuple[int, ...] = (256, 512), casts: tuple[int, ...] = (2, 6),
                       frames: int = 48, repeats: int = 3) -> list[Timing]:
    """In-memory scene generation ("dance+swap", textured background) for each side × cast size."""
    one_thread()
    timings = []
    for side in sides:
        for cast in casts:
            config = SceneConfig(characters=cast, frames=frames, width=side, height=side,
                                 choreography="dance+swap", background="textured", seed=0)
            label = f"generate {side}x{side}, {cast} characters"
            samples = measure(label, lambda c=config: make_scene(c), repeats=repeats, warmup=0)
            timings.append(Timing(label, frames, samples))
    return timings


def dataset_timing(total_frames: int = 1000, frames_per_scene: int = 48, side: int = 256) -> Timing:
    """Write a mixed dataset of at least ``total_frames`` frames to a temporary folder (PNG + npz + json), once."""
    one_thread()
    scenes = -(-total_frames // frames_per_scene)
    spec = DatasetSpec(scenes=scenes, seed=0, frames=frames_per_scene, width=side, height=side)
    label = f"dataset {scenes} scenes at {side}x{side}"
    with tempfile.TemporaryDirectory() as tmp:
        samples = measure(label, lambda: write_dataset(Path(tmp) / "dataset", spec), repeats=1, warmup=0)
    return Timing(label, scenes * frames_per_scene, samples)


def main() -> int:
    for timing in generation_timings():
        print(timing.line(), flush=True)
    print(dataset_timing().line() + "  (one run: no spread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
