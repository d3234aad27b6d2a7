"""WanSCAILToVideo's conditioning rebuilt from the same pixel inputs with the sets' stand-in VAE: 28-channel masks
exact, latents within 1e-6, the frame offset, history, noise mask and pose range as native set them, and the
model kwargs native derives from them."""
from __future__ import annotations

import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning.scail2_conditioning import Scail2Inputs, native_conditioning

G = load_helper("golden/golden_sets.py")
ENV, NAME, JSON = "CHOREOGRAPH_GOLDEN_SCAIL2", "scail2", "conditioning_cases.json"
pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def golden():
    folder = G.golden_dir(ENV, NAME)
    spec = G.read_json(folder, JSON)
    store = G.tensors(folder, spec["tensor_file"])
    vae, latent_format = spec["stand_in_vae"], spec["wan21_latent_format"]
    encode = G.stand_in_encoder(store[vae["matrix"]["key"]], store[vae["bias"]["key"]])
    return store, encode, G.process_in(store[latent_format["mean"]["key"]], store[latent_format["std"]["key"]])


def build(case: dict, store: dict, encode):
    args, inputs = case["node_args"], case["inputs"]

    def pixels(name: str) -> torch.Tensor | None:
        return None if name not in inputs else G.image(store, inputs[name]["key"])

    return native_conditioning(Scail2Inputs(
        args["width"], args["height"], args["length"], pixels("reference_image"), pixels("reference_image_mask"),
        pixels("pose_video"), pixels("pose_video_mask"), pixels("previous_frames"), args["previous_frame_count"],
        args["video_frame_offset"], "replacement" if args["replacement_mode"] else "animation",
        args["pose_strength"], args["pose_start"], args["pose_end"], args.get("batch_size", 1)), encode)


def close(ours: torch.Tensor | None, expected: torch.Tensor) -> bool:
    return ours is not None and ours.shape == expected.shape and float((ours - expected).abs().max()) <= \
        G.LATENT_TOLERANCE


def _with_pose(entries: list[dict]) -> dict:
    return next((e for e in entries if "pose_video_latent" in e["tensors"]), entries[0])


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON))
def test_conditioning_tensors_match_native(golden, case):
    store, encode, _ = golden
    cond = build(case, store, encode)
    out = case["outputs"]
    entry = _with_pose(out["positive_conditioning_entries"])
    tensors = entry["tensors"]
    assert len(cond.reference_latents) == len(tensors.get("reference_latents", []))
    assert all(close(ours, store[ref["key"]]) for ours, ref in zip(cond.reference_latents,
                                                                   tensors.get("reference_latents", [])))
    if "pose_video_latent" in tensors:
        assert close(cond.pose_latent, store[tensors["pose_video_latent"]["key"]])
    else:
        assert cond.pose_latent is None
    for name, ours in (("driving_mask_28ch", cond.driving_mask_28ch), ("ref_mask_28ch", cond.ref_mask_28ch)):
        if name in tensors:
            assert ours is not None and torch.equal(ours, store[tensors[name]["key"]]), name  # exact
        else:
            assert ours is None, name
    assert close(cond.latent, store[out["latent_samples"]["key"]])
    assert cond.video_frame_offset == out["video_frame_offset"]
    assert cond.history_frames == out["history_latent_frames"]
    noise = out["noise_mask"]
    assert (cond.noise_mask() is None) if noise is None else torch.equal(cond.noise_mask(), store[noise["key"]])
    assert all(e["ref_mask_flag"] == (cond.mode == "animation") for e in out["positive_conditioning_entries"])


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON))
def test_pose_is_active_on_natives_step_range(golden, case):
    store, encode, _ = golden
    cond = build(case, store, encode)
    entries = case["outputs"]["positive_conditioning_entries"]
    with_pose = [e for e in entries if "pose_video_latent" in e["tensors"]]
    if cond.pose_latent is None:
        assert not with_pose
        return
    (entry,) = with_pose
    start, end = cond.pose_range
    assert entry["start_percent"] in (None, start) and entry["end_percent"] in (None, end)
    if len(entries) > 1:
        assert (entry["start_percent"], entry["end_percent"]) == (start, end)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON))
def test_model_inputs_match_natives_kwargs(golden, case):
    store, encode, normalise = golden
    cond = build(case, store, encode)
    kwargs = case["model_forward_kwargs"]
    latent, context = cond.model_inputs(normalise)
    assert close(latent, store[kwargs["latent_image"]["key"]])
    assert context.mode == ("animation" if kwargs["ref_mask_flag"] else "replacement")
    assert context.history_frames == cond.history_frames
    reference = kwargs.get("reference_latent")
    if isinstance(reference, dict):
        assert close(cond.native_reference_latent(normalise), store[reference["key"]])
        assert context.reference_frames == store[reference["key"]].shape[2]
    pose = kwargs.get("pose_latents")
    if isinstance(pose, dict):
        assert close(cond.native_pose_latents(normalise), store[pose["key"]])
        assert context.driving is not None and context.driving.shape[2:] == store[pose["key"]].shape[2:]
    else:
        assert context.driving is None
    assert (context.reference_mask is None) == (kwargs.get("ref_mask_latents") is None)
