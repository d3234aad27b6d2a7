"""Launched by ``test_fsdp.py`` under ``accelerate launch``: an FSDP-2 run (optionally stopped early or resumed),
then the gathered full weights written by process 0."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from choreograph.training.config import load_config
from choreograph.training.distributed import gathered_state, is_sharded
from choreograph.training.trainer import finish, fit, setup
from safetensors.torch import save_file

if __name__ == "__main__":
    torch.set_num_threads(1)
    config_path, output_dir, stop, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume"
    run = setup(load_config(config_path, {"output_dir": output_dir}))
    rank = run.accelerator.process_index
    local = {n: tuple(p.to_local().shape) for n, p in run.network.named_parameters() if hasattr(p, "to_local")}
    print(f"rank {rank} of {run.accelerator.num_processes}: sharded {is_sharded(run.network)} "
          f"patch_embedding {local.get('transformer.patch_embedding.weight')}", flush=True)
    start, step = fit(run, resume=True if resume else None, stop_after=stop or None)
    finish(run, start, step, 1.0)
    trainable = {n for n, p in run.network.named_parameters() if p.requires_grad}
    weights = gathered_state(run.network)
    if rank == 0:
        save_file({k: v.contiguous() for k, v in weights.items() if k in trainable},
                  str(Path(output_dir) / "full_weights.safetensors"))
