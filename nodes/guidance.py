"""Identity guidance nodes: identity map, skeletons, per-person pose maps, masks, SCAIL-2 colour masks and
binding slots, character slots, DreamActor-M2 in-context composite, and a preview; thin wrappers over
``core.render`` and ``core.conditioning``."""
from __future__ import annotations

import logging

import numpy as np
import torch

from ..core.conditioning.binding_slots import MODES, binding_slots, colour_mask_video, reference_background
from ..core.conditioning.characters import CharacterSet, build_characters
from ..core.conditioning.identity import ORDERS, IdentityMap, assign_identities, stream_order
from ..core.conditioning.in_context import DEFAULT_PAD_FRAMES, in_context_input
from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence
from ..core.render.masks import REGIONS, IdentityMasks, masks_from_poses, match_masks, refine, split_union
from ..core.render.masks import exclusive as exclusive_masks
from ..core.render.palette import PALETTES
from ..core.render.preview import preview
from ..core.render.skeleton import SkeletonStyle, render_per_person, render_skeletons
from . import _inputs as I
from ._host import progress_bar
from ._types import BINDING_SLOTS, CHARACTERS, IDENTITY_MAP, MASKS, POSE

LOG = logging.getLogger("choreograph")
CATEGORY = "Choreograph/guidance"
MAX_SIZE = 8192


def to_image(frames: np.ndarray) -> torch.Tensor:
    """uint8 or float ``(T, H, W, 3)`` -> ComfyUI IMAGE (float32 0..1)."""
    f = np.asarray(frames)
    return torch.from_numpy(f.astype(np.float32) / 255.0 if f.dtype == np.uint8 else f.astype(np.float32))


def to_numpy(image: torch.Tensor | np.ndarray) -> np.ndarray:
    return image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)


def canvas(poses: PoseSequence, width: int, height: int) -> tuple[int, int]:
    """The render size: the given one, or the poses' canvas where 0."""
    return (width or poses.width, height or poses.height)


def _size_inputs() -> dict:
    return {
        "width": I.integer("Output width in pixels; 0 uses the poses' canvas width.", 0, 0, MAX_SIZE, 8),
        "height": I.integer("Output height in pixels; 0 uses the poses' canvas height.", 0, 0, MAX_SIZE, 8),
    }


def _stacked(per_person: np.ndarray, columns: list[int]) -> np.ndarray:
    """``(P, T, ...)`` -> ``(P'·T, ...)`` person-major in the given column order."""
    return per_person[columns].reshape((-1,) + per_person.shape[2:])


class ChoreoIdentityMap:
    DESCRIPTION = ("Decide once which binding slot (colour: blue, red, green, magenta, cyan, yellow, SCAIL-2's "
                   "official identity order) each tracked "
                   "identity owns. Skeleton hues, masks, SCAIL-2 binding slots and character slots all read this map, "
                   "so they always agree on who is who. More than 6 identities share a slot only when far apart.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (IDENTITY_MAP, "STRING")
    RETURN_NAMES = ("identity_map", "description")
    OUTPUT_TOOLTIPS = ("Track id -> slot map for every later guidance node.",
                       "The map as 'track:colour' pairs; paste it into mapping to pin it and edit it.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses; their track ids are the identities."),
            "order": I.choice("How free slots are handed out: leftmost first (first appearance), largest first, "
                              "or by track id.", ORDERS),
            "mapping": I.text("Optional fixed slots, e.g. '3:red, 5:1' (track id : slot number or colour). Mapped "
                              "tracks keep these slots; the others fill the free slots in order.", multiline=False),
            "reuse_far_apart": I.boolean("With more than 6 identities, let an extra identity share the slot of the "
                                         "person who stays farthest from it (SCAIL-2's rule). Off: refuse.", True),
            "min_separation": I.number("Closest allowed approach of two people sharing a slot, as a fraction of "
                                       "the frame diagonal.", 0.25, 0.0, 1.5, 0.01),
            "permute_seed": I.integer("Training only: randomly permute the free slots' colours with this seed so "
                                      "a model cannot learn 'red = left'. -1 keeps the order.", -1, -1, 2**31 - 1),
        }}

    def run(self, poses: PoseSequence, order: str = ORDERS[0], mapping: str = "", reuse_far_apart: bool = True,
            min_separation: float = 0.25, permute_seed: int = -1):
        identity = assign_identities(poses, order, mapping, reuse_far_apart, min_separation,
                                     None if permute_seed < 0 else permute_seed)
        if identity.shared_slots:
            LOG.info("Choreograph: slots shared by far-apart identities: %s", identity.shared_slots)
        return (identity, identity.describe())


