"""Synthetic-world nodes: a procedural multi-character clip with exact identities, poses and masks, and a
dataset writer; thin wrappers over ``core.synth``."""
from __future__ import annotations

import numpy as np
import torch

from ..core.errors import InputError
from ..core.render.masks import IdentityMasks
from ..core.synth import (
    BACKGROUNDS,
    CHOREOGRAPHIES,
    MAX_CHARACTERS,
    RESOLUTION_MULTIPLE,
    Scene,
    SceneConfig,
    make_scene,
)
from ..core.synth.dataset import MIXED, DatasetSpec, write_dataset
from ..core.video.output_files import next_numbered_path, safe_prefix_path
from . import _inputs as I
from ._host import output_directory, progress_bar
from ._types import MASKS, POSE, SCENE

CATEGORY = "Choreograph/synth"
MASK_KINDS = {"visible": "masks_visible", "full": "masks_full", "face": "face_masks", "hands": "hand_masks"}
MAX_FRAMES = 2000
MAX_SIDE = 2048


def _image(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames.astype(np.float32) / 255.0)


def _scene_inputs() -> dict:
    names = ", ".join(CHOREOGRAPHIES)
    return {
        "characters": I.integer(f"How many characters (1-{MAX_CHARACTERS}), each with its own build, clothes and "
                                "hair.", 3, 1, MAX_CHARACTERS),
        "frames": I.integer("Clip length in frames.", 48, 1, MAX_FRAMES),
        "width": I.integer(f"Frame width in pixels (a multiple of {RESOLUTION_MULTIPLE}).", 256, 64, MAX_SIDE,
                           RESOLUTION_MULTIPLE),
        "height": I.integer(f"Frame height in pixels (a multiple of {RESOLUTION_MULTIPLE}).", 256, 64, MAX_SIDE,
                            RESOLUTION_MULTIPLE),
        "choreography": I.text(f"What happens, joined with '+': {names}. E.g. 'dance+swap' (two trade places), "
                               "'cross' (one walks in front of another and hides it completely), 'exit' (one leaves "
                               "and comes back), 'fewer' (the clip shows fewer people than the reference).",
                               default="dance+swap"),
        "speed": I.number("Tempo of everything: dancing, walking, circling.", 1.0, 0.1, 10.0, 0.05),
        "amplitude": I.number("How far limbs swing and paths reach (0 = standing still).", 1.0, 0.0, 3.0, 0.05),
        "background": I.choice("Plain colour, or a textured room (wall and tiled floor).", BACKGROUNDS),
        "lookalikes": I.integer("Pairs of characters who wear the same clothes and colours and differ only "
                                "slightly in height and build: identity must come from motion and binding.",
                                0, 0, MAX_CHARACTERS // 2),
        "fps": I.number("Frame rate of the clip (sets how fast motions play per frame).", 24.0, 1.0, 240.0, 0.5),
        "seed": I.integer("Same seed and settings give the same scene; the cast depends only on the seed.",
                          0, 0, 2**31 - 1, seed=True),
    }


class ChoreoSyntheticScene:
    DESCRIPTION = ("A procedural multi-character clip with exact ground truth: frames, tracked whole-body poses "
                   "(confidence 0 where a point is hidden), per-identity masks and a reference image of the whole "
                   "cast. For demos and for testing tracking, guidance and samplers without real data or weights.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    RETURN_TYPES = ("IMAGE", POSE, MASKS, "MASK", "IMAGE", POSE, SCENE)
    RETURN_NAMES = ("frames", "poses", "masks", "mask_batch", "reference_image", "reference_poses", "scene")
    OUTPUT_TOOLTIPS = (
        "The clip, IMAGE [frames, height, width, 3].",
        "Ground-truth poses (133 keypoints, pixels); track id = identity id 0..P-1, depth = distance to camera.",
        "Per-identity masks of the chosen kind, for the guidance and preview nodes.",
        "The same masks as MASK [characters × frames, height, width], character-major (identity 0 first).",
        "Every character standing left to right (reference order) in a neutral pose, IMAGE [1, height, width, 3].",
        "Ground-truth poses of the reference image (1 frame).",
        "The whole scene with its ground truth (swap table, boxes, visibility) for evaluation nodes.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            **_scene_inputs(),
            "mask_kind": I.choice("Which masks to output: what the camera sees of each character (visible), the "
                                  "whole silhouette ignoring occluders (full), or only the visible face or hands.",
                                  tuple(MASK_KINDS)),
        }}

    def run(self, characters: int = 3, frames: int = 48, width: int = 256, height: int = 256,
            choreography: str = "dance+swap", speed: float = 1.0, amplitude: float = 1.0, background: str = "plain",
            lookalikes: int = 0, fps: float = 24.0, seed: int = 0, mask_kind: str = "visible"):
        if mask_kind not in MASK_KINDS:
            raise InputError("mask_kind", f"'{mask_kind}' is not a mask kind", f"choose one of {tuple(MASK_KINDS)}")
        config = SceneConfig(characters=characters, frames=frames, width=width, height=height,
                             choreography=choreography, speed=speed, amplitude=amplitude, background=background,
                             lookalikes=lookalikes, fps=fps, seed=seed)
        with progress_bar(frames, "synthetic scene") as progress:
            scene: Scene = make_scene(config, progress)
        masks = getattr(scene, MASK_KINDS[mask_kind])
        batch = masks.transpose(1, 0, 2, 3).reshape(-1, height, width).astype(np.float32)
        return (_image(scene.frames), scene.poses, IdentityMasks(masks, scene.identities), torch.from_numpy(batch),
                _image(scene.reference.frame[None]), scene.reference.poses, scene)


class ChoreoSyntheticDataset:
    DESCRIPTION = ("Write a synthetic training dataset (PNG frames, poses and masks as npz, scene.json; see "
                   "docs/dataset_format.md) into the output folder. Each scene varies cast size, choreography and "
                   "background from the seed; the same settings give the same dataset.")
    CATEGORY = CATEGORY
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Folder of the written dataset.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "scenes": I.integer("Number of scenes.", 8, 1, 100000),
            "frames": I.integer("Frames per scene.", 48, 1, MAX_FRAMES),
            "width": I.integer(f"Frame width (multiple of {RESOLUTION_MULTIPLE}).", 256, 64, MAX_SIDE,
                               RESOLUTION_MULTIPLE),
            "height": I.integer(f"Frame height (multiple of {RESOLUTION_MULTIPLE}).", 256, 64, MAX_SIDE,
                                RESOLUTION_MULTIPLE),
            "min_characters": I.integer("Fewest characters in a scene.", 2, 1, MAX_CHARACTERS),
            "max_characters": I.integer("Most characters in a scene.", 4, 1, MAX_CHARACTERS),
            "choreographies": I.text("One choreography per line (e.g. 'dance+swap'); each scene draws one. "
                                     f"'{MIXED}' uses a built-in mix of all of them.", default=MIXED,
                                     multiline=True),
            "background": I.choice("Background of every scene, or a per-scene mix.", (MIXED, *BACKGROUNDS)),
            "lookalike_probability": I.number("Chance that a scene has a pair of lookalikes.", 0.25, 0.0, 1.0),
            "seed": I.integer("Dataset seed; scene i depends only on (seed, i).", 0, 0, 2**31 - 1, seed=True),
            "filename_prefix": I.text("Folder name inside the output folder; a 5-digit counter is appended.",
                                      default="choreograph/synth"),
        }}

    def run(self, scenes: int = 8, frames: int = 48, width: int = 256, height: int = 256, min_characters: int = 2,
            max_characters: int = 4, choreographies: str = MIXED, background: str = MIXED,
            lookalike_probability: float = 0.25, seed: int = 0, filename_prefix: str = "choreograph/synth"):
        lines = tuple(line.strip() for line in choreographies.splitlines() if line.strip())
        spec = DatasetSpec(scenes=scenes, seed=seed, frames=frames, width=width, height=height,
                           characters=(min_characters, max_characters),
                           choreographies=MIXED if lines in ((), (MIXED,)) else lines, background=background,
                           lookalike_probability=lookalike_probability)
        folder, stem = safe_prefix_path(output_directory(), filename_prefix)
        target = next_numbered_path(folder, stem, "")
        with progress_bar(scenes, "synthetic dataset") as progress:
            write_dataset(target, spec, progress)
        return {"ui": {"text": [str(target)]}, "result": (str(target),)}


NODE_CLASS_MAPPINGS = {"ChoreoSyntheticScene": ChoreoSyntheticScene, "ChoreoSyntheticDataset": ChoreoSyntheticDataset}
NODE_DISPLAY_NAME_MAPPINGS = {"ChoreoSyntheticScene": "Synthetic Scene (Choreograph)",
                              "ChoreoSyntheticDataset": "Synthetic Dataset Writer (Choreograph)"}
