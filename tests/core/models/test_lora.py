"""Wan LoRAs in ComfyUI, kohya and diffusers spellings merge with alpha/rank scaling; foreign LoRAs are refused."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.lora import apply_loras
from choreograph.core.models.wan_arch import I2V
from choreograph.core.models.wan_loader import load_wan_transformer
from safetensors.torch import save_file

RANK, ALPHA = 4, 8.0


def _factors(out_features: int, in_features: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out_features, RANK, generator=g) * 0.1, torch.randn(RANK, in_features, generator=g) * 0.1


def _expected(model, module: str, up, down, strength: float = 1.0, scale: float = ALPHA / RANK):
    return model.get_submodule(module).weight.detach() + strength * scale * (up @ down)


@pytest.mark.parametrize("style", ["comfyui", "kohya", "diffusers"])
def test_lora_styles_merge_the_same_update(tmp_path, make_tiny_model, style):
    model = make_tiny_model(I2V)
    up, down = _factors(128, 64, 1)  # blocks.1.ffn.0 : 64 → 128
    up2, down2 = _factors(64, 64, 2)  # blocks.0.cross_attn.k_img
    names = {"comfyui": ("diffusion_model.blocks.1.ffn.0", "diffusion_model.blocks.0.cross_attn.k_img"),
             "kohya": ("lora_unet_blocks_1_ffn_0", "lora_unet_blocks_0_cross_attn_k_img"),
             "diffusers": ("transformer.blocks.1.ffn.net.0.proj", "transformer.blocks.0.attn2.add_k_proj")}[style]
    a, b = (".lora_down.weight", ".lora_up.weight") if style == "kohya" else (".lora_A.weight", ".lora_B.weight")
    state = {names[0] + a: down, names[0] + b: up, names[0] + ".alpha": torch.tensor(ALPHA),
             names[1] + a: down2, names[1] + b: up2}  # second module has no alpha → scale 1.0 (ComfyUI rule)
    save_file(state, str(tmp_path / "lora.safetensors"))
    want_ffn = _expected(model, "blocks.1.ffn.net.0.proj", up, down, 0.5)
    want_img = _expected(model, "blocks.0.attn2.add_k_proj", up2, down2, 0.5, scale=1.0)
    apply_loras(model, [(tmp_path / "lora.safetensors", 0.5)])
    assert torch.allclose(model.blocks[1].ffn.net[0].proj.weight, want_ffn, atol=1e-6)
    assert torch.allclose(model.blocks[0].attn2.add_k_proj.weight, want_img, atol=1e-6)


def test_lora_applied_at_load_including_fp8_layers(tmp_path, i2v_file):
    source, path = i2v_file
    up, down = _factors(64, 64, 3)
    save_file({"diffusion_model.blocks.0.self_attn.q.lora_A.weight": down,
               "diffusion_model.blocks.0.self_attn.q.lora_B.weight": up,
               "diffusion_model.blocks.0.self_attn.q.alpha": torch.tensor(ALPHA)}, str(tmp_path / "q.safetensors"))
    want = _expected(source, "blocks.0.attn1.to_q", up, down)
    loaded = load_wan_transformer(path, DtypePolicy(torch.float32, "upcast"), head_dim=32,
                                  loras=((tmp_path / "q.safetensors", 1.0),)).model
    assert torch.allclose(loaded.blocks[0].attn1.to_q.weight, want, atol=1e-6)
    quantised = load_wan_transformer(path, DtypePolicy(torch.float32, "quantize"), head_dim=32,
                                     loras=((tmp_path / "q.safetensors", 1.0),)).model
    q = quantised.blocks[0].attn1.to_q
    merged = q.weight.float() * q.weight_scale
    assert float((merged - want).abs().max() / want.abs().max()) < 0.1  # within fp8 rounding


def test_lora_for_another_model_is_refused(tmp_path, make_tiny_model):
    model = make_tiny_model(I2V)
    up, down = _factors(64, 64, 4)
    save_file({"lora_unet_input_blocks_1_1_proj_in.lora_down.weight": down,
               "lora_unet_input_blocks_1_1_proj_in.lora_up.weight": up}, str(tmp_path / "sd15.safetensors"))
    with pytest.raises(InputError, match="does not fit this model.*input_blocks"):
        apply_loras(model, [(tmp_path / "sd15.safetensors", 1.0)])
    wide_up, wide_down = _factors(64, 96, 5)
    save_file({"diffusion_model.blocks.0.self_attn.q.lora_A.weight": wide_down,
               "diffusion_model.blocks.0.self_attn.q.lora_B.weight": wide_up}, str(tmp_path / "big.safetensors"))
    with pytest.raises(InputError, match="model size"):
        apply_loras(model, [(tmp_path / "big.safetensors", 1.0)])
    save_file({"blocks.0.self_attn.q.weight": torch.zeros(64, 64)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(InputError, match="holds no LoRA"):
        apply_loras(model, [(tmp_path / "model.safetensors", 1.0)])
