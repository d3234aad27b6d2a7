"""A training process killed with SIGKILL, then continued with ``--resume``, ends exactly where an
uninterrupted run ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from choreograph.training.checkpoints import latest_checkpoint
from choreograph.training.config import load_config
from choreograph.training.trainer import train
from safetensors.torch import load_file


def _final(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model" / "diffusion_pytorch_model.safetensors"))


@pytest.mark.slow  # a fresh interpreter twice (imports dominate): ~30 s on a busy 2-core machine
def test_sigkill_then_resume_loses_nothing(make_config, tmp_path):
    steps = 40
    path = make_config(train={"steps": steps, "checkpoint_every": 1, "log_every": 1},
                       output_dir=str(tmp_path / "killed"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "choreograph.training", str(path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        found = latest_checkpoint(checkpoints) if (checkpoints / "latest.json").is_file() else None
        if found is not None and int(found.name.split("_")[1]) >= 3:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = int(latest_checkpoint(checkpoints).name.split("_")[1])
    assert killed_at < steps, "the run finished before it could be killed; raise steps"
    resumed = subprocess.run(command + ["--resume"], env=env, capture_output=True, text=True, timeout=300,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stderr + resumed.stdout
    straight = train(load_config(path, {"output_dir": str(tmp_path / "straight")}))
    a, b = _final(straight), _final(tmp_path / "killed")
    assert all(torch.equal(a[k], b[k]) for k in a)
