"""The YAML config: typed, validated, paths relative to the file, clear errors before training."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from choreograph.core.errors import InputError
from choreograph.training.config import load_config

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_and_relative_paths(tmp_path):
    config = load_config(_write(tmp_path, "data: {root: clips}\ntrain: {learning_rate: 1e-4}\n"))
    assert config.data.root == str(tmp_path / "clips")
    assert config.output_dir == str(tmp_path / "runs" / "train")
    assert config.train.learning_rate == 1e-4  # YAML 1.1 reads "1e-4" as text; accepted as a number
    assert config.lora.targets == ("ffn.0", "ffn.2")


@pytest.mark.parametrize("text, words", [
    ("train: {stepz: 3}\n", "unknown key 'train.stepz'"),
    ("train: {steps: many}\n", "train.steps must be an integer"),
    ("train: {steps: 2.5}\n", "train.steps must be an integer"),
    ("data: {frames: 6}\n", "4k+1"),
    ("data: {width: 50}\n", "multiples of 32"),
    ("train: {method: dreambooth}\n", "train.method"),
    ("model: {checkpoint: nowhere.safetensors}\n", "does not exist"),
    ("lora: {targets: ffn.0}\n", "must be a list"),
    ("train: [1, 2]\n", "must be a mapping"),
    ("data: {root: [unclosed\n", "not valid YAML"),
])
def test_bad_configs_name_the_key(tmp_path, text, words):
    with pytest.raises(InputError) as err:
        load_config(_write(tmp_path, text))
    assert words in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "none.yaml")


def test_overrides_are_checked_too(tmp_path):
    path = _write(tmp_path, "train: {steps: 3}\n")
    assert load_config(path, {"train": {"steps": 7}}).train.steps == 7
    with pytest.raises(InputError):
        load_config(path, {"train": {"steps": -1}})


def test_shipped_tiny_configs_load():
    config = load_config(REPO / "training" / "configs" / "tiny_scail2_lora.yaml")
    assert config.train.method == "lora" and config.data.synthetic is not None
    config = load_config(REPO / "training" / "configs" / "tiny_everybody_dance.yaml")
    assert config.model.backbone == "everybody_dance" and config.model.animate_anyone["layers_per_block"] == 1


def test_trainable_parts_default_and_refuse_unknown_parts():
    from choreograph.training.dt_objective import TRAINABLE
    from choreograph.training.dt_objective import trained_parts as dt_parts
    from choreograph.training.ed_objective import MOTION, STAGE1
    from choreograph.training.ed_objective import trained_parts as ed_parts

    config = load_config(REPO / "training" / "configs" / "tiny_everybody_dance.yaml")
    assert ed_parts(config) == tuple(STAGE1) and dt_parts(config) == tuple(TRAINABLE)
    stage2 = dataclasses.replace(config, model=dataclasses.replace(config.model, trainable=(MOTION,)))
    assert ed_parts(stage2) == (MOTION,)
    with pytest.raises(InputError, match="model.trainable.*not a trainable DanceTogether part"):
        dt_parts(stage2)
