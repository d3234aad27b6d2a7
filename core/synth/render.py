"""Drawing characters as filled body shapes, back to front, and reading the ground truth off the drawing.

Each character is first drawn into its own label image (one small integer per body part: skin, top, bottom, hair,
shoes, face, hands, facial features), so its full mask, face mask and hand mask are exact by construction. The
frame is then composed far-to-near from those labels, and what is visible of each character is its full mask
minus the full masks of everyone nearer. A keypoint is visible when it is inside the frame, no nearer character
covers it, and it lies on or next to the character's own visible pixels. Everything is integer-pixel OpenCV
filling (fixed point, 4 fractional bits) confined to each character's box, so it is fast and exactly
reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..pose import wholebody as wb
from .characters import Character
from .skeleton import head_centre

SKIN, TOP, BOTTOM, HAIR, SHOES, FACE, HAND, FEATURE = range(1, 9)
_SHIFT = 4
_ONE = 1 << _SHIFT
_PATTERN_PERIOD = 0.05  # body heights
_KNEE_TAPER, _ANKLE_TAPER = 0.65, 0.5
_CROTCH_DROP = 0.08  # body heights below the hip joints where the legs part
_KEYPOINT_REACH = 0.02  # body heights: how far outside its own visible pixels a keypoint still counts as seen


@dataclass(frozen=True)
class Placed:
    """One character in one frame: pixel keypoints ``(133, 2)``, pixel body height and pelvis position."""

    character: Character
    keypoints: np.ndarray
    body_px: float

    @property
    def pelvis(self) -> np.ndarray:
        return (self.keypoints[wb.LEFT_HIP] + self.keypoints[wb.RIGHT_HIP]) / 2


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one rendered frame for P characters (absent ones are all-False)."""

    full: np.ndarray  # (P, H, W) bool, whole silhouette ignoring occluders
    visible: np.ndarray  # (P, H, W) bool, what the camera sees of each character
    face: np.ndarray  # (P, H, W) bool, visible face (skin and features)
    hands: np.ndarray  # (P, H, W) bool, visible hands
    keypoint_visible: np.ndarray  # (P, 133) bool


def _fx(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * _ONE).astype(np.int32)


def _line(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, label: int, thickness: float) -> None:
    cv2.line(canvas, _fx(a), _fx(b), label, max(1, int(round(thickness))), cv2.LINE_8, _SHIFT)


def _poly(canvas: np.ndarray, points: np.ndarray, label: int) -> None:
    cv2.fillConvexPoly(canvas, _fx(points), label, cv2.LINE_8, _SHIFT)


def _ellipse(canvas: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle_deg: float, label: int,
             start: float = 0, end: float = 360) -> None:
    ax = (max(1, int(round(axes[0] * _ONE))), max(1, int(round(axes[1] * _ONE))))
    cv2.ellipse(canvas, _fx(centre), ax, angle_deg, start, end, label, -1, cv2.LINE_8, _SHIFT)


def _head_geometry(p: Placed) -> tuple[np.ndarray, float, float]:
    """Head centre, radius in pixels, and tilt in degrees (from the ear line)."""
    kp = p.keypoints
    ears = kp[wb.LEFT_EAR] - kp[wb.RIGHT_EAR]
    return head_centre(kp), p.character.proportions.head_radius * p.body_px, float(np.degrees(np.arctan2(ears[1], ears[0])))


def _tapered(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, width_a: float, width_b: float, label: int) -> None:
    """A limb segment as a trapezoid from ``a`` to ``b`` with a round joint at ``b``."""
    along = b - a
    normal = np.array([-along[1], along[0]]) / max(float(np.linalg.norm(along)), 1e-6)
    _poly(canvas, np.array([a + normal * width_a / 2, b + normal * width_b / 2, b - normal * width_b / 2,
                            a - normal * width_a / 2]), label)
    _ellipse(canvas, b, (width_b / 2, width_b / 2), 0, label)


