"""SCAIL-2 forward in the native-compatible mode against native ComfyUI's own outputs (golden model cases).

The tiny checkpoint goes through our real loader (ComfyUI key layout → diffusers), every case runs once, and each
output element must be within 5e-5 of native's; the RoPE position of every token must equal native's.
"""
from __future__ import annotations

import pytest
import torch
from _support import load_helper
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.scail2_native import context_from_native
from choreograph.core.models.wan_arch import SCAIL2
from choreograph.core.models.wan_loader import load_wan_transformer

G = load_helper("golden/golden_sets.py")
ENV, NAME = "CHOREOGRAPH_GOLDEN_SCAIL2", "scail2"
pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def golden():
    folder = G.golden_dir(ENV, NAME)
    args = G.read_json(folder, "config.json")["constructor_args"]
    loaded = load_wan_transformer(folder / G.read_json(folder, "model_cases.json")["checkpoint"],
                                  DtypePolicy(torch.float32), "cpu", head_dim=args["dim"] // args["num_heads"],
                                  expect=(SCAIL2,))
    return loaded.model.eval(), G.tensors(folder, "model_cases.safetensors")


def _native_call(case: dict, store: dict):
    inputs = G.model_inputs(case, store)
    flag = case["inputs"].get("ref_mask_flag", {}).get("value")
    video, context = context_from_native(inputs["x"], inputs.get("reference_latent"), inputs.get("pose_latents"),
                                         inputs.get("sam_latents"), inputs.get("ref_mask_latents"), flag)
    return video, context, inputs


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, "model_cases.json"))
def test_forward_matches_native(golden, case):
    model, store = golden
    video, context, inputs = _native_call(case, store)
    with torch.no_grad():
        out = model(video, inputs["t"], inputs["context"], inputs.get("clip_fea"), context=context)
    expected = store[case["output"]["key"]]
    assert out.shape == expected.shape
    assert float((out - expected).abs().max()) <= G.MODEL_TOLERANCE


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, "model_cases.json"))
def test_every_token_sits_at_natives_rope_position(golden, case):
    model, store = golden
    video, context, _ = _native_call(case, store)
    ours = model.token_positions(context, video.shape).float()
    native = store[case["rope"]["key"]]
    assert ours.shape == native.shape and torch.allclose(ours, native, rtol=0, atol=1e-5)
