"""Two processes through ``accelerate launch`` (gloo on CPU) keep their parameters in sync."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from choreograph.training.config import load_config
from safetensors.torch import load_file

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two fresh interpreters importing diffusers: ~40 s on a busy 2-core machine
def test_two_processes_stay_in_sync(make_config):
    path = make_config(train={"steps": 2, "checkpoint_every": 2, "method": "lora"})
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_free_port()), str(HERE / "two_process_run.py"), str(path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0 of 2: DistributedType.MULTI_CPU" in done.stdout
    assert "rank 1 of 2" in done.stdout and "step 2/2" in done.stdout
    out = Path(load_config(path).output_dir)
    ranks = [load_file(str(out / f"rank{r}.safetensors")) for r in (0, 1)]
    lora = [k for k in ranks[0] if "lora_B" in k]
    assert lora and all(ranks[0][k].abs().sum() > 0 for k in lora)  # trained (B starts at zero)
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0])
    assert (out / "lora.safetensors").is_file()
