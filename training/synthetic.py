"""Training data from the synthetic world: ``data.synthetic`` in a config becomes a ``core.synth`` dataset."""
from __future__ import annotations

from pathlib import Path

from ..core.synth.dataset import DatasetSpec, write_dataset
from .config import SyntheticConfig


def dataset_spec(config: SyntheticConfig) -> DatasetSpec:
    """The synthetic dataset a config asks for (every scene with exactly ``characters`` people)."""
    choreographies = "mix" if config.choreography == "mix" else (config.choreography,)
    return DatasetSpec(scenes=config.clips, seed=config.seed, frames=config.frames, width=config.width,
                       height=config.height, characters=(config.characters, config.characters),
                       choreographies=choreographies, background=config.background)


def write_synthetic(root: str | Path, config: SyntheticConfig) -> list[Path]:
    """Write (or extend / reuse) the synthetic dataset under ``root``; returns the scene folders."""
    return write_dataset(Path(root), dataset_spec(config))
