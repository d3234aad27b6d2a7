"""`make_scene`: one synthetic clip with exact ground truth, and the `Scene` value that carries it.

Randomness is split per concern (cast, layout, paths, motion, background) from one seed, so the same seed gives
the same characters and reference whatever the choreography — handy for comparing choreographies on one cast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pose import wholebody as wb
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress
from .background import plain_background, textured_background
from .characters import Character, sample_cast
from .choreography import Camera, Paths, plan_paths, reference_depths, slot_x
from .config import SceneConfig
from .motion import IDLE_AMPLITUDE, dance_angles, neutral_angles
from .render import FrameTruth, Placed, empty_truth, render_frame
from .skeleton import JointAngles, body_keypoints

_FEET = [wb.LEFT_ANKLE, wb.RIGHT_ANKLE, *range(17, 23)]


@dataclass(frozen=True)
class Reference:
    """The reference image: every character of the cast standing in a neutral pose, left to right in ``order``.

    frame: ``(H, W, 3)`` uint8; poses: ``PoseSequence`` of 1 frame; masks: ``(P, H, W)`` bool visible masks;
    order: identity ids from left to right; face_masks / hand_masks: ``(P, H, W)`` bool visible face / hands.
    """

    frame: np.ndarray
    poses: PoseSequence
    masks: np.ndarray
    order: tuple[int, ...]
    face_masks: np.ndarray | None = None
    hand_masks: np.ndarray | None = None


@dataclass(frozen=True)
class Scene:
    """A rendered clip of P characters over T frames and its ground truth; person axis = identity id.

    frames ``(T, H, W, 3)`` uint8 RGB. poses: keypoints in pixels with confidence 1 where visible and 0 where
    occluded, out of frame or absent; ``track_ids`` are the identity ids ``0..P-1``; ``depth`` is the distance
    from the camera. visibility ``(T, P, 133)`` bool (same as confidence > 0). masks_full / masks_visible /
    face_masks / hand_masks ``(T, P, H, W)`` bool (face and hands are the visible parts). boxes / boxes_full
    ``(T, P, 4)`` float32 ``x0, y0, x1, y1`` (exclusive ends) of the visible / full mask, zeros when empty.
    present ``(T, P)``: some part of the character is inside the frame (possibly hidden behind someone).
    depth_order ``(T, P)``: 0 = nearest. swap_table: ``(frame, a, b)`` rows where ``a`` is left of ``b`` in the
    reference but right of it in that frame (both present), by pelvis position.
    """

    config: SceneConfig
    characters: tuple[Character, ...]
    frames: np.ndarray
    poses: PoseSequence
    visibility: np.ndarray
    masks_full: np.ndarray
    masks_visible: np.ndarray
    face_masks: np.ndarray
    hand_masks: np.ndarray
    boxes: np.ndarray
    boxes_full: np.ndarray
    present: np.ndarray
    depth_order: np.ndarray
    reference: Reference
    swap_table: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        t, p = self.poses.num_frames, self.poses.num_people
        h, w = self.config.height, self.config.width
        expected = {"frames": (t, h, w, 3), "visibility": (t, p, 133), "masks_full": (t, p, h, w),
                    "masks_visible": (t, p, h, w), "face_masks": (t, p, h, w), "hand_masks": (t, p, h, w),
                    "boxes": (t, p, 4), "boxes_full": (t, p, 4), "present": (t, p), "depth_order": (t, p)}
        for name, shape in expected.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"Scene.{name} must have shape {shape}; got {np.shape(getattr(self, name))}")
        if len(self.characters) != p or np.shape(self.reference.masks) != (p, h, w):
            raise ValueError(f"Scene has {p} pose columns but {len(self.characters)} characters and reference "
                             f"masks of shape {np.shape(self.reference.masks)}")

    @property
    def identities(self) -> tuple[int, ...]:
        return self.poses.track_ids

    @property
    def visible_labels(self) -> np.ndarray:
        """``(T, H, W)`` int16: the identity seen at each pixel, -1 for background (visible masks are disjoint)."""
        labels = np.full(self.frames.shape[:3], -1, np.int16)
        for p in range(self.poses.num_people):
            labels[self.masks_visible[:, p]] = self.identities[p]
        return labels

    @property
    def swapped_frames(self) -> np.ndarray:
        """``(T,)`` bool: the left-to-right order of present identities differs from the reference's."""
        flags = np.zeros(self.frames.shape[0], bool)
        flags[[row[0] for row in self.swap_table]] = True
        return flags

    @property
    def lookalike_pairs(self) -> tuple[tuple[int, int], ...]:
        return tuple((c.lookalike_of, c.identity) for c in self.characters if c.lookalike_of is not None)

    @property
    def visible_fraction(self) -> np.ndarray:
        """``(T, P)``: visible / full mask area (0 where absent) — 0 while fully occluded."""
        full = self.masks_full.sum(axis=(2, 3))
        return np.where(full > 0, self.masks_visible.sum(axis=(2, 3)) / np.maximum(full, 1), 0.0)


