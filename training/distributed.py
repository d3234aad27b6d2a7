"""How a run spreads over processes: DDP (every process holds the whole model) or FSDP-2 (parameters, gradients and
optimizer state sharded across processes, as the official SCAIL-2 trains its 14B model).

``train.distributed: fsdp`` uses accelerate's ``FullyShardedDataParallelPlugin`` (``fsdp_version=2``), wrapping each
Wan transformer block as its own shard group and the objective as the root. accelerate (1.16) only offers FSDP on
accelerator devices (CUDA, XPU, …); on CPU the same sharding is applied with torch's ``fully_shard`` directly over
the gloo process group accelerate set up, so a 2-process CPU run exercises the same sharded training, checkpoints
and exports. Launching is accelerate's: ``accelerate launch --num_processes N -m choreograph.training CONFIG`` on one
machine; over several machines add ``--num_machines M --machine_rank R --main_process_ip HOST --main_process_port
PORT`` on each (README "Several machines").
"""
from __future__ import annotations

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, DistributedType
from torch import nn

from ..core.errors import InputError
from .config import Config

FSDP = "fsdp"
DDP = "ddp"
SHARDED_BACKBONES = ("scail2", "dreamactor_m2")  # Wan transformers: blocks are the shard groups
BLOCK_CLASS = "WanTransformerBlock"


def uses_fsdp(config: Config) -> bool:
    return config.train.distributed == FSDP


def check_distributed(config: Config) -> None:
    if uses_fsdp(config) and config.model.backbone not in SHARDED_BACKBONES:
        raise InputError("train.distributed", f"fsdp is for the Wan backbones {SHARDED_BACKBONES}, not "
                         f"'{config.model.backbone}'", "use distributed: ddp for this backbone")


def make_accelerator(config: Config) -> Accelerator:
    """An ``Accelerator`` for the configured strategy (FSDP-2 plugin on accelerator devices)."""
    check_distributed(config)
    t = config.train
    # EverybodyDance skips the ReferenceNet on reference-dropout steps: DDP must not wait for its gradients.
    unused = DistributedDataParallelKwargs(find_unused_parameters=config.model.backbone == "everybody_dance")
    on_cpu = not torch.cuda.is_available()
    if uses_fsdp(config) and not on_cpu:
        from accelerate import FullyShardedDataParallelPlugin

        plugin = FullyShardedDataParallelPlugin(
            fsdp_version=2, auto_wrap_policy="transformer_based_wrap", transformer_cls_names_to_wrap=[BLOCK_CLASS],
            reshard_after_forward=t.fsdp_reshard_after_forward, cpu_offload=t.fsdp_cpu_offload,
            state_dict_type="SHARDED_STATE_DICT", cpu_ram_efficient_loading=False)
        return Accelerator(mixed_precision=t.mixed_precision, fsdp_plugin=plugin)
    return Accelerator(cpu=on_cpu, mixed_precision=t.mixed_precision, kwargs_handlers=[unused])


def shard_on_cpu(accelerator: Accelerator, config: Config, objective: nn.Module) -> bool:
    """FSDP-2 on CPU processes (accelerate does not offer it there): ``fully_shard`` every Wan block, then the
    objective as root. Returns whether it sharded (so ``prepare`` must not wrap the model in DDP)."""
    if not uses_fsdp(config) or accelerator.distributed_type != DistributedType.MULTI_CPU:
        return False
    from torch.distributed.fsdp import CPUOffloadPolicy, OffloadPolicy, fully_shard

    offload = CPUOffloadPolicy() if config.train.fsdp_cpu_offload else OffloadPolicy()
    reshard = config.train.fsdp_reshard_after_forward
    for module in objective.modules():
        if type(module).__name__ == BLOCK_CLASS:
            fully_shard(module, reshard_after_forward=reshard, offload_policy=offload)
    fully_shard(objective, reshard_after_forward=reshard, offload_policy=offload)
    return True


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def gathered_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's state on process 0 (CPU), others get an empty dict; every process must call it. A model
    that is not sharded gives its own state."""
    if not is_sharded(model):
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