def _draw_legs(canvas: np.ndarray, p: Placed) -> None:
    kp, c, w = p.keypoints, p.character, p.body_px
    thigh_w = c.proportions.leg_width * w
    knee_w, ankle_w = _KNEE_TAPER * thigh_w, _ANKLE_TAPER * thigh_w
    thigh_label = SKIN if c.lower == "skirt" else BOTTOM
    shin_label = BOTTOM if c.lower == "trousers" else SKIN
    for hip, knee, ankle, foot in ((wb.LEFT_HIP, wb.LEFT_KNEE, wb.LEFT_ANKLE, slice(17, 20)),
                                   (wb.RIGHT_HIP, wb.RIGHT_KNEE, wb.RIGHT_ANKLE, slice(20, 23))):
        _tapered(canvas, kp[hip], kp[knee], thigh_w, knee_w, thigh_label)
        _tapered(canvas, kp[knee], kp[ankle], knee_w, ankle_w, shin_label)
        toes = kp[foot][:2]
        _ellipse(canvas, (kp[ankle] + toes.mean(0)) / 2, (0.045 * w, 0.028 * w), 0, SHOES)
    if c.lower == "skirt":
        _draw_skirt(canvas, p)


def _draw_skirt(canvas: np.ndarray, p: Placed) -> None:
    kp, w = p.keypoints, p.body_px
    half = p.character.proportions.waist_width * w / 2
    pelvis = p.pelvis
    knees_y = max(kp[wb.LEFT_KNEE][1], kp[wb.RIGHT_KNEE][1])
    hem = np.array([[pelvis[0] + 1.6 * half, knees_y], [pelvis[0] - 1.6 * half, knees_y]])
    top = np.array([[pelvis[0] - half, pelvis[1] - 0.03 * w], [pelvis[0] + half, pelvis[1] - 0.03 * w]])
    _poly(canvas, np.concatenate([top, hem]), BOTTOM)


def _draw_torso(canvas: np.ndarray, p: Placed) -> None:
    kp, pr, w = p.keypoints, p.character.proportions, p.body_px
    sl, sr, hl, hr = kp[wb.LEFT_SHOULDER], kp[wb.RIGHT_SHOULDER], kp[wb.LEFT_HIP], kp[wb.RIGHT_HIP]
    across = (sl - sr) / max(np.linalg.norm(sl - sr), 1e-6)
    down = np.array([-across[1], across[0]])
    pad = pr.limb_width * w / 2
    waist = pr.waist_width * w / 2
    pelvis = (hl + hr) / 2
    quad = np.array([sr - across * pad - down * pad * 0.5, sl + across * pad - down * pad * 0.5,
                     pelvis + across * waist + down * 0.02 * w, pelvis - across * waist + down * 0.02 * w])
    if p.character.lower != "skirt":
        crotch = pelvis + down * _CROTCH_DROP * w
        _poly(canvas, np.array([hr - across * pad, hl + across * pad, hl + down * 0.03 * w, crotch,
                                hr + down * 0.03 * w]), BOTTOM)
    _poly(canvas, quad, TOP)
    neck = (sl + sr) / 2
    head, _, _ = _head_geometry(p)
    _line(canvas, neck, head, SKIN, 0.05 * w)


def _draw_arms(canvas: np.ndarray, p: Placed) -> None:
    kp, c, w = p.keypoints, p.character, p.body_px
    arm = c.proportions.limb_width * w
    forearm_label = TOP if c.sleeves == "long" else SKIN
    for sh, el, wr, hand in ((wb.LEFT_SHOULDER, wb.LEFT_ELBOW, wb.LEFT_WRIST, wb.LEFT_HAND),
                             (wb.RIGHT_SHOULDER, wb.RIGHT_ELBOW, wb.RIGHT_WRIST, wb.RIGHT_HAND)):
        _line(canvas, kp[sh], kp[el], TOP, arm)
        _line(canvas, kp[el], kp[wr], forearm_label, arm * (1.0 if forearm_label == TOP else 0.8))
        hull = cv2.convexHull(_fx(kp[hand]))
        cv2.fillConvexPoly(canvas, hull, HAND, cv2.LINE_8, _SHIFT)


