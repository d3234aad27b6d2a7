"""Every shipped recipe: the tiny configs train a few steps on CPU and export; the 14B configs parse and carry the
papers' settings (their model files are not here)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from choreograph.training.config import Config, _section, load_config
from choreograph.training.trainer import train

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
TINY = sorted(p.name for p in CONFIGS.glob("tiny_*.yaml"))
LARGE = sorted(p.name for p in CONFIGS.glob("*14b*.yaml"))


@pytest.mark.parametrize("name", TINY)  # each a few seconds on a shared CPU
def test_tiny_config_trains_a_few_steps_and_exports(name, tmp_path):
    overrides = {"output_dir": str(tmp_path / "run"), "data": {"root": str(tmp_path / "data")},
                 "train": {"steps": 2, "checkpoint_every": 2, "log_every": 1}}
    config = load_config(CONFIGS / name, overrides)
    began = time.perf_counter()
    out = train(config)
    assert (out / "checkpoints" / "latest.json").is_file()
    exports = {p.name for p in out.iterdir()}
    assert exports & {"lora.safetensors", "model", "everybody_dance", "dance_together"}, exports
    assert "metrics.jsonl" in exports
    print(f"{name}: {time.perf_counter() - began:.1f} s")


@pytest.mark.parametrize("name", LARGE)
def test_large_configs_parse(name):
    config = _section(Config, yaml.safe_load((CONFIGS / name).read_text()), "")
    assert config.data.frames == 81 and config.train.mixed_precision == "bf16"
    assert config.model.clip_vision and config.model.checkpoint


def test_large_configs_follow_the_papers():
    def read(name):
        return _section(Config, yaml.safe_load((CONFIGS / name).read_text()), "")

    full = read("scail2_full_14b.yaml")
    assert (full.train.method, full.train.distributed, full.train.learning_rate, full.train.steps) == (
        "full", "fsdp", 1e-5, 3500)
    assert full.losses.img.weight == 0 and full.data.replacement_probability == 0.25
    dpo = read("scail2_dpo_14b.yaml")
    assert dpo.train.method == "dpo" and dpo.train.steps == 400
    for name in ("dreamactor_m2_14b_lora.yaml", "dreamactor_m2_14b_e2e.yaml"):
        da = read(name)
        assert (da.lora.rank, da.lora.targets, da.train.learning_rate, da.train.batch_size) == (
            256, ("ffn.0", "ffn.2"), 5e-5, 2)
    assert read("dreamactor_m2_14b_lora.yaml").data.driving == "skeleton"
    assert read("dreamactor_m2_14b_e2e.yaml").data.driving == "rgb"
    assert read("dreamactor_m2_14b_lora.yaml").data.box_normalisation
