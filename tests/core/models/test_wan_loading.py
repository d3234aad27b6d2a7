"""Loading Wan checkpoints: both naming layouts, exact key checks, dtypes, fp8 and clear errors."""
from __future__ import annotations

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.fp8 import ScaledFp8Linear, quantize_fp8
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.scail2 import Scail2Transformer
from choreograph.core.models.wan_arch import I2V, SCAIL2
from choreograph.core.models.wan_loader import load_wan_transformer
from safetensors.torch import load_file, save_file

TINY_HEAD_DIM = 32  # head size of the conftest's tiny networks
FP32 = DtypePolicy(torch.float32, "upcast")


def _i2v_inputs(seed: int = 0) -> tuple:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, 36, 2, 8, 8, generator=g), torch.tensor([700.0]),
            torch.randn(1, 512, 32, generator=g), torch.randn(1, 4, 24, generator=g))


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _run_i2v(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(*_i2v_inputs(), return_dict=False)[0]


def test_comfyui_file_with_wrapper_prefix_loads_every_weight_exactly(i2v_file):
    source, path = i2v_file
    loaded = load_wan_transformer(path, FP32, head_dim=TINY_HEAD_DIM)
    assert loaded.arch.variant == I2V
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name
    assert torch.allclose(_run_i2v(source), _run_i2v(loaded.model), atol=1e-6)


def test_scail2_variant_is_detected_from_its_extra_patch_embeddings(scail_file):
    _, path = scail_file
    loaded = load_wan_transformer(path, FP32, head_dim=TINY_HEAD_DIM)
    assert loaded.arch.variant == SCAIL2 and loaded.arch.mask_channels == 28
    assert isinstance(loaded.model, Scail2Transformer)
    with pytest.raises(InputError, match="scail2 checkpoint"):
        load_wan_transformer(path, FP32, head_dim=TINY_HEAD_DIM, expect=(I2V,))


def test_diffusers_folder_loads(tmp_path, make_tiny_model):
    source = make_tiny_model(I2V)
    source.save_pretrained(tmp_path / "pipe" / "transformer")
    loaded = load_wan_transformer(tmp_path / "pipe", FP32)  # head size from config.json
    assert loaded.arch.head_dim == TINY_HEAD_DIM
    assert torch.allclose(_run_i2v(source), _run_i2v(loaded.model), atol=1e-6)


def test_missing_and_unexpected_keys_are_listed(i2v_file, tmp_path):
    _, path = i2v_file
    state = load_file(str(path))
    del state["model.diffusion_model.blocks.1.ffn.2.bias"]
    state["model.diffusion_model.blocks.1.ffn.9.weight"] = torch.zeros(2)
    save_file(state, str(tmp_path / "broken.safetensors"))
    with pytest.raises(InputError) as err:
        load_wan_transformer(tmp_path / "broken.safetensors", FP32, head_dim=TINY_HEAD_DIM)
    message = str(err.value)
    assert "broken.safetensors" in message
    assert "missing key(s): blocks.1.ffn.net.2.bias" in message
    assert "unexpected key(s): blocks.1.ffn.9.weight" in message


def test_shape_mismatch_is_reported(i2v_file, tmp_path):
    _, path = i2v_file
    state = load_file(str(path))
    state["model.diffusion_model.blocks.0.cross_attn.k_img.bias"] = torch.zeros(65)
    save_file(state, str(tmp_path / "shape.safetensors"))
    with pytest.raises(InputError, match=r"shape mismatch.*attn2.add_k_proj.bias file \(65,\) vs model \(64,\)"):
        load_wan_transformer(tmp_path / "shape.safetensors", FP32, head_dim=TINY_HEAD_DIM)


def test_bf16_policy_keeps_sensitive_modules_in_fp32(i2v_file):
    _, path = i2v_file
    model = load_wan_transformer(path, DtypePolicy(torch.bfloat16), head_dim=TINY_HEAD_DIM).model
    assert model.blocks[0].attn1.to_q.weight.dtype == torch.bfloat16
    assert model.blocks[0].scale_shift_table.dtype == torch.float32
    assert model.condition_embedder.time_embedder.linear_1.weight.dtype == torch.float32
    assert all(p.device.type == "cpu" and not p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("spelling", ["legacy", "comfy_quant"])
def test_fp8_scaled_file_stays_fp8_and_matches_dequantised_weights(i2v_file, tmp_path, spelling):
    source, path = i2v_file
    state = load_file(str(path))
    reference = {}
    for key in [k for k in state if ".blocks." in k and k.endswith(".weight") and state[k].ndim == 2]:
        w8, scale = quantize_fp8(state[key])
        layer = key[: -len(".weight")]
        state[key] = w8
        reference[key] = w8.float() * scale
        if spelling == "legacy":
            state[layer + ".scale_weight"] = scale
        else:
            state[layer + ".weight_scale"] = scale
            state[layer + ".comfy_quant"] = torch.tensor(list(b'{"format": "float8_e4m3fn"}'), dtype=torch.uint8)
    if spelling == "legacy":
        state["model.diffusion_model.scaled_fp8"] = torch.zeros(0, dtype=torch.float8_e4m3fn)
    save_file(state, str(tmp_path / "fp8.safetensors"))
    model = load_wan_transformer(tmp_path / "fp8.safetensors", DtypePolicy(torch.float32), head_dim=TINY_HEAD_DIM
                                 ).model
    q = model.blocks[0].attn1.to_q
    assert isinstance(q, ScaledFp8Linear) and q.weight.dtype == torch.float8_e4m3fn
    upcast = load_wan_transformer(tmp_path / "fp8.safetensors", FP32, head_dim=TINY_HEAD_DIM).model
    assert torch.allclose(upcast.blocks[0].attn1.to_q.weight,
                          reference["model.diffusion_model.blocks.0.self_attn.q.weight"])
    assert torch.allclose(_run_i2v(model), _run_i2v(upcast), atol=1e-5)
    assert _relative_error(_run_i2v(model), _run_i2v(source)) < 0.05  # fp8 rounding only


def test_quantize_on_load_puts_block_linears_in_fp8(i2v_file):
    source, path = i2v_file
    model = load_wan_transformer(path, DtypePolicy(torch.float32, "quantize"), head_dim=TINY_HEAD_DIM).model
    assert isinstance(model.blocks[1].ffn.net[2], ScaledFp8Linear)
    assert not isinstance(model.proj_out, ScaledFp8Linear)
    assert _relative_error(_run_i2v(model), _run_i2v(source)) < 0.05


def test_unsupported_quantisation_format_is_refused(i2v_file, tmp_path):
    _, path = i2v_file
    state = load_file(str(path))
    state["model.diffusion_model.blocks.0.ffn.0.comfy_quant"] = torch.tensor(list(b'{"format": "mxfp8"}'),
                                                                             dtype=torch.uint8)
    save_file(state, str(tmp_path / "mx.safetensors"))
    with pytest.raises(InputError, match="mxfp8"):
        load_wan_transformer(tmp_path / "mx.safetensors", FP32, head_dim=TINY_HEAD_DIM)


def test_other_model_kinds_and_pickles_get_clear_errors(tmp_path):
    save_file({"decoder.conv_in.weight": torch.zeros(2), "encoder.downsamples.0.weight": torch.zeros(2)},
              str(tmp_path / "vae.safetensors"))
    with pytest.raises(InputError, match="looks like a VAE"):
        load_wan_transformer(tmp_path / "vae.safetensors")
    save_file({"diffusion_model.blocks.0.ffn.0.lora_A.weight": torch.zeros(2, 2)}, str(tmp_path / "l.safetensors"))
    with pytest.raises(InputError, match="LoRA"):
        load_wan_transformer(tmp_path / "l.safetensors")
    (tmp_path / "model.pt").write_bytes(b"not read")
    with pytest.raises(InputError, match="pickle"):
        load_wan_transformer(tmp_path / "model.pt")
    with pytest.raises(InputError, match="does not exist"):
        load_wan_transformer(tmp_path / "absent.safetensors")
