"""Character slots (``CHOREO_CHARACTERS``): who each driving identity should look like.

Per identity: the reference crop and its mask, the binding slot (colour) taken from the identity map, and an
optional face embedding and prompt. All three samplers read this one value: ED's ReferenceNet and IMG (crops,
order), DanceTogether's MultiFace encoder (face embeddings in stream order, SPEC §2.3) and SCAIL-2 (reference
image and slot-coloured reference mask, SPEC §3.2). The slot always comes from the identity map, so a character
cannot drift to another colour than the skeleton and masks of the track it animates.

Pairing reference people with driving identities: both sides left to right by default (ED's convention), or
an explicit ``"driving_track:reference_id"`` mapping.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..render.masks import IdentityMasks, masks_from_poses, match_masks, split_union
from ..render.palette import SLOT_NAMES
from .binding_slots import reference_background, slot_colour_image
from .identity import IdentityMap, centroids, stream_order

FACE_EMBEDDING_DIM = 512  # ArcFace (antelopev2), SPEC §2.3


@dataclass(frozen=True)
class Character:
    """One driving identity's reference. ``crop`` ``(h, w, 3)`` float32 0..1 and ``mask`` ``(h, w)`` float32
    cut from the reference image at ``box`` (``x0, y0, x1, y1``, exclusive ends)."""

    track_id: int
    reference_id: int
    slot: int
    crop: np.ndarray
    mask: np.ndarray
    box: tuple[int, int, int, int]
    face_embedding: np.ndarray | None = field(default=None)
    prompt: str = ""

    def __post_init__(self) -> None:
        crop = np.asarray(self.crop, dtype=np.float32)
        mask = np.asarray(self.mask, dtype=np.float32)
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] == 0 or crop.shape[1] == 0:
            raise ValueError(f"Character {self.track_id}: crop must be a non-empty (h, w, 3) image; got {crop.shape}")
        if mask.shape != crop.shape[:2]:
            raise ValueError(f"Character {self.track_id}: mask {mask.shape} does not match crop {crop.shape[:2]}")
        if not (mask > 0.5).any():
            raise ValueError(f"Character {self.track_id}: mask is empty")
        object.__setattr__(self, "crop", crop)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "box", tuple(int(v) for v in self.box))
        if self.face_embedding is not None:
            emb = np.asarray(self.face_embedding, dtype=np.float32).reshape(-1)
            if emb.shape != (FACE_EMBEDDING_DIM,) or not np.all(np.isfinite(emb)):
                raise ValueError(f"Character {self.track_id}: face embedding must be {FACE_EMBEDDING_DIM} finite "
                                 f"values; got shape {emb.shape}")
            object.__setattr__(self, "face_embedding", emb)


@dataclass(frozen=True)
class CharacterSet:
    """All characters of a generation, in stream order (by slot), plus the reference image they were cut from.

    ``reference_masks`` ``(N, H, W)`` float32 are the characters' full-frame masks in ``characters`` order.
    """

    characters: tuple[Character, ...]
    reference_image: np.ndarray
    reference_masks: np.ndarray
    identity_map: IdentityMap

    def __post_init__(self) -> None:
        image = np.asarray(self.reference_image, dtype=np.float32)
        masks = np.asarray(self.reference_masks, dtype=np.float32)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"CharacterSet.reference_image must be (H, W, 3); got {image.shape}")
        if masks.shape != (len(self.characters),) + image.shape[:2]:
            raise ValueError(f"CharacterSet.reference_masks must be {(len(self.characters),) + image.shape[:2]}; "
                             f"got {masks.shape}")
        tracks = [c.track_id for c in self.characters]
        if len(set(tracks)) != len(tracks):
            raise ValueError(f"CharacterSet has two characters for one track: {tracks}")
        for c in self.characters:
            if self.identity_map.slot_of(c.track_id) != c.slot:
                raise ValueError(f"Character {c.track_id} has slot {c.slot} but the identity map says "
                                 f"{self.identity_map.slot_of(c.track_id)}")
        object.__setattr__(self, "reference_image", image)
        object.__setattr__(self, "reference_masks", masks)

    @property
    def track_ids(self) -> tuple[int, ...]:
        return tuple(c.track_id for c in self.characters)

    def by_track(self, track_id: int) -> Character:
        for c in self.characters:
            if c.track_id == track_id:
                return c
        raise KeyError(f"no character for track {track_id} (characters: {self.track_ids})")

    def reference_colour_mask(self, mode: str = "animation") -> np.ndarray:
        """``(H, W, 3)`` uint8 reference mask in slot colours (native ``reference_image_mask``) on the mode's
        reference background: white in animation, black in replacement."""
        return slot_colour_image(self.reference_masks, [c.slot for c in self.characters],
                                 reference_background(mode))

    def square_crops(self, size: int, background: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """``(N, size, size, 3)`` crops and ``(N, size, size)`` masks, each letterboxed to a square without
        distortion (the fixed-size per-character input reference encoders take); ``background`` fills the
        margins and everything outside the character's mask."""
        if size < 8:
            raise InputError("size", f"{size} px is too small for a character crop", "use at least 64")
        crops = np.full((len(self.characters), size, size, 3), background, dtype=np.float32)
        masks = np.zeros((len(self.characters), size, size), dtype=np.float32)
        for i, c in enumerate(self.characters):
            h, w = c.mask.shape
            scale = size / max(h, w)
            nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
            y, x = (size - nh) // 2, (size - nw) // 2
            m = cv2.resize(c.mask, (nw, nh), interpolation=cv2.INTER_AREA)
            rgb = cv2.resize(c.crop, (nw, nh), interpolation=cv2.INTER_AREA)
            crops[i, y:y + nh, x:x + nw] = rgb * m[..., None] + background * (1 - m[..., None])
            masks[i, y:y + nh, x:x + nw] = m
        return crops, masks

    def face_embeddings(self) -> np.ndarray:
        """``(N, 512)`` in character order; a missing face is a zero vector (SPEC §2.3)."""
        rows = [c.face_embedding if c.face_embedding is not None else np.zeros(FACE_EMBEDDING_DIM, np.float32)
                for c in self.characters]
        return np.stack(rows) if rows else np.zeros((0, FACE_EMBEDDING_DIM), np.float32)

    def with_face_embeddings(self, embeddings: dict[int, np.ndarray]) -> CharacterSet:
        """A copy with face embeddings set per track id."""
        unknown = [t for t in embeddings if t not in self.track_ids]
        if unknown:
            raise InputError("face_embeddings", f"tracks {unknown} have no character", "embed the characters' faces")
        chars = tuple(replace(c, face_embedding=embeddings.get(c.track_id, c.face_embedding)) for c in self.characters)
        return replace(self, characters=chars)

    def describe(self) -> str:
        return "; ".join(f"track {c.track_id} <- reference {c.reference_id} ({SLOT_NAMES[c.slot]})"
                         + (f": {c.prompt}" if c.prompt else "") for c in self.characters)


