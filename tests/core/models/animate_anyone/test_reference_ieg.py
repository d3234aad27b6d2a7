"""The reference IEG is drawn in the slot colours of the characters the reference people play."""
from __future__ import annotations

import numpy as np
import pytest
from choreograph.core.conditioning.characters import Character, CharacterSet
from choreograph.core.conditioning.identity import IdentityMap
from choreograph.core.errors import InputError
from choreograph.core.models.animate_anyone.reference_ieg import render_reference_ieg
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.render.palette import SLOT_NAMES

SIZE = 64


def _pose(x: float) -> np.ndarray:
    """A vertical neck→hip-ish body: nose, neck, shoulders, hips at column ``x``."""
    kp = np.zeros((133, 3), np.float32)
    for index, (dx, y) in {0: (0, 10), 1: (0, 18), 2: (-5, 18), 5: (5, 18), 8: (-3, 40), 11: (3, 40)}.items():
        kp[index] = (x + dx, y, 1.0)
    return kp


def _characters(slots: tuple[int, int]) -> CharacterSet:
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    masks = np.zeros((2, SIZE, SIZE), np.float32)
    masks[0, :, :32], masks[1, :, 32:] = 1, 1
    chars = tuple(Character(track, ref, slot, image, mask, (0, 0, SIZE, SIZE))
                  for track, ref, slot, mask in zip((5, 6), (0, 1), slots, masks))
    return CharacterSet(chars, image, masks, IdentityMap((5, 6), slots))


def _dominant_channel(image: np.ndarray, columns: slice) -> int:
    return int(image[:, columns].reshape(-1, 3).sum(0).argmax())


def test_each_reference_person_takes_its_characters_hue():
    poses = PoseSequence(np.stack([_pose(16), _pose(48), _pose(40)])[None], (0, 1, 2), SIZE, SIZE)
    red, blue = SLOT_NAMES.index("red"), SLOT_NAMES.index("blue")
    ieg = render_reference_ieg(poses, _characters((red, blue)), SIZE, SIZE)
    assert ieg.shape == (SIZE, SIZE, 3) and ieg.dtype == np.float32 and ieg.max() <= 1.0
    assert _dominant_channel(ieg, slice(0, 28)) == 0 and _dominant_channel(ieg, slice(52, 64)) == 2
    swapped = render_reference_ieg(poses, _characters((blue, red)), SIZE, SIZE)
    assert _dominant_channel(swapped, slice(0, 28)) == 2


def test_reference_person_missing_from_poses_is_named():
    poses = PoseSequence(_pose(16)[None, None], (0,), SIZE, SIZE)
    with pytest.raises(InputError, match=r"reference people \[1\]"):
        render_reference_ieg(poses, _characters((0, 1)), SIZE, SIZE)
