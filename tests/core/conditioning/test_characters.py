"""Character slots from a synthetic reference image: crops, masks, slots from the identity map, prompts."""
import dataclasses

import numpy as np
import pytest
from choreograph.core.conditioning.characters import Character, build_characters, parse_prompts
from choreograph.core.conditioning.identity import assign_identities
from choreograph.core.errors import InputError
from choreograph.core.render.palette import SLOT_RGB
from choreograph.core.synth.config import SceneConfig
from choreograph.core.synth.scene import make_scene

SIZE = 128


@pytest.fixture(scope="module")
def scene():
    return make_scene(SceneConfig(characters=3, frames=5, width=SIZE, height=SIZE, seed=5))


def test_each_driving_identity_gets_its_reference_in_its_slot(scene):
    identity = assign_identities(scene.poses)
    ref = scene.reference
    chars = build_characters(ref.frame, ref.poses, scene.poses, identity, masks=ref.masks.astype(np.float32),
                             prompts="a\nb\nc")
    assert sorted(chars.track_ids) == sorted(scene.poses.track_ids)
    for c in chars.characters:
        assert c.slot == identity.slot_of(c.track_id)
        x0, y0, x1, y1 = c.box
        truth = ref.masks[ref.poses.column(c.reference_id)]
        assert np.array_equal(c.mask > 0.5, truth[y0:y1, x0:x1]) and truth[y0:y1, x0:x1].sum() == truth.sum()
        assert np.allclose(c.crop, ref.frame[y0:y1, x0:x1] / 255.0)
    colours = chars.reference_colour_mask()
    for c in chars.characters:
        ys, xs = np.nonzero(chars.reference_masks[chars.track_ids.index(c.track_id)] > 0.5)
        assert (colours[ys, xs] == SLOT_RGB[c.slot]).all(axis=-1).mean() > 0.8
    assert {c.prompt for c in chars.characters} == {"a", "b", "c"}
    assert chars.face_embeddings().shape == (3, 512) and not chars.face_embeddings().any()
    crops, crop_masks = chars.square_crops(64)
    assert crops.shape == (3, 64, 64, 3) and crop_masks.shape == (3, 64, 64)
    assert np.allclose(crops[crop_masks == 0], 1.0)  # white outside each character
    tall = chars.characters[0].mask.shape[0] >= chars.characters[0].mask.shape[1]
    assert (crop_masks[0].any(axis=1 if tall else 0)).sum() >= 0.7 * 64  # long side fills the square (less padding)


def test_explicit_reference_mapping_and_pose_drawn_masks(scene):
    identity = assign_identities(scene.poses)
    ref = scene.reference
    first, second = scene.poses.track_ids[:2]
    chars = build_characters(ref.frame, ref.poses, scene.poses, identity,
                             mapping=f"{first}:{ref.poses.track_ids[1]}, {second}:{ref.poses.track_ids[0]}")
    assert set(chars.track_ids) == {first, second}
    slots = [identity.slot_of(t) for t in chars.track_ids]
    assert slots == sorted(slots)  # stream order is slot order
    assert chars.by_track(first).reference_id == ref.poses.track_ids[1]
    embedded = chars.with_face_embeddings({second: np.ones(512)})
    row = embedded.track_ids.index(second)
    assert embedded.face_embeddings()[row].sum() == 512 and chars.by_track(second).face_embedding is None


def test_reference_with_fewer_people_is_refused(scene):
    identity = assign_identities(scene.poses)
    ref = scene.reference
    lonely = ref.poses.select([ref.poses.track_ids[0]])
    with pytest.raises(InputError, match="reference_mapping"):
        build_characters(ref.frame, lonely, scene.poses, identity)
    with pytest.raises(InputError, match="canvas"):
        build_characters(ref.frame[:64], ref.poses, scene.poses, identity)


def test_character_values_are_validated(scene):
    ok = Character(1, 1, 0, np.zeros((4, 4, 3)), np.ones((4, 4)), (0, 0, 4, 4))
    with pytest.raises(ValueError, match="empty"):
        dataclasses.replace(ok, mask=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="512"):
        dataclasses.replace(ok, face_embedding=np.ones(128))
    assert parse_prompts("7: hero\nvillain", (3, 7)) == {7: "hero", 3: "villain"}
