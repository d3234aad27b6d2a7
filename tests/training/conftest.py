"""A tiny synthetic clip dataset and config writer shared by the training tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from choreograph.core.synth.dataset import DatasetSpec, write_dataset

TINY_DATASET = DatasetSpec(scenes=2, seed=3, frames=9, width=64, height=64, characters=(2, 2),
                           choreographies=("dance+swap",), background="plain", lookalike_probability=0.0)


@pytest.fixture(scope="session")
def tiny_dataset() -> DatasetSpec:
    return TINY_DATASET


@pytest.fixture(scope="session")
def clip_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    write_dataset(root, TINY_DATASET)
    return root


def tiny_config(folder: Path, clip_root: Path, **sections) -> Path:
    """Write a config training a 1-block SCAIL-2 on ``clip_root``; ``sections`` override whole sections' keys."""
    config = {"output_dir": str(folder / "run"), "seed": 0,
              "model": {"arch": {"dim": 32, "num_layers": 1, "ffn_dim": 64, "head_dim": 16, "text_dim": 16,
                                 "freq_dim": 16}},
              "data": {"root": str(clip_root), "frames": 5, "width": 64, "height": 64},
              "train": {"method": "full", "steps": 3, "checkpoint_every": 1, "learning_rate": 1e-3},
              "losses": {"img": {"weight": 0.1}}}
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values} if isinstance(values, dict) else values
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def make_config(tmp_path, clip_root):
    return lambda **sections: tiny_config(tmp_path, clip_root, **sections)



TRIPLETS = {"clips": 4, "characters": 2, "frames": 9, "width": 64, "height": 64, "choreography": "dance+swap",
            "seed": 1, "pairs": True, "replacement_probability": 0.5}  # seed 1: three animation, one replacement


@pytest.fixture(scope="session")
def triplet_root(tmp_path_factory) -> Path:
    """Reverse-driving triplet clips (both modes) from the synthetic world."""
    from choreograph.training.config import SyntheticConfig
    from choreograph.training.synthetic import write_synthetic

    root = tmp_path_factory.mktemp("triplets")
    write_synthetic(root, SyntheticConfig(**TRIPLETS))
    return root
