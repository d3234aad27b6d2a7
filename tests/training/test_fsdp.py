"""FSDP-2 on two CPU processes (gloo): weights, gradients and optimizer state are sharded, checkpoints are written
per process, and a run stopped and resumed from its sharded checkpoint ends bit-identical to an uninterrupted one."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.training.config import load_config
from choreograph.training.trainer import setup
from safetensors.torch import load_file

HERE = Path(__file__).parent


def _launch(config: Path, output: Path, stop: int = 0, resume: bool = False) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(port), str(HERE / "fsdp_run.py"), str(config), str(output), str(stop),
               "resume" if resume else "fresh"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.mark.slow  # three 2-process launches: ~2 min on a busy 2-core machine
def test_fsdp_two_processes_shard_and_resume_exactly(make_config, tmp_path):
    config = make_config(train={"distributed": "fsdp", "method": "full", "steps": 4, "checkpoint_every": 2,
                                "keep_checkpoints": 3}, losses={"img": {}})
    straight = _launch(config, tmp_path / "straight")
    assert "rank 0 of 2: sharded True" in straight and "rank 1 of 2: sharded True" in straight
    # each process holds only its part of every weight (the patch embedding's 32 output channels split 16 + 16)
    assert "patch_embedding (16, 20, 1, 2, 2)" in straight
    step = tmp_path / "straight" / "checkpoints" / "step_0000002"
    shards = [load_file(str(step / f"rank_{r:05d}.safetensors")) for r in (0, 1)]
    full = load_file(str(tmp_path / "straight" / "full_weights.safetensors"))
    name = "transformer.patch_embedding.weight"
    assert shards[0][f"model.{name}"].shape[0] + shards[1][f"model.{name}"].shape[0] == full[name].shape[0]
    assert any(k.startswith("optimizer.") for k in shards[1])  # the optimizer state is sharded too
    _launch(config, tmp_path / "split", stop=2)
    _launch(config, tmp_path / "split", resume=True)
    resumed = load_file(str(tmp_path / "split" / "full_weights.safetensors"))
    assert set(resumed) == set(full)
    assert all(torch.equal(resumed[k], full[k]) for k in full)
    assert (tmp_path / "split" / "model" / "config.json").is_file()  # the export gathers the whole model


def test_fsdp_is_for_the_wan_backbones(make_config):
    with pytest.raises(InputError, match="fsdp is for the Wan backbones"):
        setup(load_config(make_config(model={"backbone": "everybody_dance"}, train={"distributed": "fsdp"})))
