"""The real-size networks, built on the meta device, have exactly the public StableAnimator key layouts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from choreograph.core.models.loading import build_on_meta
from choreograph.core.models.stable_animator.face_encoder import FaceIdEncoder
from choreograph.core.models.stable_animator.id_attention import is_identity_layer
from choreograph.core.models.stable_animator.mask_pose import MaskPoseAdapter
from choreograph.core.models.stable_animator.pose_net import PoseNet
from choreograph.core.models.stable_animator.unet import build_unet

MANIFESTS = Path(__file__).resolve().parents[3] / "fixtures" / "manifests"  # published key layouts (README there)


def manifest(name: str) -> dict:
    path = MANIFESTS / f"stableanimator_{name}.json"
    return json.loads(path.read_text())


def shapes(model) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name, factory", [("unet", build_unet), ("pose_net", PoseNet),
                                           ("face_encoder", FaceIdEncoder)])
def test_meta_build_matches_public_layout(name, factory):
    data = manifest(name)
    model = build_on_meta(factory)
    assert shapes(model) == data["keys"]
    assert sum(p.numel() for p in model.state_dict().values()) == data["num_params"]


def test_identity_projections_are_the_32_extra_keys():
    data = manifest("unet")
    extra = {k for k in shapes(build_on_meta(build_unet)) if ".processor." in k}
    assert extra == set(data["extra_vs_svd_unet"])
    assert not any("temporal_transformer_blocks" in k for k in extra)
    assert is_identity_layer("down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor")
    assert not is_identity_layer("down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn2.processor")
    assert not is_identity_layer("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor")


def test_adapter_reuses_the_pose_net_layout_under_pose_net():
    data = manifest("pose_net")
    adapter = build_on_meta(MaskPoseAdapter)
    nested = {k[len("pose_net."):]: v for k, v in shapes(adapter).items() if k.startswith("pose_net.")}
    assert nested == data["keys"]


def test_real_size_adapter_and_multiface_shapes_on_meta():
    """512² × 16 frames, two people → 320×64×64 per frame (SPEC §2.2); 2 × 4 tokens × 1024 (SPEC §2.3)."""
    import torch

    with torch.device("meta"):
        adapter, faces = MaskPoseAdapter().eval(), FaceIdEncoder().eval()
        features = adapter(torch.zeros(2, 16, 3, 512, 512), torch.zeros(2, 16, 1, 512, 512))
        tokens = faces.encode_people(torch.zeros(1, 2, 512), torch.zeros(1, 1, 1024))
    assert features.shape == (16, 320, 64, 64)
    assert tokens.shape == (1, 8, 1024)
