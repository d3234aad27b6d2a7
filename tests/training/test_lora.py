"""peft LoRA on the Wan transformer and its ComfyUI-format export, read back by the pack's own LoRA loader."""
from __future__ import annotations

import copy

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.lora import apply_loras
from choreograph.core.models.wan_loader import build_wan
from choreograph.training.config import ArchConfig
from choreograph.training.lora import add_lora, merged_copy_state, save_comfy_lora, target_modules
from choreograph.training.model import tiny_arch
from safetensors.torch import load_file


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_wan(tiny_arch(ArchConfig(dim=32, num_layers=2, ffn_dim=64, head_dim=16, text_dim=16,
                                          freq_dim=16))).eval()


def _forward(model: torch.nn.Module) -> torch.Tensor:
    """The FFN and self-attention of block 0 on fixed tokens (enough to see every LoRA'd Linear)."""
    x = torch.randn(1, 6, 32, generator=torch.Generator().manual_seed(1))
    block = model.blocks[0]
    return block.ffn(x) + block.attn1.to_q(x)


def test_targets_accept_original_and_diffusers_names():
    model = _model()
    assert target_modules(model, ("ffn.0", "self_attn.q")) == [
        "blocks.0.attn1.to_q", "blocks.0.ffn.net.0.proj", "blocks.1.attn1.to_q", "blocks.1.ffn.net.0.proj"]
    assert target_modules(model, ("ffn.net.2",)) == ["blocks.0.ffn.net.2", "blocks.1.ffn.net.2"]
    with pytest.raises(InputError, match="'ffn.9' matches no Linear"):
        target_modules(model, ("ffn.9",))


def test_export_is_comfyui_format_and_loads_back_exactly(tmp_path):
    base = _model()
    model = copy.deepcopy(base)
    add_lora(model, ("ffn.0", "ffn.2", "self_attn.q"), rank=4, alpha=8)
    assert all(("lora_" in n) == p.requires_grad for n, p in model.named_parameters())
    with torch.no_grad():  # a trained-looking adapter: B is zero at init
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    path = save_comfy_lora(model, 8, tmp_path / "lora.safetensors")
    state = load_file(str(path))
    assert "diffusion_model.blocks.0.ffn.0.lora_A.weight" in state
    assert "diffusion_model.blocks.1.self_attn.q.lora_B.weight" in state
    assert float(state["diffusion_model.blocks.0.ffn.2.alpha"]) == 8.0
    assert all(k.startswith("diffusion_model.blocks.") for k in state)
    with torch.no_grad():
        expected = _forward(model)
        assert not torch.allclose(expected, _forward(base), atol=1e-4)  # the adapter does something
        loaded = apply_loras(copy.deepcopy(base), [(path, 1.0)])
        assert torch.allclose(_forward(loaded), expected, atol=1e-5)  # alpha/rank = 2 honoured
        merged = copy.deepcopy(base)
        merged.load_state_dict(merged_copy_state(model))
        assert torch.allclose(_forward(merged), expected, atol=1e-5)