def parse_pairs(text: str, input_name: str) -> dict[int, int]:
    """``"3:0, 5:1"`` -> ``{3: 0, 5: 1}`` (driving track : reference id)."""
    pairs: dict[int, int] = {}
    for item in (p.strip() for p in re.split(r"[,;\n]", text or "")):
        if not item:
            continue
        match = re.fullmatch(r"(\d+)\s*[:=]\s*(\d+)", item)
        if not match:
            raise InputError(input_name, f"cannot read '{item}'", "write pairs like '3:0, 5:1' (driving track : "
                             "reference id)")
        pairs[int(match.group(1))] = int(match.group(2))
    if len(set(pairs.values())) != len(pairs):
        raise InputError(input_name, "one reference person is given to two driving tracks",
                         "pair each reference id once")
    return pairs


def _left_to_right(poses: PoseSequence) -> list[int]:
    """Track ids ordered by first-seen centroid x; never-seen people last."""
    c = centroids(poses)
    present = ~np.isnan(c[..., 0])
    first = np.argmax(present, axis=0)
    x = np.where(present.any(axis=0), c[first, np.arange(poses.num_people), 0], np.inf)
    return [poses.track_ids[i] for i in np.argsort(x, kind="stable")]


def pair_references(driving: PoseSequence, reference: PoseSequence, identity_map: IdentityMap,
                    mapping: str = "") -> dict[int, int]:
    """Driving track id -> reference person id: the explicit mapping, else both sides left to right."""
    if mapping.strip():
        pairs = parse_pairs(mapping, "reference_mapping")
        bad = [t for t in pairs if t not in identity_map.track_ids]
        bad_ref = [r for r in pairs.values() if r not in reference.track_ids]
        if bad or bad_ref:
            raise InputError("reference_mapping", f"unknown driving tracks {bad} / reference ids {bad_ref}",
                             f"driving ids are {identity_map.track_ids}, reference ids {reference.track_ids}")
        return pairs
    drivers = [t for t in _left_to_right(driving) if t in identity_map.track_ids]
    refs = [r for r in _left_to_right(reference) if reference.present()[:, reference.column(r)].any()]
    if len(refs) < len(drivers):
        raise InputError("reference_poses", f"the reference shows {len(refs)} people but {len(drivers)} identities "
                         "are driven", "use a reference with everyone in it, or pair explicitly with "
                         "reference_mapping ('track:reference_id'); unpaired tracks then get no character")
    return dict(zip(drivers, refs))


