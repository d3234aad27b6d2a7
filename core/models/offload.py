"""Block-wise offloading: keep transformer blocks in CPU memory and bring each onto the GPU only while it runs.

A 14B Wan in bf16 is 33 GB; with offloading the GPU holds the embeddings, the head and ``resident`` blocks, plus
one streamed block at a time, so a 24 GB card can run it (slower: each step copies the streamed blocks once).
Weights are read-only while offloaded (merge LoRAs before enabling). Blocks are the natural unit: every sampler's network is a stack of them (``model.blocks``), so this works for
all of them unchanged. Host copies are pinned when CUDA is available so the uploads can overlap compute.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class BlockOffload:
    """Hooks that stream ``blocks[resident:]`` between ``storage`` and ``compute``; ``remove()`` undoes them."""

    compute: torch.device
    storage: torch.device
    handles: list = field(default_factory=list)
    uploads: int = 0

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def enable_block_offload(model: nn.Module, compute: str | torch.device, resident: int = 0,
                         storage: str | torch.device = "cpu") -> BlockOffload:
    """Place everything but the streamed blocks on ``compute`` and install the streaming hooks."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleList):
        raise TypeError("block offloading needs a model with a `blocks` ModuleList")
    state = BlockOffload(torch.device(compute), torch.device(storage))
    streamed = list(blocks)[resident:]
    streamed_ids = {id(b) for b in streamed}
    for name, child in model.named_children():
        if name != "blocks":
            child.to(state.compute)
    for block in blocks:
        if id(block) not in streamed_ids:
            block.to(state.compute)
    for block in streamed:
        _to_storage(block, state.storage)
        state.handles.append(block.register_forward_pre_hook(_uploader(state)))
        state.handles.append(block.register_forward_hook(_offloader(state)))
    for name, buffer in model.named_buffers(recurse=False):
        setattr(model, name, buffer.to(state.compute))
    for name, param in model.named_parameters(recurse=False):
        param.data = param.data.to(state.compute)
    return state


def _to_storage(block: nn.Module, storage: torch.device) -> None:
    """Move a block to its host copy once; later offloads only re-point tensors at these copies."""
    block.to(storage)
    pin = storage.type == "cpu" and torch.cuda.is_available()
    for tensor in list(block.parameters()) + list(block.buffers()):
        host = tensor.data.pin_memory() if pin else tensor.data
        tensor.data = host
        tensor._choreo_host = host  # type: ignore[attr-defined]


def _tensors(module: nn.Module) -> list[torch.Tensor]:
    return list(module.parameters()) + list(module.buffers())


def _uploader(state: BlockOffload):
    def upload(module: nn.Module, args) -> None:
        for tensor in _tensors(module):
            tensor.data = tensor._choreo_host.to(state.compute, non_blocking=True)
        state.uploads += 1

    return upload


def _offloader(state: BlockOffload):
    def offload(module: nn.Module, args, output) -> None:
        for tensor in _tensors(module):
            tensor.data = tensor._choreo_host  # inference weights are unchanged: drop the device copy

    return offload
