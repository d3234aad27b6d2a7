"""Launched by ``test_multiprocess.py`` under ``accelerate launch``: train, then save this rank's weights."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from choreograph.training.config import load_config
from choreograph.training.trainer import finish, fit, setup
from safetensors.torch import save_file

if __name__ == "__main__":
    torch.set_num_threads(1)
    run = setup(load_config(sys.argv[1]))
    start, step = fit(run)
    finish(run, start, step, 1.0)
    rank = run.accelerator.process_index
    state = {k: v.detach().cpu().contiguous() for k, v in run.network.named_parameters()}
    save_file(state, str(Path(run.config.output_dir) / f"rank{rank}.safetensors"))
    print(f"rank {rank} of {run.accelerator.num_processes}: {run.accelerator.distributed_type}", flush=True)