def _seeds(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]


def _place(body: np.ndarray, body_px: np.ndarray, x: np.ndarray, ground_y: np.ndarray) -> np.ndarray:
    """Scale body-unit keypoints ``(T, 133, 2)`` to pixels with the pelvis at ``x`` and feet on the ground."""
    scaled = body * body_px[:, None, None]
    lift = ground_y - scaled[:, _FEET, 1].max(axis=1)
    return scaled + np.stack([x, lift], axis=-1)[:, None, :]


def _body_px(camera: Camera, character: Character, size: float, z: np.ndarray) -> np.ndarray:
    return camera.body_height * character.height * size * camera.scale(z)


def _character_angles(config: SceneConfig, rng: np.random.Generator, paths: Paths, body_px: np.ndarray,
                      index: int) -> JointAngles:
    walk = np.diff(paths.x[:, index], prepend=paths.x[0, index]) / body_px
    amplitude = paths.dance[index] if paths.dance[index] > 0 else IDLE_AMPLITUDE * config.amplitude
    amplitude = 0.0 if paths.still[index] else amplitude
    return dance_angles(rng, config.frames, config.fps, amplitude, config.speed, walk, bool(paths.still[index]))


def _boxes(masks: np.ndarray) -> np.ndarray:
    """``(..., 4)`` float32 tight ``x0, y0, x1, y1`` (exclusive ends) of ``(..., H, W)`` masks; zeros if empty."""
    rows, cols = masks.any(axis=-1), masks.any(axis=-2)
    height, width = masks.shape[-2:]
    some = rows.any(axis=-1)
    y0, y1 = rows.argmax(-1), height - rows[..., ::-1].argmax(-1)
    x0, x1 = cols.argmax(-1), width - cols[..., ::-1].argmax(-1)
    return np.where(some[..., None], np.stack([x0, y0, x1, y1], -1), 0).astype(np.float32)


def _frame_view(truth: FrameTruth, t: int, count: int) -> FrameTruth:
    """The rows of frame ``t`` in a truth laid out as ``(T * P, ...)``: views, so rendering writes in place."""
    rows = slice(t * count, (t + 1) * count)
    return FrameTruth(truth.full[rows], truth.visible[rows], truth.face[rows], truth.hands[rows],
                      truth.keypoint_visible[rows])


def _background(config: SceneConfig, rng: np.random.Generator, camera: Camera) -> np.ndarray:
    if config.background == "textured":
        return textured_background(rng, config.height, config.width, camera.horizon)
    return plain_background(rng, config.height, config.width)


