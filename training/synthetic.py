"""Training data from the synthetic world: ``data.synthetic`` in a config becomes a ``core.synth`` dataset.

With ``pairs: true`` the clips are reverse-driving triplets (``core.synth.pairs``): the target and its reference
are cast B, the driving video is cast A performing the same choreography, in animation or replacement mode.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.synth.dataset import DatasetSpec, write_dataset
from ..core.synth.pairs import Triplet, TripletSpec, make_triplet
from .config import SyntheticConfig
from .dataset import ClipData, ClipWindow, DrivingVideo, write_clip

PAIRS_MANIFEST = "pairs.json"


def dataset_spec(config: SyntheticConfig) -> DatasetSpec:
    """The synthetic dataset a config asks for (every scene with exactly ``characters`` people)."""
    choreographies = "mix" if config.choreography == "mix" else (config.choreography,)
    return DatasetSpec(scenes=config.clips, seed=config.seed, frames=config.frames, width=config.width,
                       height=config.height, characters=(config.characters, config.characters),
                       choreographies=choreographies, background=config.background)


def triplet_spec(config: SyntheticConfig) -> TripletSpec:
    """The reverse-driving triplets a config asks for."""
    choreographies = "mix" if config.choreography == "mix" else (config.choreography,)
    return TripletSpec(characters=(config.characters, config.characters), frames=config.frames,
                       width=config.width, height=config.height, choreographies=choreographies,
                       background=config.background, replacement_probability=config.replacement_probability,
                       same_bodies=config.same_bodies)


def triplet_seed(dataset_seed: int, index: int) -> int:
    """Seed of triplet ``index`` of a dataset: a pure function, so a dataset extends reproducibly."""
    return int(np.random.default_rng([dataset_seed, index]).integers(2**62))


def triplet_clip(triplet: Triplet) -> ClipData:
    """A triplet in the prepared-clip layout: target frames and tracks, driving video, separate reference."""
    target, ref = triplet.target, triplet.reference
    driving = DrivingVideo(triplet.driving.frames, triplet.driving.masks_visible, triplet.driving.poses,
                           triplet.mode, "synthetic")
    empty = np.zeros_like(ref.masks[None])
    reference = ClipWindow(ref.frame[None], ref.masks[None],
                           empty if ref.face_masks is None else ref.face_masks[None],
                           empty if ref.hand_masks is None else ref.hand_masks[None], ref.poses)
    return ClipData(target.frames, target.masks_visible, target.face_masks, target.hand_masks, target.poses,
                    target.config.fps, driving, reference)


def write_triplets(root: str | Path, config: SyntheticConfig) -> list[Path]:
    """Write (or extend / reuse) ``config.clips`` triplet clips ``triplet_NNNNN`` under ``root``."""
    root = Path(root)
    spec = triplet_spec(config)
    manifest = root / PAIRS_MANIFEST
    settings = {key: value for key, value in vars(config).items() if key != "clips"}
    if manifest.is_file() and json.loads(manifest.read_text()) != settings:
        raise InputError("data.synthetic", f"{root} holds triplets made with other settings",
                         "choose another data.root or repeat the original data.synthetic settings")
    root.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(settings, indent=1))
    folders = []
    for index in range(config.clips):
        folder = root / f"triplet_{index:05d}"
        if not folder.exists():
            write_clip(triplet_clip(make_triplet(triplet_seed(config.seed, index), spec)), folder)
        folders.append(folder)
    return folders


def write_synthetic(root: str | Path, config: SyntheticConfig) -> list[Path]:
    """Write (or extend / reuse) the synthetic dataset under ``root``; returns the clip folders."""
    if config.pairs:
        return write_triplets(root, config)
    if config.preferences:
        from ..core.synth.preferences import PreferenceSpec
        from .preferences import write_synthetic_preferences

        choreographies = "mix" if config.choreography == "mix" else (config.choreography,)
        spec = PreferenceSpec(characters=(config.characters, config.characters), frames=config.frames,
                              width=config.width, height=config.height, choreographies=choreographies,
                              background=config.background)
        rows = write_synthetic_preferences(root, config.clips, config.seed, spec)
        return [Path(root) / name for row in rows for name in row.values()]
    return write_dataset(Path(root), dataset_spec(config))