class ChoreoRenderSkeletons:
    DESCRIPTION = ("Render the poses as a skeleton video with DWPose geometry. Palettes: 'ieg' (one hue per identity, "
                   "side in saturation, proximal→distal in value; EverybodyDance), 'lightness' (SCAIL's pastel / "
                   "saturated pair) or 'dwpose' (DWPose's own colours, pixel-exact). Nearer people are drawn last.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("skeletons",)
    OUTPUT_TOOLTIPS = ("Skeleton frames on black, IMAGE [frames, height, width, 3].",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses to draw."),
            "palette": I.choice("Colour scheme; 'ieg' and 'lightness' need the identity map.", PALETTES),
            **_size_inputs(),
            "body": I.boolean("Draw the 18-point body.", True),
            "hands": I.boolean("Draw the 21-point hands.", True),
            "face": I.boolean("Draw the 68 face landmarks.", True),
        }, "optional": {
            "identity_map": I.custom(IDENTITY_MAP, "Slot per identity; required by the 'ieg' and 'lightness' "
                                     "palettes."),
        }}

    def run(self, poses: PoseSequence, palette: str = "ieg", width: int = 0, height: int = 0, body: bool = True,
            hands: bool = True, face: bool = True, identity_map: IdentityMap | None = None):
        style = SkeletonStyle(palette, body, hands, face)
        slots = identity_map.slots_for(poses) if identity_map is not None else None
        w, h = canvas(poses, width, height)
        with progress_bar(poses.num_frames, "skeletons") as progress:
            frames = render_skeletons(poses, slots, w, h, style, progress)
        return (to_image(frames),)


class ChoreoPerPersonPoseMaps:
    DESCRIPTION = ("One DWPose map per identity per frame (DanceTogether's per-person pose streams); an absent "
                   "person's frames are black. Persons come in stream order (by slot), the same order as the "
                   "per-person masks and the character slots.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "INT")
    RETURN_NAMES = ("pose_maps", "people")
    OUTPUT_TOOLTIPS = ("IMAGE [people × frames, height, width, 3], person-major: person 0's frames, then person 1's.",
                       "Number of people (split the batch into this many equal parts).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses."),
            "identity_map": I.custom(IDENTITY_MAP, "Decides the person order (by slot)."),
            **_size_inputs(),
        }}

    def run(self, poses: PoseSequence, identity_map: IdentityMap, width: int = 0, height: int = 0):
        w, h = canvas(poses, width, height)
        identity_map.slots_for(poses)
        with progress_bar(poses.num_people, "per-person pose maps") as progress:
            maps = render_per_person(poses, w, h, progress=progress)
        columns = [poses.column(t) for t in stream_order(identity_map, poses.track_ids)]
        return (to_image(_stacked(maps, columns)), len(columns))


def _segmenter_masks(mask: torch.Tensor, objects: int, drawn: IdentityMasks) -> tuple[IdentityMasks, tuple]:
    """Use a MASK input: ``objects`` = 0 means one union mask per frame, else an object-major batch."""
    m = to_numpy(mask).astype(np.float32)
    frames = drawn.masks.shape[0]
    if objects == 0:
        return split_union(m, drawn, "mask"), ()
    if m.ndim != 3 or m.shape[0] != objects * frames:
        raise InputError("mask", f"has {m.shape[0] if m.ndim == 3 else m.shape} masks, not objects × frames = "
                         f"{objects} × {frames}", "set objects to the number of segmented objects, or 0 for one "
                         "union mask per frame")
    return match_masks(m.reshape(objects, frames, *m.shape[1:]).transpose(1, 0, 2, 3), drawn)