def _swap_table(order: tuple[int, ...], x: np.ndarray, present: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    rows = []
    for t in range(x.shape[0]):
        for k, a in enumerate(order):
            for b in order[k + 1:]:
                if present[t, a] and present[t, b] and x[t, a] > x[t, b]:
                    rows.append((t, int(a), int(b)))
    return tuple(rows)


def make_reference(config: SceneConfig, cast: tuple[Character, ...], order: tuple[int, ...], depths: np.ndarray,
                   sizes: np.ndarray, background: np.ndarray) -> Reference:
    """Render the whole cast in the neutral pose at the reference layout over ``background``."""
    camera = Camera.for_scene(config)
    placed: list[Placed | None] = []
    keypoints = np.zeros((1, len(cast), wb.NUM_KEYPOINTS, 3), np.float32)
    for c in cast:
        body = body_keypoints(neutral_angles(1), c.proportions)
        px = _body_px(camera, c, sizes[c.identity], depths[c.identity : c.identity + 1])
        x = np.array([slot_x(config, order.index(c.identity))])
        kp = _place(body, px, x, camera.ground_y(depths[c.identity : c.identity + 1]))[0]
        placed.append(Placed(c, kp, float(px[0])))
        keypoints[0, c.identity, :, :2] = kp
    frame = background.copy()
    truth = empty_truth(len(cast), config.height, config.width)
    render_frame(frame, placed, depths, truth)
    keypoints[0, :, :, 2] = truth.keypoint_visible
    poses = PoseSequence(keypoints, tuple(range(len(cast))), config.width, config.height, config.fps,
                         depths[None].astype(np.float32))
    return Reference(frame, poses, truth.visible, order, truth.face, truth.hands)


@dataclass(frozen=True)
class Motion:
    """What a choreography fixes before anyone is drawn: the reference layout and every character's path.

    keypoints ``(T, P, 133, 2)`` pixels (zeros while out of the scene); x (pelvis), in_scene, z, body_px ``(T, P)``;
    order: identities left to right in the reference; depths ``(P,)`` reference distances; sizes ``(P,)`` body-size
    multipliers. Rendering the same ``Motion`` with another cast of the same bodies gives the same poses.
    """

    keypoints: np.ndarray
    x: np.ndarray
    in_scene: np.ndarray
    z: np.ndarray
    body_px: np.ndarray
    order: tuple[int, ...]
    depths: np.ndarray
    sizes: np.ndarray


def plan_motion(config: SceneConfig, cast: tuple[Character, ...], layout_rng: np.random.Generator,
                path_rng: np.random.Generator, motion_rng: np.random.Generator) -> Motion:
    """Layout, paths and joint angles of ``cast`` for ``config`` (bodies matter: sizes, heights, proportions)."""
    frames_n, count = config.frames, config.characters
    order = tuple(int(i) for i in layout_rng.permutation(count))
    depths = reference_depths(layout_rng, count)
    camera = Camera.for_scene(config)
    paths = plan_paths(config, path_rng, order, depths, np.array([c.height for c in cast]))
    keypoints = np.zeros((frames_n, count, wb.NUM_KEYPOINTS, 2), np.float32)
    px_all = np.zeros((frames_n, count))
    for c in cast:
        i = c.identity
        px_all[:, i] = _body_px(camera, c, paths.size[i], paths.z[:, i])
        angles = _character_angles(config, motion_rng, paths, px_all[:, i], i)
        body = body_keypoints(angles, c.proportions)
        placed_kp = _place(body, px_all[:, i], paths.x[:, i], camera.ground_y(paths.z[:, i]))
        keypoints[:, i] = np.where(paths.in_scene[:, i, None, None], placed_kp, 0.0)
    return Motion(keypoints, paths.x, paths.in_scene, paths.z, px_all, order, depths, paths.size)


def scene_background(config: SceneConfig, rng: np.random.Generator) -> np.ndarray:
    """``(H, W, 3)`` uint8 background of ``config.background``'s kind drawn from ``rng``."""
    return _background(config, rng, Camera.for_scene(config))


def render_scene(config: SceneConfig, cast: tuple[Character, ...], motion: Motion, background: np.ndarray,
                 progress: Progress = no_progress, reference_background: np.ndarray | None = None) -> Scene:
    """Draw ``cast`` performing ``motion`` over ``background`` (the reference over ``reference_background``,
    default the same) and read the ground truth off the drawing."""
    frames_n, count = config.frames, config.characters
    keypoints = np.zeros((frames_n, count, wb.NUM_KEYPOINTS, 3), np.float32)
    keypoints[..., :2] = motion.keypoints
    truth = empty_truth(frames_n * count, config.height, config.width)
    frames = np.empty((frames_n, config.height, config.width, 3), np.uint8)
    for t in range(frames_n):
        placed = [Placed(c, motion.keypoints[t, c.identity], float(motion.body_px[t, c.identity]))
                  if motion.in_scene[t, c.identity] else None for c in cast]
        frames[t] = background
        render_frame(frames[t], placed, motion.z[t], _frame_view(truth, t, count))
        progress(t + 1, frames_n)
    out = {name: getattr(truth, name).reshape(frames_n, count, *getattr(truth, name).shape[1:])
           for name in ("full", "visible", "face", "hands", "keypoint_visible")}
    visibility = out["keypoint_visible"]
    keypoints[..., 2] = visibility
    present = out["full"].any(axis=(2, 3))
    poses = PoseSequence(keypoints, tuple(range(count)), config.width, config.height, config.fps,
                         motion.z.astype(np.float32))
    reference = make_reference(config, cast, motion.order, motion.depths, motion.sizes,
                               background if reference_background is None else reference_background)
    return Scene(
        config=config, characters=cast, frames=frames, poses=poses, visibility=visibility,
        masks_full=out["full"], masks_visible=out["visible"], face_masks=out["face"], hand_masks=out["hands"],
        boxes=_boxes(out["visible"]), boxes_full=_boxes(out["full"]), present=present,
        depth_order=np.argsort(np.argsort(motion.z, axis=1, kind="stable"), axis=1, kind="stable"),
        reference=reference, swap_table=_swap_table(motion.order, motion.x, present),
    )


def scene_generators(seed: int) -> dict[str, np.random.Generator]:
    """The independent random streams of a scene seed: cast, layout, paths, motion, background."""
    return dict(zip(("cast", "layout", "paths", "motion", "background"), _seeds(seed)))


def make_scene(config: SceneConfig, progress: Progress = no_progress) -> Scene:
    """Generate the clip described by ``config``; same config (seed included) → identical scene."""
    rngs = scene_generators(config.seed)
    cast = sample_cast(rngs["cast"], config.characters, config.lookalikes)
    motion = plan_motion(config, cast, rngs["layout"], rngs["paths"], rngs["motion"])
    background = scene_background(config, rngs["background"])
    return render_scene(config, cast, motion, background, progress)