def _draw_head(canvas: np.ndarray, p: Placed) -> None:
    centre, r, tilt = _head_geometry(p)
    style = p.character.hair_style
    _ellipse(canvas, centre, (0.85 * r, r), tilt, FACE)
    if style != "bald":
        up = np.array([np.sin(np.radians(tilt)), -np.cos(np.radians(tilt))])
        _ellipse(canvas, centre + up * 0.3 * r, (0.95 * r, 0.78 * r), tilt, HAIR, 180, 360)  # cap above the brows
    if style == "bun":
        _ellipse(canvas, centre + np.array([0, -1.15 * r]), (0.45 * r, 0.4 * r), tilt, HAIR)
    if style == "spiky":
        for dx in (-0.6, 0.0, 0.6):
            base = centre + np.array([dx * r, -0.6 * r])
            _poly(canvas, np.array([base - [0.3 * r, 0], base + [0.3 * r, 0], base + [0.15 * dx * r, -0.8 * r]]),
                  HAIR)
    kp = p.keypoints
    face = kp[wb.FACE]
    for eye in (face[36:42], face[42:48]):
        _ellipse(canvas, eye.mean(0), (max(0.6, 0.12 * r), max(0.6, 0.08 * r * _openness(eye))), tilt, FEATURE)
    _poly(canvas, face[48:60], FEATURE)


def _openness(eye: np.ndarray) -> float:
    width = max(float(np.linalg.norm(eye[3] - eye[0])), 1e-6)
    return float(np.clip(np.linalg.norm(eye[1] - eye[5]) / width / 0.4, 0.1, 1.5))


def _draw_long_hair(canvas: np.ndarray, p: Placed) -> None:
    if p.character.hair_style == "long":
        centre, r, _ = _head_geometry(p)
        _poly(canvas, centre + np.array([[-1.05, -0.2], [1.05, -0.2], [1.2, 2.3], [-1.2, 2.3]]) * r, HAIR)


def draw_labels(canvas: np.ndarray, p: Placed) -> None:
    """Draw one character's part labels into a zeroed uint8 ``(H, W)`` canvas, back parts first."""
    _draw_long_hair(canvas, p)
    _draw_legs(canvas, p)
    _draw_torso(canvas, p)
    _draw_arms(canvas, p)
    _draw_head(canvas, p)


def colour_table(c: Character) -> np.ndarray:
    """``(9, 3)`` uint8: RGB of each part label (index 0 unused)."""
    feature = tuple(int(v * 0.35) for v in c.skin)
    return np.array([(0, 0, 0), c.skin, c.top, c.bottom, c.hair, c.shoes, c.skin, c.skin, feature], np.uint8)


def _pattern(c: Character, xs: np.ndarray, ys: np.ndarray, pelvis: np.ndarray, body_px: float) -> np.ndarray:
    """Bool per pixel: True where the top shows its secondary colour (pattern moves with the body)."""
    u = (xs - pelvis[0]) / (body_px * _PATTERN_PERIOD)
    v = (ys - pelvis[1]) / (body_px * _PATTERN_PERIOD)
    if c.pattern == "stripes":
        return np.floor(v).astype(int) % 2 == 1
    if c.pattern == "vstripes":
        return np.floor(u).astype(int) % 2 == 1
    if c.pattern == "checks":
        return (np.floor(u).astype(int) + np.floor(v).astype(int)) % 2 == 1
    if c.pattern == "dots":
        return (u - np.round(u)) ** 2 + (v - np.round(v)) ** 2 < 0.08
    return np.zeros(xs.shape, bool)


