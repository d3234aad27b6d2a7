"""DreamActor-M2's backbone (stock Wan2.1-I2V) against native ComfyUI's WanModel, in the native-compatible mode:
every model case (CLIP or none, padded or short text, odd latent sizes, batches, DreamActor double-width
composites) within 5e-5 through our real loader, and our DreamActor-M2 composite equal to native's c_concat."""
from __future__ import annotations

import pytest
import torch
from _support import load_helper
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.wan_arch import I2V
from choreograph.core.models.wan_forward import NATIVE, wan_forward
from choreograph.core.models.wan_loader import load_wan_transformer
from choreograph.core.sampling.dreamactor_m2 import segment_input

G = load_helper("golden/golden_sets.py")
ENV, NAME, JSON = "CHOREOGRAPH_GOLDEN_WAN_I2V", "wan_i2v", "model_cases.json"
COMPOSITE_TOLERANCE = 1e-5  # the stand-in VAE's block sums in another order (measured ~1.5e-6)
pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def golden():
    folder = G.golden_dir(ENV, NAME)
    spec = G.read_json(folder, JSON)
    args = G.read_json(folder, spec["config"])["constructor_args"]
    loaded = load_wan_transformer(folder / spec["checkpoint"], DtypePolicy(torch.float32), "cpu",
                                  head_dim=args["dim"] // args["num_heads"], expect=(I2V,))
    return loaded.model.eval(), G.tensors(folder, spec["tensor_file"])


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON))
def test_forward_matches_native(golden, case):
    model, store = golden
    inputs = G.model_inputs(case, store)
    with torch.no_grad():
        out = wan_forward(model, inputs["x"], inputs["t"], inputs["context"], inputs.get("clip_fea"), NATIVE)
    expected = store[case["output"]["key"]]
    assert out.shape == expected.shape
    assert float((out - expected).abs().max()) <= G.MODEL_TOLERANCE


def _dreamactor_cases() -> list:
    return [p for p in G.case_params(ENV, NAME, JSON)
            if p.values[0] is None or p.values[0].get("conditioning_source") == "dreamactor"]


@pytest.mark.parametrize("case", _dreamactor_cases())
def test_dreamactor_composite_equals_natives_c_concat(golden, case):
    _, store = golden
    parts, layout = case["conditioning"], case["dreamactor"]
    history = G.image(store, parts["history_u8"]["key"]) if "history_u8" in parts else None
    built = segment_input(G.image(store, parts["reference_u8"]["key"]), G.image(store, parts["driving_u8"]["key"]),
                          history, layout["pad_frames"])
    encode = G.stand_in_encoder(store["shared/vae_matrix"], store["shared/vae_bias"])
    normalise = G.process_in(store["shared/wan21_latents_mean"], store["shared/wan21_latents_std"])
    c_concat = store[parts["c_concat"]["key"]]
    mask = built.latent_mask()
    assert torch.equal(mask, 1 - store[parts["concat_mask"]["key"]][0])  # node convention 0 = given
    assert torch.equal(mask.expand_as(c_concat[:1, :4][0]), c_concat[0, :4])
    image = normalise(encode(torch.from_numpy(built.composite)))
    assert image.shape[1:] == (16, *c_concat.shape[2:])
    assert float((image[0] - c_concat[0, 4:]).abs().max()) <= COMPOSITE_TOLERANCE
