"""CLIP vision from a ComfyUI-named file: sized from shapes, exact keys, Wan's penultimate-layer tokens."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.models.checkpoint import CheckpointReader, TensorInfo
from choreograph.core.models.clip_vision import clip_vision_config, load_clip_vision
from choreograph.core.models.loading import build_on_meta, check_exact_keys
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def test_tiny_file_loads_and_gives_penultimate_tokens(tmp_path):
    config = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
                              patch_size=8, image_size=32, projection_dim=16, hidden_act="gelu")
    torch.manual_seed(0)
    source = CLIPVisionModelWithProjection(config).eval()
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    state["vision_model.embeddings.position_ids"] = torch.arange(17)[None]  # older exports carry this buffer
    save_file(state, str(tmp_path / "clip.safetensors"))
    encoder = load_clip_vision(tmp_path / "clip.safetensors", heads=2)
    image = torch.rand(20, 28, 3)
    tokens = encoder.encode(image)
    assert tokens.shape == (1, 17, 32)  # (32/8)² patches + class token
    pixels = torch.nn.functional.interpolate(image.permute(2, 0, 1)[None], size=(32, 32), mode="bicubic",
                                             align_corners=False).clamp(0, 1)
    mean, std = torch.tensor([0.48145466, 0.4578275, 0.40821073]), torch.tensor([0.26862954, 0.26130258, 0.27577711])
    with torch.no_grad():
        want = source(pixel_values=(pixels - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1),
                      output_hidden_states=True).hidden_states[-2]
    assert torch.allclose(tokens, want, atol=1e-5)


def test_vit_h_config_is_read_from_the_published_layout():
    manifest = Path(__file__).resolve().parents[2] / "fixtures" / "manifests" / "clip_vision_h_comfyui.json"
    keys = json.loads(manifest.read_text())["keys"]
    reader = CheckpointReader(Path("clip_vision_h.safetensors"),
                              {k: TensorInfo(Path("x"), k, tuple(v), None) for k, v in keys.items()}, {}, None)
    config = clip_vision_config(reader)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.image_size,
            config.patch_size, config.projection_dim, config.intermediate_size) == (1280, 32, 16, 224, 14, 1024, 5120)
    model = build_on_meta(lambda: CLIPVisionModelWithProjection(config))
    check_exact_keys({k: tuple(v.shape) for k, v in model.state_dict().items()},
                     {k: tuple(v) for k, v in keys.items()}, "clip_vision_h manifest")


def test_non_clip_file_is_refused(tmp_path):
    save_file({"blocks.0.ffn.0.weight": torch.zeros(2, 2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(InputError, match="not a CLIP vision checkpoint"):
        load_clip_vision(tmp_path / "x.safetensors")