def _box(p: Placed, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Pixel box (y0, y1, x0, x1) that contains everything drawn for ``p``, clipped; None if off-frame."""
    margin = 0.3 * p.body_px
    lo, hi = p.keypoints.min(0) - margin, p.keypoints.max(0) + margin
    x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
    x1, y1 = min(width, int(np.ceil(hi[0])) + 1), min(height, int(np.ceil(hi[1])) + 1)
    return (y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None


def paint(frame: np.ndarray, labels: np.ndarray, p: Placed) -> None:
    """Paint ``p``'s labelled pixels onto ``frame`` (same shape as ``labels``, in place) in its colours and pattern."""
    ys, xs = np.nonzero(labels)
    if ys.size == 0:
        return
    part = labels[ys, xs]
    rgb = colour_table(p.character)[part]
    on_top = part == TOP
    if on_top.any():
        secondary = _pattern(p.character, xs[on_top], ys[on_top], p.pelvis, p.body_px)
        rgb[np.flatnonzero(on_top)[secondary]] = p.character.top_secondary
    frame[ys, xs] = rgb


def empty_truth(count: int, height: int, width: int) -> FrameTruth:
    shape = (count, height, width)
    return FrameTruth(np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool),
                      np.zeros((count, wb.NUM_KEYPOINTS), bool))


def render_frame(frame: np.ndarray, placed: list[Placed | None], depth: np.ndarray, out: FrameTruth) -> None:
    """Draw ``placed`` characters onto ``frame`` far to near by ``depth`` and write the truth into zeroed ``out``.

    Work is confined to each character's box, so cost grows with the characters' area, not with P × H × W.
    """
    height, width = frame.shape[:2]
    drawn: dict[int, tuple[tuple[int, int, int, int], np.ndarray]] = {}
    for i in np.argsort(-depth, kind="stable"):
        box = None if placed[i] is None else _box(placed[i], height, width)
        if box is None:
            continue
        y0, y1, x0, x1 = box
        local = Placed(placed[i].character, placed[i].keypoints - [x0, y0], placed[i].body_px)
        labels = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw_labels(labels, local)
        paint(frame[y0:y1, x0:x1], labels, local)
        drawn[int(i)] = (box, labels)
    covered = np.zeros((height, width), bool)
    for i in reversed(list(drawn)):  # near to far
        box, labels = drawn[i]
        y0, y1, x0, x1 = box
        full = labels > 0
        seen = full & ~covered[y0:y1, x0:x1]
        out.full[i, y0:y1, x0:x1] = full
        out.visible[i, y0:y1, x0:x1] = seen
        out.face[i, y0:y1, x0:x1] = seen & ((labels == FACE) | (labels == FEATURE))
        out.hands[i, y0:y1, x0:x1] = seen & (labels == HAND)
        out.keypoint_visible[i] = _keypoints_seen(placed[i], box, seen, covered)
        covered[y0:y1, x0:x1] |= full
    for i, p in enumerate(placed):
        if p is not None and i not in drawn:  # wholly outside the frame: nothing to see, nothing covering
            out.keypoint_visible[i] = False


def _keypoints_seen(p: Placed, box: tuple[int, int, int, int], seen: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """``(133,)``: in the frame, not behind anyone nearer, and next to a visible pixel of the character itself.

    The last condition matters for points on the silhouette's edge (ears, heels, finger tips): when the body is
    hidden they must not count as seen just because they fall a pixel outside the occluder.
    """
    height, width = covered.shape
    y0, _, x0, _ = box
    xs, ys = np.floor(p.keypoints[:, 0]).astype(int), np.floor(p.keypoints[:, 1]).astype(int)
    result = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    reach = max(1, int(round(_KEYPOINT_REACH * p.body_px)))
    near_own = cv2.dilate(seen.view(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    lx, ly = xs - x0, ys - y0
    local = result & (lx >= 0) & (lx < seen.shape[1]) & (ly >= 0) & (ly < seen.shape[0])
    result &= local
    result[local] = ~covered[ys[local], xs[local]] & (near_own[ly[local], lx[local]] > 0)
    return result
