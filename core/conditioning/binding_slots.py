"""SCAIL-2 binding slots: colour-mask videos and their 28-channel latent-grid form (SPEC §3.2, §0.2).

Two products, one contract:
* **Colour-mask videos**, exactly what native ComfyUI ``WanSCAILToVideo`` reads as ``pose_video_mask`` /
  ``reference_image_mask`` (and what ``SCAIL2ColoredMask`` renders): each identity filled with its slot's pure
  colour (slot order blue, red, green, magenta, cyan, yellow, as the weights were trained). Backgrounds follow
  the official preprocessing (zai-org/SCAIL-Pose ``process_animation_aio.py`` / ``process_replacement.py``): in
  animation the driving mask is black and the reference mask WHITE (the environment switch: "keep the
  reference's scene"); in replacement the driving mask is white and the reference mask black.
* **28-channel masks** for our own SCAIL-2 sampler: threshold each colour channel at > 225/255, one-hot into 7
  base channels (white switch + 6 slots), area-pool to the latent grid (three ceil-halvings), then fold time so
  ``channel = 7·sub-frame + base`` with frame 0 repeated four times. Driving masks are first bilinearly halved,
  like the driving video, and only then thresholded, so blended edge pixels belong to no class.

Layouts: ours is SPEC's ``(28, F, h, w)``; ``to_native_layout`` gives native ComfyUI's ``(1, F, 28, h, w)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..render.masks import IdentityMasks, body_depth_ranks, check_frames, depth_ranks
from ..render.occlusion import back_to_front
from ..render.palette import SLOT_RGB
from .identity import IdentityMap
from .wan_grid import TEMPORAL_GROUP, fold_time, latent_size

MODES = ("animation", "replacement")
BASE_CHANNELS = 7  # white switch + 6 slot colours
MASK_CHANNELS = BASE_CHANNELS * TEMPORAL_GROUP
ON_THRESHOLD = 225.0 / 255.0  # a colour channel is "on" strictly above this (SPEC §3.2; native > 225/255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

# RGB on/off code (4R + 2G + B) -> base channel: white, red, green, blue, yellow, magenta, cyan; black -> none.
_CODE_TO_CHANNEL = {7: 0, 4: 1, 2: 2, 1: 3, 6: 4, 5: 5, 3: 6}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError("mode", f"unknown mode '{mode}'", "choose 'animation' or 'replacement'")
    return mode


def driving_background(mode: str) -> tuple[int, int, int]:
    """Background of the driving colour mask: black in animation, white (environment switch) in replacement."""
    return WHITE if check_mode(mode) == "replacement" else BLACK


def reference_background(mode: str) -> tuple[int, int, int]:
    """Background of the reference colour mask: white in animation (the reference's scene is kept), black in
    replacement (official SCAIL-Pose preprocessing and native ``SCAIL2ColoredMask``)."""
    return BLACK if check_mode(mode) == "replacement" else WHITE


def _ranked(masks: IdentityMasks, identity_map: IdentityMap, poses: PoseSequence
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth ranks per pixel, back-to-front order and slot per column, for the driving clip."""
    check_frames(masks, poses.num_frames, "masks")
    aligned = masks.select(poses.track_ids) if masks.track_ids != poses.track_ids else masks
    slots = identity_map.slots_for(poses)
    order = back_to_front(poses)
    return depth_ranks(aligned, order), order, slots


def colour_mask_video(masks: IdentityMasks, identity_map: IdentityMap, poses: PoseSequence,
                      mode: str = "animation") -> np.ndarray:
    """``(T, H, W, 3)`` uint8 driving colour mask: each identity in its slot colour, nearer over farther.

    Background is black in animation mode and white (the environment switch) in replacement mode.
    """
    background = driving_background(mode)
    ranks, order, slots = _ranked(masks, identity_map, poses)
    colours = np.array([SLOT_RGB[s] for s in slots], dtype=np.uint8).reshape(-1, 3)
    out = np.empty(ranks.shape + (3,), dtype=np.uint8)
    lut = np.zeros((256, 1, 3), dtype=np.uint8)
    lut[0, 0] = background
    for t in range(ranks.shape[0]):
        lut[1 : 1 + len(slots), 0] = colours[order[t]]
        out[t] = cv2.LUT(cv2.merge([ranks[t]] * 3), lut)  # a table lookup is ~6x faster than fancy indexing
    return out


def _rgb_code(rgb: tuple[int, int, int]) -> int:
    return (rgb[0] > 225) * 4 + (rgb[1] > 225) * 2 + int(rgb[2] > 225)


def driving_mask28_from_masks(masks: IdentityMasks, identity_map: IdentityMap, poses: PoseSequence,
                              mode: str = "animation") -> torch.Tensor:
    """``driving_mask28(colour_mask_video(...))`` without drawing the video, for even frame sizes.

    A pure-colour video's channels are 0 or 255, so a halved pixel's channel is on exactly when all four source
    pixels have it on: the halved colour code is the bitwise AND of the four codes. Frames are ranked, coded and
    pooled ``STREAM_FRAMES`` at a time, so nothing but the small pooled result is added to the masks' memory.
    """
    check_frames(masks, poses.num_frames, "masks")
    aligned = masks.select(poses.track_ids) if masks.track_ids != poses.track_ids else masks
    if aligned.masks.shape[2] % 2 or aligned.masks.shape[3] % 2:
        return driving_mask28(colour_mask_video(masks, identity_map, poses, mode))

    def ranks(start: int, stop: int, order: np.ndarray) -> np.ndarray:
        return depth_ranks(IdentityMasks(aligned.masks[start:stop], aligned.track_ids), order)

    return _pooled_in_chunks(poses, identity_map, mode, ranks, STREAM_FRAMES)


STREAM_FRAMES = 16  # frames ranked, coded and pooled at a time on the way to the 28-channel masks


def driving_mask28_from_poses(poses: PoseSequence, identity_map: IdentityMap, width: int, height: int,
                              mode: str = "animation", chunk: int = STREAM_FRAMES) -> torch.Tensor:
    """``driving_mask28_from_masks(masks_from_poses(poses, width, height), ...)`` in memory flat in frames and
    people: ``chunk`` frames at a time, each frame's bodies drawn straight into one depth-rank frame
    (``body_depth_ranks``), halved, coded and pooled to the latent grid before the next chunk is drawn. Only the
    pooled ``(T, 7, h, w)`` coverage (1/36 of a frame's pixels, as float32) grows with the clip. Even sizes only.
    """
    if height % 2 or width % 2:
        raise InputError("size", f"{width}x{height} is odd", "use even frame sizes (every generation size is)")

    def ranks(start: int, stop: int, order: np.ndarray) -> np.ndarray:
        return body_depth_ranks(poses.frames(start, stop), width, height, order)

    return _pooled_in_chunks(poses, identity_map, mode, ranks, chunk)


def _pooled_in_chunks(poses: PoseSequence, identity_map: IdentityMap, mode: str, ranks, chunk: int
                      ) -> torch.Tensor:
    """Fold the pooled channels of ``ranks(start, stop, order)`` computed ``chunk`` frames at a time."""
    slots = identity_map.slots_for(poses)
    order = back_to_front(poses)
    pooled = []
    for start in range(0, poses.num_frames, max(1, chunk)):
        stop = min(start + max(1, chunk), poses.num_frames)
        part = order[start:stop]
        pooled.append(pooled_channels(_halved_slot_codes(ranks(start, stop, part), part, slots, mode)))
    return fold_time(torch.cat(pooled), "masks")


def _halved_slot_codes(ranks: np.ndarray, order: np.ndarray, slots: list[int], mode: str) -> np.ndarray:
    """``(T, H/2, W/2)`` halved colour codes of the colour-mask video that depth ranks ``(T, H, W)`` paint."""
    background = _rgb_code(driving_background(mode))
    slot_codes = np.array([_rgb_code(SLOT_RGB[s]) for s in slots], dtype=np.uint8)
    lut = np.zeros(256, dtype=np.uint8)
    lut[0] = background
    t_count, h, w = ranks.shape
    codes = np.empty((t_count, h // 2, w // 2), dtype=np.uint8)
    for t in range(t_count):
        lut[1 : 1 + len(slots)] = slot_codes[order[t]]
        full = cv2.LUT(ranks[t], lut)
        codes[t] = full[0::2, 0::2] & full[0::2, 1::2] & full[1::2, 0::2] & full[1::2, 1::2]
    return codes


def slot_colour_image(masks: np.ndarray, slots: list[int] | tuple[int, ...],
                      background: tuple[int, int, int] = BLACK) -> np.ndarray:
    """``(H, W, 3)`` uint8 image with ``masks[i]`` (``(N, H, W)``) in ``SLOT_RGB[slots[i]]`` on ``background``;
    later masks win overlaps. A reference mask takes ``reference_background(mode)``, a driving frame
    ``driving_background(mode)``."""
    m = np.asarray(masks) > 0.5
    out = np.empty(m.shape[1:] + (3,), dtype=np.uint8)
    out[...] = background
    for plane, slot in zip(m, slots):
        out[plane] = SLOT_RGB[slot]
    return out


def as_colour_video(video: np.ndarray | torch.Tensor, input_name: str) -> np.ndarray:
    """Accept ``(T, H, W, C≥3)`` or one ``(H, W, C)`` image, uint8 or float 0..1 (numpy or torch)."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu()
        v = (video if video.dtype == torch.uint8 else video.float()).numpy()  # bf16/fp16 have no numpy dtype
    else:
        v = np.asarray(video)
    if v.ndim == 3:
        v = v[None]
    if v.ndim != 4 or v.shape[-1] < 3:
        raise InputError(input_name, f"shape {tuple(v.shape)} is not an RGB video (frames, H, W, 3)",
                         "connect a colour-mask IMAGE")
    v = v[..., :3]
    return v if v.dtype == np.uint8 else v.astype(np.float32, copy=False)


def _on(values: np.ndarray) -> np.ndarray:
    """A colour channel is on strictly above 225/255 (uint8: above 225)."""
    return values > (225 if values.dtype == np.uint8 else ON_THRESHOLD)


def _codes(on: np.ndarray) -> np.ndarray:
    """``(..., 3)`` bool -> ``(...)`` uint8 code ``4R + 2G + B``."""
    return (on[..., 0].astype(np.uint8) << 2) | (on[..., 1].astype(np.uint8) << 1) | on[..., 2].astype(np.uint8)


def _halved_on(frame: np.ndarray) -> np.ndarray:
    """On-test of the 2x2 box mean of one frame. OpenCV's area resize at an exact factor 2 is that mean, and in
    float32 it is exact for 8-bit values (sums of quarters of integers), so uint8 input matches the float rule."""
    h, w = frame.shape[:2]
    scale = 255.0 if frame.dtype == np.uint8 else 1.0
    mean = cv2.resize(frame.astype(np.float32, copy=False), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return mean > ON_THRESHOLD * scale


def colour_codes(video: np.ndarray, halve: bool = False, downsample: str = "bilinear") -> np.ndarray:
    """``(T, H', W')`` uint8 colour code per pixel after thresholding, at full or half resolution.

    Halving even-sized frames by 0.5 is the same 2×2 mean for bilinear (``align_corners=False``) and area
    resizing, so it is computed exactly on integer sums; odd sizes go through torch's resize.
    """
    if not halve:
        return _codes(_on(video))
    if downsample not in ("bilinear", "area"):
        raise InputError("downsample", f"unknown method '{downsample}'", "choose 'bilinear' or 'area'")
    t, h, w, _ = video.shape
    if h % 2 == 0 and w % 2 == 0:
        codes = np.empty((t, h // 2, w // 2), dtype=np.uint8)
        for i in range(t):
            codes[i] = _codes(_halved_on(video[i]))
        return codes
    chw = torch.from_numpy(np.ascontiguousarray(video)).float().permute(0, 3, 1, 2)
    if video.dtype == np.uint8:
        chw = chw / 255.0
    mode = {"mode": "bilinear", "align_corners": False} if downsample == "bilinear" else {"mode": "area"}
    small = F.interpolate(chw, size=(h // 2, w // 2), **mode).permute(0, 2, 3, 1).numpy()
    return _codes(small > ON_THRESHOLD)


# Base channel c (white, red, green, blue, yellow, magenta, cyan) <- colour code.
_CHANNEL_CODES = np.array([code for code, _ in sorted(_CODE_TO_CHANNEL.items(), key=lambda kv: kv[1])])


def pooled_channels(codes: np.ndarray) -> torch.Tensor:
    """``(T, H, W)`` colour codes -> ``(T, 7, h, w)`` float32 class coverage on the latent grid ("area" pooling).

    When the frame divides into 8×8 cells (every generation size does) the coverage is a bincount of exact
    counts; other sizes use torch's area interpolation, which is what the reference implementations call.
    """
    t, height, width = codes.shape
    grid = latent_size(height, width)
    if height % 8 or width % 8:
        onehot = torch.from_numpy(codes[:, None] == _CHANNEL_CODES[None, :, None, None]).float()
        return F.interpolate(onehot, size=grid, mode="area")
    cells = grid[0] * grid[1]
    cell = (np.arange(height)[:, None] // 8 * grid[1] + np.arange(width)[None, :] // 8).astype(np.int64) * 8
    index = (np.arange(t, dtype=np.int64)[:, None, None] * cells * 8 + cell[None]) + codes
    counts = np.bincount(index.ravel(), minlength=t * cells * 8).reshape(t, grid[0], grid[1], 8)
    coverage = counts[..., _CHANNEL_CODES].astype(np.float32) / 64.0
    return torch.from_numpy(np.ascontiguousarray(coverage.transpose(0, 3, 1, 2)))


def driving_mask28(video: np.ndarray | torch.Tensor, downsample: str = "bilinear",
                   input_name: str = "pose_video_mask") -> torch.Tensor:
    """``(28, F, h/2, w/2)`` from the driving colour-mask video (``T = 4k+1`` frames)."""
    codes = colour_codes(as_colour_video(video, input_name), halve=True, downsample=downsample)
    return fold_time(pooled_channels(codes), input_name)


def reference_mask28(image: np.ndarray | torch.Tensor, input_name: str = "reference_image_mask") -> torch.Tensor:
    """``(28, 1, h, w)`` from the single-frame reference colour mask (frame 0 repeated four times)."""
    codes = colour_codes(as_colour_video(image, input_name)[:1])
    return fold_time(pooled_channels(codes), input_name)


def to_native_layout(mask28: torch.Tensor) -> torch.Tensor:
    """SPEC ``(28, F, h, w)`` -> native ComfyUI's ``(1, F, 28, h, w)`` (``driving_mask_28ch`` / ``ref_mask_28ch``)."""
    return mask28.permute(1, 0, 2, 3).unsqueeze(0)


def _white_fraction(video: np.ndarray | torch.Tensor, input_name: str) -> float:
    """Share of white pixels in at most ~8 evenly spaced frames, sampled before any conversion, so a long video
    (uint8 or float, numpy or torch) is never copied whole for this check."""
    frames = video if video.ndim == 4 else video[None]
    sample = as_colour_video(frames[:: max(1, len(frames) // 8)], input_name)
    return float((colour_codes(sample) == 7).mean())


def check_background(video: np.ndarray | torch.Tensor, mode: str, input_name: str) -> None:
    """Refuse a driving colour-mask video whose background contradicts the mode (a silent conditioning error)."""
    white = _white_fraction(video, input_name)
    if mode == "animation" and white > 0.5:
        raise InputError(input_name, f"{white:.0%} of it is white (the replacement-mode environment switch)",
                         "render the mask in animation mode (black background) or set mode to replacement")
    if mode == "replacement" and white == 0.0:
        raise InputError(input_name, "has no white background, so the environment switch is never on",
                         "render the mask in replacement mode (white background) or set mode to animation")


def check_reference_background(image: np.ndarray | torch.Tensor, mode: str,
                               input_name: str = "reference_image_mask") -> None:
    """Refuse a reference colour mask whose background contradicts the mode: SCAIL-2 was trained with a white
    reference background in animation (keep the reference's scene) and a black one in replacement."""
    white = _white_fraction(image, input_name)
    if mode == "animation" and white == 0.0:
        raise InputError(input_name, "has no white background; in animation mode SCAIL-2 expects the reference "
                         "mask on white (official convention), black tells it to drop the reference's scene",
                         "render the reference mask in animation mode (white background) or set mode to "
                         "replacement")
    if mode == "replacement" and white > 0.5:
        raise InputError(input_name, f"{white:.0%} of it is white; in replacement mode the reference mask is on "
                         "black", "render the reference mask in replacement mode or set mode to animation")


@dataclass(frozen=True)
class BindingSlots:
    """The mask tensors one SCAIL-2 generation needs (SPEC §3.1–3.2), in SPEC layout.

    ``reference``: ``(28, 1, h, w)``; ``driving``: ``(28, F, h/2, w/2)``; the denoised video tokens carry an
    all-zero mask (``video_mask``). ``mode`` decides the RoPE shifts and whether the switch channel may be on.
    """

    reference: torch.Tensor
    driving: torch.Tensor
    mode: str

    def __post_init__(self) -> None:
        check_mode(self.mode)
        if self.reference.ndim != 4 or self.reference.shape[:2] != (MASK_CHANNELS, 1):
            raise ValueError(f"BindingSlots.reference must be (28, 1, h, w); got {tuple(self.reference.shape)}")
        if self.driving.ndim != 4 or self.driving.shape[0] != MASK_CHANNELS:
            raise ValueError(f"BindingSlots.driving must be (28, F, h, w); got {tuple(self.driving.shape)}")
        h, w = self.reference.shape[2:]
        dh, dw = self.driving.shape[2:]
        if abs(2 * dh - h) > 1 or abs(2 * dw - w) > 1:
            raise ValueError(f"driving grid {(dh, dw)} is not half of the reference grid {(h, w)}; "
                             "render both masks for the same width and height")

    @property
    def latent_frames(self) -> int:
        return self.driving.shape[1]

    def video_mask(self) -> torch.Tensor:
        """``(28, F, h, w)`` zeros for the denoised tokens."""
        return torch.zeros(MASK_CHANNELS, self.latent_frames, *self.reference.shape[2:])


def binding_slots(driving_video: np.ndarray | torch.Tensor, reference_image: np.ndarray | torch.Tensor,
                  mode: str, downsample: str = "bilinear") -> BindingSlots:
    """Both 28-channel masks from the two colour masks, after checking they agree with ``mode``."""
    drive = as_colour_video(driving_video, "pose_video_mask")
    check_background(drive, check_mode(mode), "pose_video_mask")
    ref = as_colour_video(reference_image, "reference_image_mask")
    check_reference_background(ref, mode)
    if (ref.shape[1] // 2, ref.shape[2] // 2) != (drive.shape[1] // 2, drive.shape[2] // 2):
        raise InputError("reference_image_mask", f"is {ref.shape[2]}x{ref.shape[1]} but the driving mask is "
                         f"{drive.shape[2]}x{drive.shape[1]}", "render both masks at the generation size")
    return BindingSlots(reference_mask28(ref), driving_mask28(drive, downsample), mode)
