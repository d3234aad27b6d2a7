"""Bias-Aware DPO preference data on disk (SCAIL-2 Appendix B): ``pref_NNNNN_win`` / ``pref_NNNNN_lose`` clips and
``preferences.json`` ``[{"win": …, "lose": …}]``, the layout ``train.method: dpo`` reads.

Both clips of an item carry the same driving video ``V_d`` (the DPO conditioning) and the same people; the win clip
holds the preferred frames and the accurate poses ``P``, the lose clip the dispreferred frames and the degraded
poses ``P'`` (their hand boxes together make the DPO hand mask). Two sources:

* the synthetic world (``core.synth.preferences``): the renderer is the generator, ``P`` is exact;
* prepared clips with a generator workflow (``training.generated_pairs``): ``P`` = the clip's tracked poses,
  ``V_d = G(I1, P)``, ``x_w = G(I2, P)``, ``x_l = G(I2, P')`` with ``P' = degrade_hands(P)``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.pose.sequence import PoseSequence
from ..core.progress import Progress, no_progress
from ..core.synth.preferences import HandDegradation, PreferenceItem, PreferenceSpec, degrade_hands, make_preference
from ..core.video.output_files import atomic_file
from .dataset import Clip, ClipData, DrivingVideo, list_clips, write_clip
from .generated_pairs import Generator, ReferenceImage, synthesise_driving

PREFERENCES = "preferences.json"


def item_seed(seed: int, index: int) -> int:
    return int(np.random.default_rng([seed, index, 7]).integers(2**62))


def _write_item(out: Path, index: int, win: ClipData, lose: ClipData) -> dict[str, str]:
    names = {"win": f"pref_{index:05d}_win", "lose": f"pref_{index:05d}_lose"}
    for key, clip in (("win", win), ("lose", lose)):
        if not (out / names[key]).exists():
            write_clip(clip, out / names[key])
    return names


def _write_index(out: Path, rows: list[dict[str, str]]) -> None:
    with atomic_file(out / PREFERENCES, overwrite=True) as temp:
        temp.write_text(json.dumps(rows, indent=1))


def synthetic_item_clips(item: PreferenceItem) -> tuple[ClipData, ClipData]:
    """The win and lose clips of a synthetic item; both driven by the same cast-A video."""
    d = item.driving
    driving = DrivingVideo(d.frames, d.masks_visible, d.poses, "animation", "synthetic preference (renderer)")
    fps = item.win.config.fps
    return tuple(ClipData(s.frames, s.masks_visible, s.face_masks, s.hand_masks, s.poses, fps, driving)
                 for s in (item.win, item.lose))


def write_synthetic_preferences(out: str | Path, count: int, seed: int = 0, spec: PreferenceSpec = PreferenceSpec(),
                                progress: Progress = no_progress) -> list[dict[str, str]]:
    """``count`` synthetic preference items under ``out`` (existing ones are kept); returns the index rows."""
    out = Path(out)
    if count < 1:
        raise InputError("count", f"{count} preference items", "ask for at least 1")
    rows = []
    for index in range(count):
        names = {"win": f"pref_{index:05d}_win", "lose": f"pref_{index:05d}_lose"}
        if not all((out / n).exists() for n in names.values()):
            win, lose = synthetic_item_clips(make_preference(item_seed(seed, index), spec))
            names = _write_item(out, index, win, lose)
        rows.append(names)
        progress(index + 1, count)
    _write_index(out, rows)
    return rows


def degraded_poses(poses: PoseSequence, rng: np.random.Generator, model: HandDegradation) -> PoseSequence:
    """``poses`` with ``model``'s finger errors (confidences kept)."""
    return PoseSequence(degrade_hands(poses.keypoints, rng, model), poses.track_ids, poses.width, poses.height,
                        poses.fps, poses.depth)


def write_generated_preferences(clips_root: str | Path, out: str | Path, generator: Generator,
                                references: list[ReferenceImage], degradation: HandDegradation = HandDegradation(),
                                seed: int = 0, output_dir: Path = Path("output"),
                                progress: Progress = no_progress) -> list[dict[str, str]]:
    """One preference item per prepared clip: three generator runs (V_d with I1, x_w and x_l with I2)."""
    if len(references) < 2:
        raise InputError("reference", "needs at least two reference images (I1 drives, I2 is generated)",
                         "pass --reference twice or more")
    out = Path(out)
    clips = [Clip(p) for p in list_clips(clips_root)]
    rows = []
    for index, clip in enumerate(clips):
        names = {"win": f"pref_{index:05d}_win", "lose": f"pref_{index:05d}_lose"}
        if not all((out / n).exists() for n in names.values()):
            rng = np.random.default_rng([seed, index])
            first, second = (references[int(i)] for i in rng.choice(len(references), 2, replace=False))
            accurate = clip.poses(range(clip.meta.frames))
            worse = degraded_poses(accurate, rng, degradation)
            driving = synthesise_driving(generator, clip, first, "animation", output_dir)
            window = clip.window(range(clip.meta.frames))
            made = [synthesise_driving(generator, clip, second, "animation", output_dir, poses)
                    for poses in (accurate, worse)]
            win, lose = (ClipData(v.frames, window.masks, window.face_masks, window.hand_masks, v.poses,
                                  clip.meta.fps, driving) for v in made)
            names = _write_item(out, index, win, lose)
        rows.append(names)
        progress(index + 1, len(clips))
    _write_index(out, rows)
    return rows
