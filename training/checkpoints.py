"""Checkpoints that survive a kill at any moment and resume exactly.

A checkpoint is a folder ``checkpoints/step_NNNNNNN`` written under a temporary name and renamed into place, then
``checkpoints/latest.json`` is atomically replaced to point at it — so ``latest`` only ever names a complete
checkpoint. It holds the trainable weights, the optimizer's tensors (safetensors) and its hyper-parameters, the
scheduler state and the step (JSON). Data order and noise are functions of (seed, step, rank), so the step is the
whole data position. Nothing is pickled.

Sharded runs (FSDP-2) write one ``rank_NNNNN.safetensors`` per process — that process's shards of the trainable
weights and of the optimizer state — plus ``state.json`` naming the world size; they resume on the same number of
processes, each reading back exactly its own shards.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..core.errors import InputError
from ..core.models.checkpoint import load_safetensors
from ..core.video.output_files import atomic_directory
from .files import save_json, save_safetensors

LATEST = "latest.json"
RANK_FILE = "rank_{:05d}.safetensors"


def _local(tensor: torch.Tensor) -> torch.Tensor:
    """This process's shard of a sharded (DTensor) tensor, or the tensor itself."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: _local(p.detach()).cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def _optimizer_tensors(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into flat tensors and the JSON-able rest."""
    tensors, plain = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = _local(value.detach()).cpu().contiguous()
            else:
                plain[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "plain": plain}


def _optimizer_state(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict] = {}
    for flat, value in list(tensors.items()) + list(rest["plain"].items()):
        index, key = flat.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def save_checkpoint(folder: str | Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, keep: int = 2) -> Path:
    """Write checkpoint ``step`` under ``folder`` atomically and keep only the newest ``keep`` ones."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:07d}"
    if final.exists():
        shutil.rmtree(final)
    with atomic_directory(final) as temp:
        save_safetensors(trainable_state(model), temp / "trainable.safetensors")
        tensors, rest = _optimizer_tensors(optimizer.state_dict())
        save_safetensors(tensors, temp / "optimizer.safetensors")
        save_json({"step": step, "optimizer": rest, "scheduler": scheduler.state_dict(),
                   "torch_rng": torch.get_rng_state().tolist()}, temp / "state.json")
    save_json({"checkpoint": final.name, "step": step}, folder / LATEST)
    for old in sorted(folder.glob("step_*"))[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint ``latest.json`` names, or None when there is none yet; a damaged pointer is an
    ``InputError`` (resume from a step_N folder instead)."""
    pointer = Path(folder) / LATEST
    if not pointer.is_file():
        return None
    fix = f"pass one of the step_N folders in {folder} to --resume, or delete {LATEST} to start afresh"
    try:
        name = json.loads(pointer.read_text(encoding="utf-8")).get("checkpoint")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        raise InputError("--resume", f"{pointer} is damaged (not the JSON object training writes)", fix) from None
    if not isinstance(name, str) or Path(name).name != name or not name.startswith("step_"):
        raise InputError("--resume", f"{pointer} names {name!r}, not a checkpoint folder of this run", fix)
    return Path(folder) / name


def _load_tensors(path: Path, name: str) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors(path / name, "--resume")
    except InputError as exc:
        raise InputError("--resume", f"checkpoint '{path.name}': {exc.problem}",
                         "resume from an older step_N folder, or start afresh") from None


def _load_state(path: Path) -> dict:
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        state["step"], state["optimizer"], state["scheduler"], state["torch_rng"]  # noqa: B018 - all present
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError):
        raise InputError("--resume", f"checkpoint '{path.name}': state.json is damaged",
                         "resume from an older step_N folder, or start afresh") from None
    return state


