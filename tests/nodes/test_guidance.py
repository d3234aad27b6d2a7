"""Guidance nodes run without ComfyUI and chain into the native SCAIL-2 mask contract."""
import numpy as np
import pytest
import torch
from choreograph.core.errors import InputError
from choreograph.core.synth.config import SceneConfig
from choreograph.core.synth.scene import make_scene
from choreograph.nodes import guidance as G
from choreograph.nodes._inputs import InputSpec

SIZE = 64


@pytest.fixture(scope="module")
def scene():
    return make_scene(SceneConfig(characters=3, frames=9, width=SIZE, height=SIZE, seed=2))


@pytest.fixture(scope="module")
def identity(scene):
    return G.ChoreoIdentityMap().run(scene.poses)[0]


def test_every_node_declares_a_documented_interface():
    for cls in G.NODE_CLASS_MAPPINGS.values():
        spec = cls.INPUT_TYPES()
        for section in spec.values():
            for value in section.values():
                assert value[1]["tooltip"]
        assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES) == len(cls.OUTPUT_TOOLTIPS)
        assert cls.DESCRIPTION and cls.CATEGORY == "Choreograph/guidance"


def test_identity_map_node_describes_and_accepts_its_description(scene):
    identity, text = G.ChoreoIdentityMap().run(scene.poses)
    again, _ = G.ChoreoIdentityMap().run(scene.poses, mapping=text)
    assert again == identity and "red" in text


def test_skeleton_and_per_person_nodes(scene, identity):
    (skel,) = G.ChoreoRenderSkeletons().run(scene.poses, "ieg", 2 * SIZE, 2 * SIZE, identity_map=identity)
    assert skel.shape == (9, 2 * SIZE, 2 * SIZE, 3) and skel.dtype == torch.float32 and skel.max() <= 1
    with pytest.raises(InputError):
        G.ChoreoRenderSkeletons().run(scene.poses, "ieg")
    maps, people = G.ChoreoPerPersonPoseMaps().run(scene.poses, identity)
    assert people == 3 and maps.shape == (27, SIZE, SIZE, 3)


def test_masks_colour_masks_and_binding_slots_chain(scene, identity):
    masks, batch, people = G.ChoreoIdentityMasks().run(scene.poses, identity)
    assert batch.shape == (27, SIZE, SIZE) and people == 3 and batch.view(3, 9, SIZE, SIZE).sum(0).max() <= 1  # exclusive
    ref_image = torch.from_numpy(scene.reference.frame[None].astype(np.float32) / 255)
    chars, ref_mask, text = G.ChoreoCharacters().run(ref_image, scene.reference.poses, scene.poses, identity)
    assert ref_mask.shape == (1, SIZE, SIZE, 3) and "track" in text
    video, reference = G.ChoreoSCAIL2ColourMasks().run(masks, scene.poses, identity, "animation", characters=chars)
    assert video.shape == (9, SIZE, SIZE, 3) and torch.equal(reference, ref_mask)
    colours = {tuple(c) for c in (video.reshape(-1, 3) * 255).round().int().tolist()}
    assert colours <= {(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)}  # pure slot colours only
    out = G.ChoreoSCAIL2BindingSlots().run(video, reference, "animation")
    slots, summary = out["result"]
    only, _ = G.ChoreoSCAIL2ColourMasks().run(masks, scene.poses, identity, "replacement", track_ids="1")
    only_colours = {tuple(c) for c in (only.reshape(-1, 3) * 255).round().int().tolist()}
    assert only_colours <= {(255, 255, 255), (255, 0, 0)}  # identity 1 (slot 1: red) on the white switch
    assert (reference[0, 0, 0] == 1).all()  # animation: reference mask on white (official)
    _, repl_reference = G.ChoreoSCAIL2ColourMasks().run(masks, scene.poses, identity, "replacement",
                                                        characters=chars)
    assert (repl_reference[0, 0, 0] == 0).all() and torch.equal(repl_reference != reference,
                                                                 (reference == 1).all(-1, keepdim=True).expand_as(reference))
    with pytest.raises(InputError, match="track_ids"):
        G.ChoreoSCAIL2ColourMasks().run(masks, scene.poses, identity, track_ids="9")
    assert out["ui"]["text"] == [summary]
    assert slots.driving.shape == (28, 3, 4, 4) and slots.reference.shape == (28, 1, 8, 8)
    assert "[1, 2, 3]" in summary


def test_segmenter_masks_are_matched_through_the_node(scene, identity):
    truth = scene.masks_full.transpose(1, 0, 2, 3)[[1, 2, 0]].reshape(27, SIZE, SIZE)  # object-major, shuffled
    masks, _, _ = G.ChoreoIdentityMasks().run(scene.poses, identity, exclusive=False, objects=3,
                                              mask=torch.from_numpy(truth.astype(np.float32)))
    assert np.array_equal(masks.masks > 0.5, scene.masks_full)
    with pytest.raises(InputError, match="objects"):
        G.ChoreoIdentityMasks().run(scene.poses, identity, objects=2, mask=torch.from_numpy(truth.astype(np.float32)))


def test_in_context_and_preview_nodes(scene, identity):
    frames = torch.from_numpy(scene.frames.astype(np.float32) / 255)
    composite, mask, pad = G.ChoreoInContextComposite().run(frames[:1], frames, 4)
    assert composite.shape == (13, SIZE, 2 * SIZE, 3) and mask.shape == (13, SIZE, 2 * SIZE) and pad == 4
    masks, _, _ = G.ChoreoIdentityMasks().run(scene.poses, identity)
    (shown,) = G.ChoreoGuidancePreview().run(frames, scene.poses, identity, masks=masks)
    assert shown.shape == frames.shape and not torch.equal(shown, frames)


def test_input_builders_are_used():
    spec: InputSpec = G.ChoreoIdentityMap.INPUT_TYPES()["required"]["order"]
    assert spec[1]["default"] == "left_to_right"
