"""MaskPoseAdapter: output shape, absent people, per-person binding, and initialisation from PoseNet."""
from __future__ import annotations

import pytest
import torch

from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.stable_animator.loader import load_adapter
from choreograph.core.models.stable_animator.mask_pose import MaskPoseAdapter, MaskPoseConfig, pad_absent_people

FRAMES, SIZE = 3, 32


def person_inputs(people: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    poses = torch.rand(people, FRAMES, 3, SIZE, SIZE, generator=g) * 2 - 1
    masks = (torch.rand(people, FRAMES, 1, SIZE, SIZE, generator=g) > 0.5).float()
    return poses, masks


@pytest.fixture(scope="module")
def adapter(tiny) -> MaskPoseAdapter:
    return tiny.tiny_adapter()


def test_output_is_one_feature_map_per_frame_at_latent_size(adapter, tiny):
    poses, masks = person_inputs(2)
    with torch.no_grad():
        out = adapter(poses, masks)
    assert out.shape == (FRAMES, tiny.ADAPTER_CONFIG.channels, SIZE // 8, SIZE // 8)
    assert torch.isfinite(out).all()


def test_absent_person_is_black_pose_and_empty_mask_and_padding_matches(adapter):
    poses, masks = person_inputs(1)
    padded_poses, padded_masks = pad_absent_people(poses, masks, 2)
    assert padded_poses.shape[0] == 2 and (padded_poses[1] == -1).all() and (padded_masks[1] == 0).all()
    explicit = (torch.cat([poses, torch.full_like(poses, -1)]), torch.cat([masks, torch.zeros_like(masks)]))
    with torch.no_grad():
        out = adapter(padded_poses, padded_masks)
        assert torch.equal(out, adapter(*explicit))
        assert torch.isfinite(out).all()
        # With one person absent the output still follows the present person's pose.
        moved = adapter(*pad_absent_people(poses.roll(5, dims=-1), masks, 2))
    assert not torch.allclose(out, moved)


def test_people_are_bound_to_their_own_mask(adapter):
    """Swapping the masks between people changes the result: pose and mask are fused per person."""
    poses, masks = person_inputs(2, seed=3)
    with torch.no_grad():
        same = adapter(poses, masks)
        swapped = adapter(poses, masks.flip(0))
        both_swapped = adapter(poses.flip(0), masks.flip(0))
    assert not torch.allclose(same, swapped, atol=1e-5)
    # Relabelling people (both streams together) changes only the person order, which the attention's first
    # layer sees; the output stays finite and the same shape.
    assert both_swapped.shape == same.shape and torch.isfinite(both_swapped).all()


def test_fresh_adapter_constants_follow_the_spec():
    adapter = MaskPoseAdapter(MaskPoseConfig(channels=32))
    assert torch.sigmoid(adapter.pose_weight_logit).item() == pytest.approx(0.8)
    assert adapter.log_temperature.exp().item() == pytest.approx(1.0)
    assert adapter.pose_net.scale.item() == 2.0
    assert (adapter.mask_proj.weight == 0).all() and (adapter.pose_net.final_proj.weight == 0).all()
    assert adapter.person_attention[-1].__class__.__name__ == "BatchNorm2d"  # logits may be negative
    literal = MaskPoseAdapter(MaskPoseConfig(channels=32, literal_logit_relu=True))
    assert literal.person_attention[-1].__class__.__name__ == "ReLU"


def test_too_many_people_is_refused(adapter):
    poses, masks = person_inputs(3)
    with pytest.raises(ValueError, match="built for 2 people"):
        adapter(poses, masks)


def test_pose_net_file_initialises_the_shared_per_person_pose_net(tmp_path, tiny):
    pose_net = tiny.tiny_pose_net()
    path = tiny.save_state(pose_net, tmp_path / "pose_net.safetensors")
    adapter = load_adapter(path, DtypePolicy(torch.float32))
    for name, value in pose_net.state_dict().items():
        assert torch.equal(adapter.pose_net.state_dict()[name], value)
    assert adapter.config.channels == tiny.ADAPTER_CONFIG.channels and adapter.config.people == 2


def test_full_adapter_file_round_trips(tmp_path, adapter, tiny):
    path = tiny.save_state(adapter, tmp_path / "adapter.safetensors")
    loaded = load_adapter(path, DtypePolicy(torch.float32))
    poses, masks = person_inputs(2)
    with torch.no_grad():
        assert torch.allclose(loaded(poses, masks), adapter(poses, masks))


def test_wrong_file_names_the_input(tmp_path, tiny):
    state = tiny.tiny_pose_net().state_dict()
    state.pop("scale")
    state["extra.weight"] = torch.zeros(2)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InputError, match="pose_net"):
        load_adapter(tmp_path / "bad.safetensors")


def test_public_pth_release_loads_weights_only(tmp_path, tiny):
    """StableAnimator ships ``pose_net.pth`` (a plain state dict); it loads without arbitrary unpickling."""
    pose_net = tiny.tiny_pose_net()
    torch.save(pose_net.state_dict(), tmp_path / "pose_net.pth")
    adapter = load_adapter(tmp_path / "pose_net.pth", DtypePolicy(torch.float32))
    assert torch.equal(adapter.pose_net.final_proj.weight, pose_net.final_proj.weight)