def _crop_box(mask: np.ndarray, keypoints: np.ndarray, padding: float) -> tuple[int, int, int, int]:
    """Padded box around the mask and the visible keypoints, clipped to the image."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask > 0.5)
    pts = keypoints[keypoints[:, 2] > 0.3, :2]
    x0 = min(xs.min(), pts[:, 0].min()) if len(pts) else xs.min()
    x1 = max(xs.max() + 1, pts[:, 0].max() + 1) if len(pts) else xs.max() + 1
    y0 = min(ys.min(), pts[:, 1].min()) if len(pts) else ys.min()
    y1 = max(ys.max() + 1, pts[:, 1].max() + 1) if len(pts) else ys.max() + 1
    pad = padding * max(x1 - x0, y1 - y0)
    box = (int(max(0, np.floor(x0 - pad))), int(max(0, np.floor(y0 - pad))),
           int(min(w, np.ceil(x1 + pad))), int(min(h, np.ceil(y1 + pad))))
    return box


def parse_prompts(text: str, track_ids: tuple[int, ...]) -> dict[int, str]:
    """One prompt per line: ``"3: a dancer in red"`` for a track, or plain lines taken in ``track_ids`` order."""
    prompts: dict[int, str] = {}
    plain: list[str] = []
    for line in (ln.strip() for ln in (text or "").splitlines()):
        match = re.fullmatch(r"(\d+)\s*:\s*(.*)", line)
        if match and int(match.group(1)) in track_ids:
            prompts[int(match.group(1))] = match.group(2).strip()
        elif line:
            plain.append(line)
    free = [t for t in track_ids if t not in prompts]
    if len(plain) > len(free):
        raise InputError("prompts", f"{len(plain)} unlabelled prompt lines for {len(free)} characters",
                         "write one line per character, optionally prefixed 'track_id:'")
    prompts.update(zip(free, plain))
    return prompts


def reference_masks(reference_image: np.ndarray, reference: PoseSequence, masks: np.ndarray | None) -> IdentityMasks:
    """Masks of the reference people: from ``masks`` when given (``(N, H, W)`` objects or one ``(H, W)`` union,
    matched to people by overlap), else drawn from their poses."""
    h, w = reference_image.shape[:2]
    drawn = masks_from_poses(reference.frames(0, 1), w, h)
    if masks is None:
        return drawn
    m = np.asarray(masks, dtype=np.float32)
    if m.ndim == 2:
        return split_union(m[None], drawn, "reference_mask")
    matched, _ = match_masks(m[None], drawn, input_name="reference_mask")
    return matched


def build_characters(reference_image: np.ndarray, reference: PoseSequence, driving: PoseSequence,
                     identity_map: IdentityMap, masks: np.ndarray | None = None, mapping: str = "",
                     prompts: str = "", padding: float = 0.1) -> CharacterSet:
    """Cut one character per paired driving identity from the reference image (frame 0 of ``reference``)."""
    image = np.asarray(reference_image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] < 3:
        raise InputError("reference_image", f"shape {image.shape} is not one RGB image", "connect one image")
    image = image[..., :3] / (255.0 if image.max() > 1.0 else 1.0)
    h, w = image.shape[:2]
    if (reference.width, reference.height) != (w, h):
        raise InputError("reference_poses", f"were found on a {reference.width}x{reference.height} canvas but the "
                         f"reference image is {w}x{h}", "extract the reference poses from this reference image")
    pairs = pair_references(driving, reference, identity_map, mapping)
    pairs = {t: pairs[t] for t in stream_order(identity_map, tuple(pairs))}
    ref_masks = reference_masks(image, reference, masks)
    text = parse_prompts(prompts, tuple(pairs))
    characters, full_masks = [], []
    for track, ref_id in pairs.items():
        col = reference.column(ref_id)
        mask = ref_masks.masks[0, col].astype(np.float32)
        if not (mask > 0.5).any():
            raise InputError("reference_poses", f"reference person {ref_id} has no visible body",
                             "use a reference image where every character is visible")
        x0, y0, x1, y1 = _crop_box(mask, reference.keypoints[0, col], padding)
        characters.append(Character(track, ref_id, identity_map.slot_of(track), image[y0:y1, x0:x1],
                                    mask[y0:y1, x0:x1], (x0, y0, x1, y1), prompt=text.get(track, "")))
        full_masks.append(mask)
    stacked = np.stack(full_masks) if full_masks else np.zeros((0, h, w), np.float32)
    return CharacterSet(tuple(characters), image, stacked, identity_map)
