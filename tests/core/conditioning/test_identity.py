"""The identity map: slots decided once, left to right or by mapping, with far-apart reuse beyond six."""
import numpy as np
import pytest
from choreograph.core.conditioning.identity import IdentityMap, assign_identities, parse_mapping
from choreograph.core.errors import InputError
from choreograph.core.pose.sequence import PoseSequence

WIDTH = 1000


def people_at(xs: list[float], frames: int = 3, ids: tuple[int, ...] | None = None,
              ys: list[float] | None = None) -> PoseSequence:
    kp = np.zeros((frames, len(xs), 133, 3), np.float32)
    for p, x in enumerate(xs):
        kp[:, p, :, 0] = x
        kp[:, p, :, 1] = 100 if ys is None else ys[p]
        kp[:, p, :17, 2] = 1.0
    return PoseSequence(kp, ids or tuple(range(10, 10 + len(xs))), WIDTH, WIDTH)


def test_left_to_right_gets_slots_in_order():
    poses = people_at([700, 100, 400], ids=(5, 6, 7))
    identity = assign_identities(poses)
    assert identity.slot_of(6) == 0 and identity.slot_of(7) == 1 and identity.slot_of(5) == 2
    assert identity.describe() == "5:green, 6:blue, 7:red"
    assert list(identity.slots_for(poses)) == [2, 0, 1]


def test_user_mapping_wins_and_others_fill_free_slots():
    poses = people_at([700, 100, 400], ids=(5, 6, 7))
    identity = assign_identities(poses, mapping="7:blue, 5=3")
    assert identity.slot_of(7) == 0 and identity.slot_of(5) == 3 and identity.slot_of(6) == 1
    with pytest.raises(InputError, match="mapping"):
        assign_identities(poses, mapping="99:0")
    with pytest.raises(InputError, match="not a slot"):
        parse_mapping("5:purple")


def test_more_than_six_reuses_the_slot_of_a_far_away_person():
    xs = [50, 150, 250, 350, 450, 550, 950]  # the 7th stands far right of everyone
    identity = assign_identities(people_at(xs))
    assert identity.slots[:6] == (0, 1, 2, 3, 4, 5)
    assert identity.slots[6] == 0  # the leftmost (slot 0, blue) is farthest from it
    assert identity.shared_slots == {0: (10, 16)}


def test_reuse_refused_when_everyone_is_close_or_reuse_is_off():
    crowd = people_at([400 + 10 * i for i in range(7)])
    with pytest.raises(InputError, match="min_separation"):
        assign_identities(crowd)
    with pytest.raises(InputError, match="6 binding slots"):
        assign_identities(people_at([50, 150, 250, 350, 450, 550, 950]), reuse_far_apart=False)


def test_people_never_on_screen_together_can_share():
    poses = people_at([100 + 10 * i for i in range(7)])
    kp = poses.keypoints.copy()
    kp[:2, 6] = 0  # the 7th appears only in the last frame ...
    kp[2:, 0] = 0  # ... after the first has left
    identity = assign_identities(PoseSequence(kp, poses.track_ids, WIDTH, WIDTH))
    assert identity.slots[6] == identity.slots[0]


def test_area_order_and_training_permutation():
    kp = people_at([100, 600]).keypoints.copy()
    kp[:, 1, 0, :2] = (900, 900)  # the second person spans a much larger box
    poses = PoseSequence(kp, (1, 2), WIDTH, WIDTH)
    assert assign_identities(poses, order="area").slot_of(2) == 0
    seeds = {assign_identities(poses, permute_seed=s).slots for s in range(12)}
    assert len(seeds) > 1 and all(len(set(s)) == 2 for s in seeds)


def test_identity_map_validates_and_refuses_foreign_tracks():
    with pytest.raises(ValueError, match="unique"):
        IdentityMap((1, 1), (0, 1))
    with pytest.raises(ValueError, match="slot"):
        IdentityMap((1,), (6,))
    with pytest.raises(InputError, match="not in the identity map"):
        IdentityMap((1,), (0,)).slots_for(people_at([100, 200], ids=(1, 2)))