class ChoreoIdentityMasks:
    DESCRIPTION = ("Per-identity masks: drawn from the poses (body shape from limb strokes, or face / hand regions), "
                   "or taken from a segmenter MASK and matched to identities by overlap with the pose masks. "
                   "Optionally exclusive (a contested pixel goes to the nearer person), dilated and feathered.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (MASKS, "MASK", "INT")
    RETURN_NAMES = ("masks", "mask_batch", "people")
    OUTPUT_TOOLTIPS = ("Per-identity masks for the colour-mask and preview nodes.",
                       "MASK [people × frames, height, width], person-major in stream order (by slot).",
                       "Number of people in mask_batch.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "poses": I.custom(POSE, "Tracked poses; give each mask its identity."),
            "identity_map": I.custom(IDENTITY_MAP, "Decides the person order of mask_batch."),
            **_size_inputs(),
            "region": I.choice("Which part to mask when drawing from poses.", REGIONS),
            "exclusive": I.boolean("Give each overlapping pixel to the nearer person only.", True),
            "dilate_px": I.integer("Grow (positive) or shrink (negative) each mask by this many pixels.", 0, -64, 64),
            "feather_px": I.integer("Soften mask edges over this many pixels (0 keeps them hard).", 0, 0, 64),
            "objects": I.integer("With a segmenter mask: how many objects its batch holds (object-major, "
                                 "objects × frames masks); 0 = one union mask per frame, split by nearest pose.",
                                 0, 0, 64),
        }, "optional": {
            "mask": I.mask("Optional segmenter masks at the render size (e.g. SAM), replacing the drawn body masks."),
        }}

    def run(self, poses: PoseSequence, identity_map: IdentityMap, width: int = 0, height: int = 0,
            region: str = "body", exclusive: bool = True, dilate_px: int = 0, feather_px: int = 0, objects: int = 0,
            mask: torch.Tensor | None = None):
        w, h = canvas(poses, width, height)
        identity_map.slots_for(poses)
        with progress_bar(poses.num_frames, f"{region} masks") as progress:
            masks = masks_from_poses(poses, w, h, region, progress=progress)
        if mask is not None:
            masks, fallback = _segmenter_masks(mask, objects, masks)
            if fallback:
                LOG.warning("Choreograph: no segmenter mask overlaps tracks %s; they keep their pose masks", fallback)
        if exclusive:
            masks = exclusive_masks(masks, poses)
        masks = refine(masks, dilate_px, feather_px)
        columns = [poses.column(t) for t in stream_order(identity_map, poses.track_ids)]
        batch = _stacked(masks.masks.transpose(1, 0, 2, 3), columns).astype(np.float32)
        return (masks, torch.from_numpy(batch), len(columns))



