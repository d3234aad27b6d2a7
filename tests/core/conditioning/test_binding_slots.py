"""SCAIL-2 binding slots: colour-mask videos in the native contract and the exact 28-channel layout."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from choreograph.core.conditioning.binding_slots import (
    binding_slots,
    colour_mask_video,
    driving_mask28,
    driving_mask28_from_masks,
    reference_background,
    reference_mask28,
    slot_colour_image,
    to_native_layout,
)
from choreograph.core.conditioning.identity import IdentityMap
from choreograph.core.conditioning.wan_grid import latent_size
from choreograph.core.errors import InputError
from choreograph.core.pose.sequence import PoseSequence
from choreograph.core.render.masks import IdentityMasks
from choreograph.core.render.palette import SLOT_RGB

RED, GREEN, BLUE, YELLOW, MAGENTA, CYAN = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)


def documented_28ch(video_uint8: np.ndarray, half: bool) -> torch.Tensor:
    """SPEC §3.2 written out step by step in float torch ops: resize, threshold, one-hot, area, fold."""
    x = torch.from_numpy(video_uint8).float().permute(0, 3, 1, 2) / 255.0
    if half:
        x = F.interpolate(x, size=(x.shape[2] // 2, x.shape[3] // 2), mode="bilinear", align_corners=False)
    r, g, b = [(x[:, i:i + 1] > 225 / 255).float() for i in range(3)]
    onehot = torch.cat([r * g * b, r * (1 - g) * (1 - b), (1 - r) * g * (1 - b), (1 - r) * (1 - g) * b,
                        r * g * (1 - b), r * (1 - g) * b, (1 - r) * g * b], dim=1)
    onehot = F.interpolate(onehot, size=latent_size(x.shape[2], x.shape[3]), mode="area")
    frames = (onehot.shape[0] - 1) // 4 + 1
    padded = torch.cat([onehot[:1].repeat(4, 1, 1, 1), onehot[1:]], dim=0)
    return padded.view(frames, 28, *onehot.shape[2:]).permute(1, 0, 2, 3)


def random_colour_video(frames: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    palette = np.array([(0, 0, 0), (255, 255, 255), RED, GREEN, BLUE, YELLOW, MAGENTA, CYAN], np.uint8)
    blocks = rng.integers(0, len(palette), (frames, h // 4, w // 4))
    video = palette[blocks].repeat(4, axis=1).repeat(4, axis=2)
    video[:, 5:9, 5:9] = rng.integers(200, 256, (frames, 4, 4, 3))  # values around the 225 threshold
    return video


@pytest.mark.parametrize("h,w", [(64, 96), (56, 40), (50, 70)])
def test_28_channels_match_the_documented_algorithm(h, w):
    video = random_colour_video(9, h, w)
    assert torch.equal(driving_mask28(video), documented_28ch(video, half=True))
    assert torch.equal(reference_mask28(video[0]), documented_28ch(video[:1], half=False))
    as_float = torch.from_numpy(video.astype(np.float32) / 255.0)  # a ComfyUI IMAGE gives the same result
    assert torch.equal(driving_mask28(as_float), driving_mask28(video))


def test_channel_is_seven_times_subframe_plus_colour():
    video = np.zeros((5, 16, 16, 3), np.uint8)
    video[0] = RED  # frame 0 fills sub-frames 0..3 of latent frame 0
    video[3] = BLUE  # latent frame 1 covers pixel frames 1..4; frame 3 is its sub-frame 2
    video[4] = 255  # white switch in sub-frame 3
    m = reference_mask28(video[:1])
    assert m.shape == (28, 1, 2, 2) and [int(c) for c in torch.nonzero(m[:, 0, 0, 0])] == [1, 8, 15, 22]
    d = driving_mask28(video)
    assert d.shape == (28, 2, 1, 1)
    assert [int(c) for c in torch.nonzero(d[:, 1, 0, 0])] == [7 * 2 + 3, 7 * 3 + 0]
    assert to_native_layout(d).shape == (1, 2, 28, 1, 1) and to_native_layout(d)[0, 1, 17, 0, 0] == 1


def test_threshold_is_strictly_above_225():
    image = np.zeros((1, 8, 16, 3), np.uint8)
    image[:, :, :8] = (226, 0, 0)
    image[:, :, 8:] = (225, 0, 0)
    m = reference_mask28(image)
    assert m[1, 0, 0, 0] == 1.0 and m[1, 0, 0, 1] == 0.0


def test_blended_edges_of_the_halved_driving_mask_are_no_class():
    video = np.zeros((1, 32, 32, 3), np.uint8)
    video[:, :, :15] = GREEN  # the 2x2 block straddling column 15/16 averages to half green
    d = driving_mask28(video)
    assert d[2, 0, 0, 0] == pytest.approx(7 / 8)  # 7 of the 8 half-res columns in the cell are green


def test_frame_count_must_be_4k_plus_1():
    with pytest.raises(InputError, match="4k\\+1"):
        driving_mask28(np.zeros((8, 16, 16, 3), np.uint8))


def _two_people() -> tuple[IdentityMasks, PoseSequence, IdentityMap]:
    masks = np.zeros((1, 2, 16, 16), np.uint8)
    masks[0, 0, 2:10, 2:10] = 1
    masks[0, 1, 6:14, 6:14] = 1
    kp = np.zeros((1, 2, 133, 3), np.float32)
    kp[0, 0, :, :] = (5, 5, 1)
    kp[0, 1, :, :] = (10, 10, 1)  # lower in the image: nearer
    # track 3 -> slot 4 (cyan), track 7 -> slot 1 (red)
    return IdentityMasks(masks, (7, 3)), PoseSequence(kp, (7, 3), 16, 16), IdentityMap((3, 7), (4, 1))


def test_colour_mask_video_uses_slot_colours_nearer_on_top_and_mode_background():
    masks, poses, identity = _two_people()
    video = colour_mask_video(masks, identity, poses, "animation")
    assert tuple(video[0, 3, 3]) == RED and tuple(video[0, 8, 8]) == CYAN and tuple(video[0, 15, 0]) == (0, 0, 0)
    replaced = colour_mask_video(masks, identity, poses, "replacement")
    assert tuple(replaced[0, 15, 0]) == (255, 255, 255) and tuple(replaced[0, 8, 8]) == CYAN


def test_slots_use_the_official_identity_colour_order():
    """SCAIL-Pose track.py / native SCAIL2ColoredMask: identity 1..6 = blue, red, green, magenta, cyan, yellow."""
    assert SLOT_RGB == (BLUE, RED, GREEN, MAGENTA, CYAN, YELLOW)
    one_each = np.zeros((6, 2, 12), np.uint8)
    for k in range(6):
        one_each[k, :, 2 * k: 2 * k + 2] = 1
    image = slot_colour_image(one_each, list(range(6)))
    assert [tuple(image[0, 2 * k]) for k in range(6)] == [BLUE, RED, GREEN, MAGENTA, CYAN, YELLOW]


@pytest.mark.parametrize("mode, background", [("animation", (255, 255, 255)), ("replacement", (0, 0, 0))])
def test_reference_masks_use_the_official_background_per_mode(mode, background):
    masks, _, _ = _two_people()
    image = slot_colour_image(masks.masks[0], [1, 4], reference_background(mode))
    assert tuple(image[15, 0]) == background and tuple(image[3, 3]) == RED
    ref28 = reference_mask28(image)
    assert bool(ref28[0::7].any()) == (mode == "animation")  # the white "keep this environment" switch


def test_binding_slots_checks_mode_against_background():
    masks, poses, identity = _two_people()
    video = np.repeat(colour_mask_video(masks, identity, poses, "replacement"), 5, axis=0)
    ref = slot_colour_image(masks.masks[0], [1, 4], reference_background("replacement"))
    slots = binding_slots(video, ref, "replacement")
    assert slots.reference.shape == (28, 1, 2, 2) and slots.driving.shape == (28, 2, 1, 1)
    assert slots.video_mask().shape == (28, 2, 2, 2) and not slots.video_mask().any()
    with pytest.raises(InputError, match="white"):
        binding_slots(video, ref, "animation")
    with pytest.raises(InputError, match="reference_image_mask"):
        binding_slots(video, np.zeros((32, 32, 3), np.uint8), "replacement")


def test_a_reference_mask_on_the_wrong_background_is_refused():
    masks, poses, identity = _two_people()
    drive = np.repeat(colour_mask_video(masks, identity, poses, "animation"), 5, axis=0)
    black_ref = slot_colour_image(masks.masks[0], [1, 4], reference_background("replacement"))
    with pytest.raises(InputError, match="reference_image_mask.*white background"):
        binding_slots(drive, black_ref, "animation")
    white_ref = slot_colour_image(masks.masks[0], [1, 4], reference_background("animation"))
    assert binding_slots(drive, white_ref, "animation").reference[0].sum() > 0


@pytest.mark.parametrize("mode", ["animation", "replacement"])
def test_direct_28_channels_equal_rendering_the_colour_video_first(mode):
    rng = np.random.default_rng(4)
    masks = (rng.random((5, 3, 32, 48)) > 0.6).astype(np.uint8)
    kp = np.zeros((5, 3, 133, 3), np.float32)
    kp[..., :2] = rng.uniform(0, 32, (5, 3, 1, 2))
    kp[..., 2] = 1.0
    poses = PoseSequence(kp, (0, 1, 2), 48, 32)
    identity = IdentityMap((0, 1, 2), (5, 3, 0))
    video = colour_mask_video(IdentityMasks(masks, (0, 1, 2)), identity, poses, mode)
    direct = driving_mask28_from_masks(IdentityMasks(masks, (0, 1, 2)), identity, poses, mode)
    assert torch.equal(direct, driving_mask28(video))


def test_a_clip_without_people_gives_background_only():
    poses = PoseSequence(np.zeros((5, 0, 133, 3), np.float32), (), 16, 16)
    masks = IdentityMasks(np.zeros((5, 0, 16, 16), np.uint8), ())
    identity = IdentityMap((), ())
    assert (colour_mask_video(masks, identity, poses, "replacement") == 255).all()
    assert driving_mask28_from_masks(masks, identity, poses, "replacement")[0::7].all()  # switch on everywhere


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
def test_background_checks_read_torch_masks_of_any_dtype(dtype):
    from choreograph.core.conditioning.binding_slots import check_background, check_reference_background

    black = torch.zeros(33, 16, 16, 3)
    black[:, 4:12, 4:12] = torch.tensor(SLOT_RGB[0], dtype=torch.float32) / 255
    white = 1 - black
    scale = 255 if dtype == torch.uint8 else 1
    as_dtype = lambda x: (x * scale).to(dtype)  # noqa: E731
    check_background(as_dtype(black), "animation", "pose_video_mask")
    check_background(as_dtype(white), "replacement", "pose_video_mask")
    check_reference_background(as_dtype(white[0]), "animation")
    with pytest.raises(InputError, match="pose_video_mask"):
        check_background(as_dtype(white), "animation", "pose_video_mask")
    with pytest.raises(InputError, match="reference_image_mask"):
        check_reference_background(as_dtype(black[:1]), "animation")
