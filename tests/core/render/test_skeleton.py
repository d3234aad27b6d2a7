"""Skeleton rendering: DWPose's geometry and colours pixel for pixel, identity palettes, depth order, scaling."""
import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.pose import wholebody as wb
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.render.palette import ieg_colours, lightness_colours
from choreograph.core.render.skeleton import SkeletonStyle, render_per_person, render_skeletons

SIZE = 100


def shoulders_person(dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Both shoulders (so a neck) 40 px apart on y = 40, a 2-point left hand and one face point."""
    kp = np.zeros((133, 3), np.float32)
    kp[wb.RIGHT_SHOULDER] = (30 + dx, 40 + dy, 0.9)
    kp[wb.LEFT_SHOULDER] = (70 + dx, 40 + dy, 0.9)
    kp[wb.LEFT_HAND.start] = (20 + dx, 80 + dy, 0.9)
    kp[wb.LEFT_HAND.start + 1] = (40 + dx, 80 + dy, 0.9)
    kp[wb.FACE.start] = (80 + dx, 80 + dy, 0.9)
    return kp


def sequence(*people: np.ndarray, depth=None, size: int = SIZE) -> PoseSequence:
    kp = np.stack(people)[None]
    return PoseSequence(kp, tuple(range(len(people))), size, size, depth=depth)


def px(image: np.ndarray, x: int, y: int) -> tuple:
    return tuple(int(v) for v in image[y, x])


def test_dwpose_palette_matches_dwpose_drawing():
    frame = render_skeletons(sequence(shoulders_person()), None, SIZE, SIZE, SkeletonStyle(palette="dwpose"))[0]
    assert px(frame, 40, 40) == (153, 0, 0)  # limb 0 (neck-R shoulder), red x 0.6
    assert px(frame, 40, 43) == (153, 0, 0) and px(frame, 40, 46) == (0, 0, 0)  # stick half-width 4
    assert px(frame, 60, 40) == (153, 51, 0)  # limb 1 (255, 85, 0) x 0.6
    assert px(frame, 30, 40) == (255, 170, 0)  # joint 2 (R shoulder) at full colour, over the limb
    assert px(frame, 50, 40) == (255, 85, 0)  # joint 1 (neck)
    assert px(frame, 70, 40) == (85, 255, 0)  # joint 5 (L shoulder)
    assert px(frame, 30, 80) == (255, 0, 0)  # hand edge 0: HSV(0, 1, 1), 2 px line
    assert px(frame, 30, 82) == (0, 0, 0)
    assert px(frame, 20, 80) == (0, 0, 255) and px(frame, 20, 84) == (0, 0, 255)  # hand joints, radius 4
    assert px(frame, 80, 80) == (255, 255, 255) and px(frame, 80, 84) == (0, 0, 0)  # face point, radius 3


def test_low_scores_and_pixel_zero_points_are_not_drawn():
    kp = shoulders_person()
    kp[wb.RIGHT_SHOULDER, 2] = 0.3  # DWPose draws body points only above 0.3 (and then no neck either)
    kp[wb.FACE.start, 0] = 0.5  # integer pixel 0: DWPose's eps test skips it
    frame = render_skeletons(sequence(kp), None, SIZE, SIZE, SkeletonStyle(palette="dwpose"))[0]
    assert px(frame, 30, 40) == (0, 0, 0) and px(frame, 50, 40) == (0, 0, 0)
    assert px(frame, 70, 40) == (85, 255, 0)
    assert not frame[:, :4].any()


def test_output_size_scales_points():
    frame = render_skeletons(sequence(shoulders_person()), None, 2 * SIZE, 2 * SIZE,
                             SkeletonStyle(palette="dwpose"))[0]
    assert px(frame, 60, 80) == (255, 170, 0)  # the R shoulder moved from (30, 40) to (60, 80)
    assert px(frame, 80, 80) == (153, 0, 0)


def test_ieg_palette_encodes_identity_side_and_part():
    seq = sequence(shoulders_person())
    frame = render_skeletons(seq, np.array([2]), SIZE, SIZE, SkeletonStyle(palette="ieg"))[0]
    assert px(frame, 30, 40) == (0, 255, 0)  # slot 2 = green; right arm S = 1, V = 1
    assert px(frame, 40, 40) == (0, 153, 0)
    assert px(frame, 60, 40) == (69, 153, 69)  # left side: saturation 0.55 (115, 255, 115) x 0.6
    red = ieg_colours(1)  # slot 1 = red (official SCAIL-2 order: blue, red, green, ...)
    assert red.joints[4][0] == pytest.approx(0.70 * 255)  # distal right wrist: value 0.70
    assert red.hand_edges[1][19] == pytest.approx((255 * 0.68, 0, 0))  # right pinky: V = 1 - 0.08 * 4
    assert red.face == pytest.approx((255, 204, 204))  # saturation 0.2


def test_lightness_palette_separates_two_people_by_lightness():
    pastel, saturated = lightness_colours(0), lightness_colours(1)
    assert min(pastel.limbs[0]) > min(saturated.limbs[0])
    assert lightness_colours(2) == pastel


def test_nearer_person_is_drawn_last():
    far, near = shoulders_person(), shoulders_person()
    slots = np.array([1, 0])  # red, blue
    by_y = sequence(far, near + np.array([0, 1, 0], np.float32))  # larger mean y = nearer
    assert px(render_skeletons(by_y, slots, SIZE, SIZE)[0], 30, 40)[2] > 0
    by_depth = sequence(far, near, depth=np.array([[1.0, 5.0]], np.float32))  # person 1 is far away
    assert px(render_skeletons(by_depth, slots, SIZE, SIZE)[0], 30, 40) == (255, 0, 0)


def test_per_person_maps_are_separate_and_black_when_absent():
    a, b = shoulders_person(), shoulders_person(dx=5)
    kp = np.stack([np.stack([a, b]), np.stack([a, np.zeros_like(b)])])
    maps = render_per_person(PoseSequence(kp, (4, 9), SIZE, SIZE), SIZE, SIZE)
    assert maps.shape == (2, 2, SIZE, SIZE, 3)
    assert px(maps[0, 0], 30, 40) == (255, 170, 0) and px(maps[1, 0], 35, 40) == (255, 170, 0)
    assert px(maps[0, 0], 35, 40) != (255, 170, 0)
    assert not maps[1, 1].any()


def test_identity_palette_needs_slots():
    with pytest.raises(InputError, match="identity_map"):
        render_skeletons(sequence(shoulders_person()), None, SIZE, SIZE, SkeletonStyle(palette="ieg"))
    with pytest.raises(InputError, match="palette"):
        SkeletonStyle(palette="rainbow")


def test_dwpose_draws_all_limbs_before_all_joints_while_identity_palettes_draw_person_by_person():
    far = shoulders_person()  # R-shoulder joint at (30, 40)
    near = shoulders_person()
    near[wb.RIGHT_SHOULDER, :2] = (6, 40)
    near[wb.LEFT_SHOULDER, :2] = (66, 40)  # its neck (36, 40) -> R-shoulder limb runs over (30, 40)
    near[wb.LEFT_HAND.start:wb.LEFT_HAND.start + 2, 1] += 5  # lower in the image: nearer
    near[wb.FACE.start, 1] += 5
    seq = sequence(far, near)
    plain = render_skeletons(seq, None, SIZE, SIZE, SkeletonStyle(palette="dwpose"))[0]
    assert px(plain, 30, 40) == (255, 170, 0)  # DWPose: the far joint lands on top of the near limb
    ieg = render_skeletons(seq, np.array([1, 0]), SIZE, SIZE, SkeletonStyle(palette="ieg"))[0]
    assert px(ieg, 30, 40) == (0, 0, 153)  # IEG: the nearer (blue) identity covers the farther one