def parse_track_ids(text: str, available: tuple[int, ...]) -> list[int]:
    """``"0, 2"`` -> ``[0, 2]``, each one of ``available``."""
    try:
        chosen = [int(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise InputError("track_ids", f"cannot read '{text}'",
                         "write track ids separated by commas, e.g. '0, 2'") from None
    unknown = [t for t in chosen if t not in available]
    if unknown:
        raise InputError("track_ids", f"{unknown} are not tracked (ids: {available})", "use ids from the poses")
    return list(dict.fromkeys(chosen))


class ChoreoSCAIL2ColourMasks:
    DESCRIPTION = ("Render SCAIL-2's colour-mask videos from tracked identities, in the exact contract native "
                   "WanSCAILToVideo reads and the official weights were trained on: each identity filled with its "
                   "slot's pure colour (blue, red, green, magenta, cyan, yellow); animation: driving on black, "
                   "reference on white; replacement: driving on white (the environment switch), reference on black.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "IMAGE")
    RETURN_NAMES = ("pose_video_mask", "reference_image_mask")
    OUTPUT_TOOLTIPS = (("Driving colour-mask video, same size and frames as the masks; wire to WanSCAILToVideo's "
                        "pose_video_mask or to Choreograph's binding slots."),
                       ("Reference colour mask (characters' masks in their slots' colours; white background in "
                        "animation, black in replacement); only background when no characters are connected."))

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "masks": I.custom(MASKS, "Per-identity masks of the driving clip."),
            "poses": I.custom(POSE, "The same tracked poses (for the back-to-front order)."),
            "identity_map": I.custom(IDENTITY_MAP, "Slot (colour) per identity."),
            "mode": I.choice("animation: driving mask on black, reference mask on white (keep the reference's "
                             "scene); replacement: driving mask on white (the environment comes from the driving "
                             "video), reference mask on black. Must match WanSCAILToVideo's replacement_mode.",
                             MODES),
            "track_ids": I.text("Only these identities, e.g. '0, 2' (the ones to animate or replace); empty = "
                                "all. The others become background."),
        }, "optional": {
            "characters": I.custom(CHARACTERS, "Character slots; their masks become the reference colour mask."),
        }}

    def run(self, masks: IdentityMasks, poses: PoseSequence, identity_map: IdentityMap, mode: str = "animation",
            track_ids: str = "", characters: CharacterSet | None = None):
        if track_ids.strip():
            chosen = parse_track_ids(track_ids, poses.track_ids)
            masks, poses = masks.select(chosen), poses.select(chosen)
        video = colour_mask_video(masks, identity_map, poses, mode)
        if characters is not None:
            reference = characters.reference_colour_mask(mode)[None]
        else:
            reference = np.empty((1,) + video.shape[1:], np.uint8)
            reference[...] = reference_background(mode)
        return (to_image(video), to_image(reference))


class ChoreoSCAIL2BindingSlots:
    DESCRIPTION = ("Compress SCAIL-2 colour masks to the 28-channel binding-slot tensors (7 colour channels × 4 "
                   "sub-frames, channel = 7·sub-frame + colour): threshold at 225/255, area-pool to the latent grid; "
                   "the driving mask is halved first, like the driving video. Checks the mode against the mask.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True  # shows its summary in the UI, so a graph can end here to check the masks
    RETURN_TYPES = (BINDING_SLOTS, "STRING")
    RETURN_NAMES = ("binding_slots", "summary")
    OUTPUT_TOOLTIPS = ("Reference (28, 1, h, w) and driving (28, F, h/2, w/2) masks for the SCAIL-2 sampler.",
                       "Shapes and which slots are occupied.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "pose_video_mask": I.image("Driving colour-mask video at the generation size, 4k+1 frames."),
            "reference_image_mask": I.image("Reference colour mask at the generation size."),
            "mode": I.choice("animation or replacement; must match how the masks were rendered.", MODES),
            "downsample": I.choice("How the driving mask is halved: bilinear (official SCAIL-2) or area (native "
                                   "ComfyUI); identical for even sizes.", ("bilinear", "area")),
        }}

    def run(self, pose_video_mask: torch.Tensor, reference_image_mask: torch.Tensor, mode: str = "animation",
            downsample: str = "bilinear"):
        slots = binding_slots(pose_video_mask, reference_image_mask, mode, downsample)
        used = [c for c in range(1, 7) if slots.driving[c::7].any()]
        summary = (f"{mode}: reference {tuple(slots.reference.shape)}, driving {tuple(slots.driving.shape)}, "
                   f"slot channels in use {used}")
        return {"ui": {"text": [summary]}, "result": (slots, summary)}


class ChoreoCharacters:
    DESCRIPTION = ("Build the character slots: per driving identity its reference crop and mask, its slot colour "
                   "(from the identity map), and an optional prompt. Reference people are paired with driving "
                   "identities left to right, or by an explicit mapping.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = (CHARACTERS, "IMAGE", "STRING")
    RETURN_NAMES = ("characters", "reference_image_mask", "description")
    OUTPUT_TOOLTIPS = ("Character slots for the samplers, in stream order (by slot).",
                       "Animation-mode reference colour mask (slot colours on white) for WanSCAILToVideo; for "
                       "replacement take the SCAIL-2 Colour Masks node's (black background).",
                       "Which reference person animates which track, in which colour.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "reference_image": I.image("The reference image showing every character (first frame is used)."),
            "reference_poses": I.custom(POSE, "Poses found on the reference image (track ids = reference ids)."),
            "poses": I.custom(POSE, "Tracked driving poses."),
            "identity_map": I.custom(IDENTITY_MAP, "Slot per driving identity."),
            "reference_mapping": I.text("Optional 'driving_track:reference_id' pairs, e.g. '3:0, 5:1'; empty pairs "
                                        "both sides left to right."),
            "prompts": I.text("Optional prompt per character, one per line, optionally prefixed 'track_id:'.",
                              multiline=True),
            "padding": I.number("Crop margin around each character, as a fraction of its size.", 0.1, 0.0, 1.0, 0.01),
        }, "optional": {
            "reference_mask": I.mask("Optional segmenter masks of the reference image: one per person or one union "
                                     "mask; matched to people by overlap."),
        }}

    def run(self, reference_image: torch.Tensor, reference_poses: PoseSequence, poses: PoseSequence,
            identity_map: IdentityMap, reference_mapping: str = "", prompts: str = "", padding: float = 0.1,
            reference_mask: torch.Tensor | None = None):
        image = to_numpy(reference_image)
        image = image[0] if image.ndim == 4 else image
        masks = None
        if reference_mask is not None:
            m = to_numpy(reference_mask).astype(np.float32)
            masks = m[0] if m.ndim == 3 and m.shape[0] == 1 else m
        chars = build_characters(image, reference_poses, poses, identity_map, masks, reference_mapping, prompts,
                                 padding)
        return (chars, to_image(chars.reference_colour_mask()[None]), chars.describe())


class ChoreoInContextComposite:
    DESCRIPTION = ("DreamActor-M2's in-context input for Wan-I2V: reference ⊕ first motion frame side by side, grey "
                   "after frame 0 on the reference side, the motion on the right, and the matching mask; the first "
                   "second can be padded with zero-motion frames (drop them from the output).")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", "MASK", "INT")
    RETURN_NAMES = ("composite", "mask", "pad_frames")
    OUTPUT_TOOLTIPS = ("IMAGE [pad + frames, height, 2 × width, 3]; a stock Wan-I2V concat image.",
                       "MASK [pad + frames, height, 2 × width]: 1 where the pixels are given.",
                       "Leading padding frames to drop from the generated video.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "reference_image": I.image("The character to animate (first frame is used), at the generation size."),
            "driving": I.image("Motion frames (pose render or video), 4k+1 frames, same size as the reference."),
            "pad_frames": I.integer("Zero-motion frames prepended (one second at 16 fps = 16; a multiple of 4).",
                                    DEFAULT_PAD_FRAMES, 0, 256, 4),
        }}

    def run(self, reference_image: torch.Tensor, driving: torch.Tensor, pad_frames: int = DEFAULT_PAD_FRAMES):
        ref = to_numpy(reference_image)
        result = in_context_input(ref[0] if ref.ndim == 4 else ref, to_numpy(driving), pad_frames)
        return (to_image(result.composite), torch.from_numpy(result.mask), result.pad_frames)