def save_sharded_checkpoint(folder: str | Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                            scheduler: torch.optim.lr_scheduler.LRScheduler, keep: int, rank: int, world: int,
                            barrier: Callable[[], None]) -> Path:
    """Every process calls this: each writes its shards, process 0 the state, then the folder appears at once."""
    folder = Path(folder)
    final, partial = folder / f"step_{step:07d}", folder / f".step_{step:07d}.partial"
    if rank == 0:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    barrier()
    tensors, rest = _optimizer_tensors(optimizer.state_dict())
    shards = {**{f"model.{k}": v for k, v in trainable_state(model).items()},
              **{f"optimizer.{k}": v for k, v in tensors.items()}}
    save_safetensors(shards, partial / RANK_FILE.format(rank))
    barrier()
    if rank == 0:
        save_json({"step": step, "world_size": world, "optimizer": rest, "scheduler": scheduler.state_dict(),
                   "torch_rng": torch.get_rng_state().tolist()}, partial / "state.json")
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
        save_json({"checkpoint": final.name, "step": step}, folder / LATEST)
        for old in sorted(folder.glob("step_*"))[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    barrier()
    return final


def _sharded_like(value: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """``value`` (this process's shard) as a DTensor sharded like ``param``, when ``param`` is one."""
    if not hasattr(param, "to_local") or value.ndim == 0:
        return value
    from torch.distributed.tensor import DTensor

    return DTensor.from_local(value.to(param.device), param.device_mesh, param.placements, run_check=False,
                              shape=param.shape, stride=param.stride())


def _read_weights(path: Path, state: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(weights, optimizer tensors) of this process: one file, or this rank's shard file."""
    sharded = "world_size" in state
    if not sharded:
        return _load_tensors(path, "trainable.safetensors"), _load_tensors(path, "optimizer.safetensors")
    import torch.distributed as dist

    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    if world != state["world_size"]:
        raise InputError("--resume", f"checkpoint '{path.name}' was sharded over {state['world_size']} processes, "
                         f"this run has {world}", f"resume with --num_processes {state['world_size']}")
    shards = _load_tensors(path, RANK_FILE.format(rank))
    split = {"model": {}, "optimizer": {}}
    for key, value in shards.items():
        part, name = key.split(".", 1)
        split[part][name] = value
    return split["model"], split["optimizer"]


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler) -> int:
    """Restore weights, optimizer, scheduler and RNG from ``path``; returns the step to continue from. Sharded
    checkpoints are read by every process (its own shards)."""
    path = Path(path)
    if not (path / "state.json").is_file():
        raise InputError("--resume", f"'{path}' is not a training checkpoint (no state.json)",
                         "pass a checkpoints/step_N folder or the run's output folder")
    state = _load_state(path)
    weights, optimizer_tensors = _read_weights(path, state)
    params = dict(model.named_parameters())
    missing = sorted({n for n, p in params.items() if p.requires_grad} - set(weights))
    if missing or not set(weights) <= set(params):
        raise InputError("--resume", f"checkpoint '{path.name}' was written by a different model or method "
                         f"(missing {missing[:3]}, unexpected {sorted(set(weights) - set(params))[:3]})",
                         "resume with the same config that wrote it")
    reshaped = [f"{n} {tuple(v.shape)} vs {tuple(params[n].shape)}" for n, v in weights.items()
                if v.shape != _local(params[n]).shape]
    if reshaped:
        raise InputError("--resume", f"checkpoint '{path.name}' has other tensor shapes than this run (e.g. another "
                         f"LoRA rank or model size): {reshaped[:2]}", "resume with the same config that wrote it")
    with torch.no_grad():
        for name, value in weights.items():
            _local(params[name]).copy_(value)
    ordered = [p for group in optimizer.param_groups for p in group["params"]]
    restored = _optimizer_state(optimizer_tensors, state["optimizer"])
    for index, values in restored["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                values[key] = _sharded_like(value, ordered[index])
    optimizer.load_state_dict(restored)
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    return int(state["step"])


def refuse_to_overwrite(output_dir: str | Path, resume: str | bool | None) -> None:
    """A fresh run (no ``--resume``) into a folder that holds another run's checkpoints or exports is refused, so
    its ``lora.safetensors`` / ``model/`` are never silently replaced."""
    if resume:
        return
    out = Path(output_dir)
    found = [p for p in (out / "checkpoints" / LATEST, out / "lora.safetensors", out / "model") if p.exists()]
    if found:
        raise InputError("output_dir", f"{out} already holds a training run "
                         f"({', '.join(str(p.relative_to(out)) for p in found)})",
                         "pass --resume to continue it, or choose another --output-dir")
