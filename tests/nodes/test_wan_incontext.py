"""In-context Wan nodes end to end on tiny checkpoint files written into a temporary models folder."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from choreograph.core.errors import InputError, MissingModelError
from choreograph.core.models import cache
from choreograph.core.models.wan_arch import I2V, SCAIL2, WanArch
from choreograph.core.models.wan_keys import diffusers_to_original
from choreograph.core.models.wan_loader import build_wan
from choreograph.nodes.wan_incontext import (
    ChoreoDreamActorSampler,
    ChoreoSCAIL2Sampler,
    ChoreoWanModelLoader,
    ChoreoWanPrompt,
)
from diffusers import AutoencoderKLWan
from safetensors.torch import save_file

H, W, T = 32, 32, 5


def _write_transformer(path: Path, variant: str, image_dim: int = 24) -> None:
    scail = variant == SCAIL2
    arch = WanArch(variant=variant, dim=128, in_channels=20 if scail else 36, out_channels=16, num_layers=1,
                   ffn_dim=128, text_dim=32, freq_dim=32, patch_size=(1, 2, 2), cross_attn_norm=True,
                   image_dim=image_dim,
                   pos_embed_seq_len=None, mask_channels=28 if scail else None)  # one 128-wide head, as in Wan
    torch.manual_seed(0)
    model = build_wan(arch)
    save_file({"model.diffusion_model." + diffusers_to_original(k): v.contiguous()
               for k, v in model.state_dict().items()}, str(path))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    (root / "diffusion_models").mkdir()
    _write_transformer(root / "diffusion_models" / "tiny_scail2.safetensors", SCAIL2)
    _write_transformer(root / "diffusion_models" / "tiny_i2v.safetensors", I2V)
    torch.manual_seed(0)
    AutoencoderKLWan(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1).save_pretrained(root / "vae" / "tiny")
    (root / "loras").mkdir()
    save_file({"diffusion_model.blocks.0.ffn.0.lora_A.weight": torch.randn(4, 128) * 0.1,
               "diffusion_model.blocks.0.ffn.0.lora_B.weight": torch.randn(128, 4) * 0.1,
               "diffusion_model.blocks.0.ffn.0.alpha": torch.tensor(4.0)}, str(root / "loras" / "ffn.safetensors"))
    return root


@pytest.fixture
def env(models_dir, monkeypatch):
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(models_dir))
    cache.clear()
    yield models_dir
    cache.clear()


def _load(name: str, **kwargs):
    return ChoreoWanModelLoader().run(name, "tiny/diffusion_pytorch_model.safetensors", "fp32", "keep", "cpu",
                                      **kwargs)


def _prompt(tmp_path: Path):
    g = torch.Generator().manual_seed(1)
    save_file({"positive": torch.randn(5, 32, generator=g), "negative": torch.zeros(2, 32),
               "clip_vision": torch.randn(4, 24, generator=g)}, str(tmp_path / "emb.safetensors"))
    return ChoreoWanPrompt().run(embeddings_file="emb.safetensors")[0]  # relative to the input folder


def test_loader_lists_files_and_detects_variants(env):
    required = ChoreoWanModelLoader.INPUT_TYPES()["required"]
    assert "tiny_scail2.safetensors" in required["model_name"][0]
    assert "tiny/diffusion_pytorch_model.safetensors" in required["vae_name"][0]
    models, summary = _load("tiny_scail2.safetensors")
    assert models.variant == SCAIL2 and summary.startswith("scail2: 1 blocks, dim 128, 20 input channels")
    assert _load("tiny_scail2.safetensors")[0].transformer is models.transformer  # cached while file, dtype and device are unchanged
    with_lora, _ = _load("tiny_i2v.safetensors", lora_name="ffn.safetensors", lora_strength=1.0)
    assert with_lora.variant == I2V
    with pytest.raises(MissingModelError, match="absent.safetensors"):
        _load("absent.safetensors")


def test_prompt_from_native_conditioning_and_clip_vision():
    class ClipOutput:
        penultimate_hidden_states = torch.ones(1, 257, 1280)

    prompt = ChoreoWanPrompt().run([[torch.ones(1, 7, 4096), {"pooled_output": None}]],
                                   [[torch.zeros(1, 3, 4096), {}]], ClipOutput())[0]
    assert prompt.positive.shape == (1, 7, 4096) and prompt.image.shape == (1, 257, 1280)
    assert prompt.text(True, torch.device("cpu"), torch.float32).shape == (1, 512, 4096)
    with pytest.raises(InputError, match="positive"):
        ChoreoWanPrompt().run()


def _write_clip_vision(env: Path, name: str) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(hidden_size=160, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              patch_size=8, image_size=32, projection_dim=16, hidden_act="gelu")
    (env / "clip_vision").mkdir(exist_ok=True)
    torch.manual_seed(0)
    save_file({k: v.contiguous() for k, v in CLIPVisionModelWithProjection(config).state_dict().items()},
              str(env / "clip_vision" / name))


def test_prompt_encodes_the_reference_with_a_clip_vision_file(env, tmp_path):
    _write_clip_vision(env, "tiny_clip.safetensors")
    assert "tiny_clip.safetensors" in ChoreoWanPrompt.INPUT_TYPES()["optional"]["clip_vision_name"][0]
    prompt = ChoreoWanPrompt().run([[torch.ones(1, 7, 32), {}]], [[torch.zeros(1, 3, 32), {}]],
                                   clip_vision_name="tiny_clip.safetensors", reference_image=torch.rand(1, 40, 24, 3))
    assert prompt[0].image.shape == (1, 17, 160)  # 160 wide = ViT-H's 80-dim heads × 2
    with pytest.raises(InputError, match="reference_image"):
        ChoreoWanPrompt().run([[torch.ones(1, 7, 32), {}]], [[torch.zeros(1, 3, 32), {}]],
                              clip_vision_name="tiny_clip.safetensors")


def test_scail2_and_dreamactor_samplers_produce_frames(env, headless_dirs):
    prompt = _prompt(headless_dirs / "input")
    g = torch.Generator().manual_seed(2)
    reference, driving = torch.rand(1, H, W, 3, generator=g), torch.rand(T, H, W, 3, generator=g)
    colour = torch.zeros(T, H, W, 3)
    colour[:, 8:24, 8:20, 1] = 1.0  # green binding slot
    ref_colour = torch.ones(1, H, W, 3)  # animation: reference mask on white
    ref_colour[:, 4:28, 10:22, 0::2] = 0.0
    scail, _ = _load("tiny_scail2.safetensors")
    (frames,) = ChoreoSCAIL2Sampler().run(scail, prompt, reference, driving, colour, ref_colour, "animation",
                                          "native", steps=2, cfg=3.0, solver="unipc", seed=5, segment_frames=5,
                                          history_frames=1, extra_reference_images=reference,
                                          extra_reference_masks=ref_colour)
    assert frames.shape == (T, H, W, 3) and 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    with pytest.raises(InputError, match="needs wan2.1-i2v"):
        ChoreoDreamActorSampler().run(scail, prompt, reference, driving, pad_frames=0, steps=1)
    i2v, _ = _load("tiny_i2v.safetensors")
    (animated,) = ChoreoDreamActorSampler().run(i2v, prompt, reference, driving, pad_frames=0, steps=1,
                                                solver="euler", segment_frames=5, history_frames=1)
    assert animated.shape == (T, H, W, 3) and torch.isfinite(animated).all()


def _scail2_inputs():
    g = torch.Generator().manual_seed(2)
    reference, driving = torch.rand(1, H, W, 3, generator=g), torch.rand(T, H, W, 3, generator=g)
    colour = torch.zeros(T, H, W, 3)
    colour[:, 8:24, 8:20, 1] = 1.0
    ref_colour = torch.ones(1, H, W, 3)
    ref_colour[:, 4:28, 10:22, 0::2] = 0.0
    return reference, driving, colour, ref_colour


def test_scail2_sampler_encodes_the_reference_with_clip_vision_h_or_names_it(env, tmp_path):
    """SCAIL-2 always sees the reference's CLIP tokens: a prompt without them is completed from clip_vision_h."""
    _write_transformer(env / "diffusion_models" / "tiny_scail2_clip160.safetensors", SCAIL2, image_dim=160)
    scail, _ = _load("tiny_scail2_clip160.safetensors")
    text_only = ChoreoWanPrompt().run([[torch.ones(1, 7, 32), {}]], [[torch.zeros(1, 3, 32), {}]])[0]
    reference, driving, colour, ref_colour = _scail2_inputs()
    run = lambda: ChoreoSCAIL2Sampler().run(scail, text_only, reference, driving, colour, ref_colour,  # noqa: E731
                                            steps=1, solver="euler", segment_frames=5, history_frames=1)
    clip_dir = env / "clip_vision"
    for stale in clip_dir.glob("clip_vision_h*"):
        stale.unlink()
    with pytest.raises(InputError, match="clip_vision_h.safetensors.*models/clip_vision"):
        run()
    _write_clip_vision(env, "clip_vision_h.safetensors")
    try:
        (frames,) = run()
    finally:
        (clip_dir / "clip_vision_h.safetensors").unlink()
    assert frames.shape == (T, H, W, 3) and torch.isfinite(frames).all()