class ChoreoGuidancePreview:
    DESCRIPTION = ("Overlay each identity's mask (tinted in its slot colour), its identity skeleton and a "
                   "'track colour' label on the frames, to check the bindings before generating.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("preview",)
    OUTPUT_TOOLTIPS = ("Annotated frames, IMAGE [frames, height, width, 3].",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": I.image("The frames the poses belong to."),
            "poses": I.custom(POSE, "Tracked poses."),
            "identity_map": I.custom(IDENTITY_MAP, "Slot (colour) per identity."),
            "mask_opacity": I.number("How strongly masks tint the frames.", 0.4, 0.0, 1.0, 0.05),
            "labels": I.boolean("Write 'track colour' above each person.", True),
        }, "optional": {
            "masks": I.custom(MASKS, "Per-identity masks to tint (at the frame size)."),
        }}

    def run(self, images: torch.Tensor, poses: PoseSequence, identity_map: IdentityMap, mask_opacity: float = 0.4,
            labels: bool = True, masks: IdentityMasks | None = None):
        out = preview(to_numpy(images), poses, identity_map.slots_for(poses), masks, mask_opacity, labels)
        return (to_image(out),)


_NODES = {
    "ChoreoIdentityMap": (ChoreoIdentityMap, "Identity Map (Choreograph)"),
    "ChoreoRenderSkeletons": (ChoreoRenderSkeletons, "Render Skeletons (Choreograph)"),
    "ChoreoPerPersonPoseMaps": (ChoreoPerPersonPoseMaps, "Per-Person Pose Maps (Choreograph)"),
    "ChoreoIdentityMasks": (ChoreoIdentityMasks, "Identity Masks (Choreograph)"),
    "ChoreoSCAIL2ColourMasks": (ChoreoSCAIL2ColourMasks, "SCAIL-2 Colour Masks (Choreograph)"),
    "ChoreoSCAIL2BindingSlots": (ChoreoSCAIL2BindingSlots, "SCAIL-2 Binding Slots 28ch (Choreograph)"),
    "ChoreoCharacters": (ChoreoCharacters, "Character Slots (Choreograph)"),
    "ChoreoInContextComposite": (ChoreoInContextComposite, "In-Context Composite (Choreograph)"),
    "ChoreoGuidancePreview": (ChoreoGuidancePreview, "Guidance Preview (Choreograph)"),
}
NODE_CLASS_MAPPINGS = {k: v[0] for k, v in _NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS = {k: v[1] for k, v in _NODES.items()}
