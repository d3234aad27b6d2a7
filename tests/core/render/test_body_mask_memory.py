"""The body-mask stage holds one copy of its output, and the 28-channel masks can stream from poses in memory flat
in frames and people, with exactly the same results as the whole-clip path."""
import numpy as np
import pytest
import torch
from choreograph.benchmarks.timing import traced_peak
from choreograph.core.conditioning.binding_slots import driving_mask28_from_masks, driving_mask28_from_poses
from choreograph.core.conditioning.identity import assign_identities
from choreograph.core.render import masks as mask_module
from choreograph.core.render.masks import IdentityMasks, body_depth_ranks, depth_ranks, masks_from_poses
from choreograph.core.render.occlusion import back_to_front
from choreograph.core.synth import SceneConfig, make_scene


@pytest.fixture(scope="module")
def crowd():
    """Five people crossing, swapping and leaving over 21 frames (more than one geometry chunk)."""
    return make_scene(SceneConfig(characters=5, frames=21, width=96, height=64, choreography="dance+swap+cross+exit",
                                  seed=4)).poses


@pytest.mark.parametrize("region", ["body", "face", "hands"])
def test_masks_do_not_depend_on_the_chunk_size(crowd, region, monkeypatch):
    whole = masks_from_poses(crowd, 120, 80, region).masks
    assert whole.any()
    monkeypatch.setattr(mask_module, "CHUNK_FRAMES", 1)
    assert np.array_equal(masks_from_poses(crowd, 120, 80, region).masks, whole)
    monkeypatch.setattr(mask_module, "CHUNK_FRAMES", 1000)
    assert np.array_equal(masks_from_poses(crowd, 120, 80, region).masks, whole)


def test_depth_ranks_drawn_straight_from_poses_equal_those_from_masks(crowd):
    order = back_to_front(crowd)
    expected = depth_ranks(masks_from_poses(crowd, 120, 80), order)
    assert expected.max() >= 3  # overlaps are resolved somewhere
    assert np.array_equal(body_depth_ranks(crowd, 120, 80, order), expected)


@pytest.mark.parametrize("mode", ["animation", "replacement"])
def test_streamed_28_channel_masks_equal_the_whole_clip_ones(crowd, mode):
    identity = assign_identities(crowd)
    expected = driving_mask28_from_masks(masks_from_poses(crowd, 96, 64), identity, crowd, mode)
    for chunk in (1, 4, 16, 100):
        assert torch.equal(driving_mask28_from_poses(crowd, identity, 96, 64, mode, chunk=chunk), expected), chunk


def test_identity_masks_keep_a_uint8_clip_without_copying():
    clip = np.zeros((3, 2, 8, 8), np.uint8)
    clip[0, 1, 2:4, 2:4] = 1
    assert np.shares_memory(IdentityMasks(clip, (4, 7)).masks, clip)


def _peaks(frames: int, people: int) -> tuple[int, int, int]:
    poses = make_scene(SceneConfig(characters=people, frames=frames, width=256, height=256, choreography="dance",
                                   seed=1)).poses
    identity = assign_identities(poses)
    whole, masks = traced_peak(lambda: masks_from_poses(poses, 256, 256))
    streamed, _ = traced_peak(lambda: driving_mask28_from_poses(poses, identity, 256, 256, chunk=4))
    return whole, masks.masks.nbytes, streamed


def test_memory_is_one_output_copy_and_flat_when_streamed():
    """tracemalloc peaks: exact allocation counts, independent of machine load."""
    whole_small, size_small, streamed_small = _peaks(9, 1)
    whole_big, size_big, streamed_big = _peaks(33, 6)
    assert whole_small < 1.2 * size_small and whole_big < 1.2 * size_big  # no second copy of the masks
    assert streamed_big < 1.3 * streamed_small  # 3.7x the frames, 6x the people
    assert streamed_big < 0.15 * size_big
