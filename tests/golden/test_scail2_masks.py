"""SCAIL-2 mask paths against native ComfyUI, exactly: 28-channel extraction, WanSCAILToVideo's driving and
reference mask paths, and SCAIL2ColoredMask rendering (official palette order and backgrounds)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning import scail2_native as native

G = load_helper("golden/golden_sets.py")
ENV, NAME, JSON = "CHOREOGRAPH_GOLDEN_SCAIL2", "scail2", "mask_cases.json"
pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def store():
    return G.case_tensors(ENV, NAME, JSON)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON, "extract_28ch"))
def test_28_channel_extraction_is_exact(store, case):
    out = native.extract_mask28(G.image(store, case["input"]["key"]))
    assert torch.equal(out, store[case["output"]["key"]])


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON, "driving_mask_path"))
def test_driving_mask_path_is_exact(store, case):
    out = native.driving_mask28_native(G.image(store, case["input"]["key"]), case["gen_width"], case["gen_height"])
    expected = store[case["output"]["key"]]
    assert out.shape == expected.shape and torch.equal(out, expected)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON, "reference_mask_path"))
def test_reference_mask_path_is_exact(store, case):
    out = native.reference_masks28_native(G.image(store, case["input"]["key"]), case["gen_width"],
                                          case["gen_height"])
    expected = store[case["output"]["key"]]
    assert out.shape == expected.shape and torch.equal(out, expected)


def render(store: dict, case: dict) -> tuple[np.ndarray, np.ndarray]:
    """Our SCAIL2ColoredMask for a rendering case, as uint8 0/255 images."""
    inputs = case["inputs"]
    extra = {}
    if "reference_masks" in inputs:
        extra["reference_masks"] = store[inputs["reference_masks"]["key"]].numpy()
    if "reference_plain_mask" in inputs:
        extra["plain_reference"] = store[inputs["reference_plain_mask"]["key"]].numpy()
    mode = "replacement" if case["replacement_mode"] else "animation"
    return native.render_track_colour_masks(store[inputs["driving_masks"]["key"]].numpy(), case["orig_size_H_W"],
                                            mode, case["sort_by"], case["object_indices"], **extra)


@pytest.mark.parametrize("case", G.case_params(ENV, NAME, JSON, "colour_mask_rendering"))
def test_colour_mask_rendering_is_exact(store, case):
    pose_video_mask, reference_image_mask = render(store, case)
    for ours, name in ((pose_video_mask, "pose_video_mask"), (reference_image_mask, "reference_image_mask")):
        expected = G.stored_render(store, case, name)
        assert ours.shape == expected.shape and np.array_equal(ours, expected), name
