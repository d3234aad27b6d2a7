"""Training clips from the synthetic world (``core.synth``): exact masks, poses and swaps, no annotation needed."""
from __future__ import annotations

from pathlib import Path

from ..core.synth import Scene, SceneConfig, make_scene
from .dataset import ClipData, ClipWindow, list_clips, write_clip


def clip_from_scene(scene: Scene) -> ClipData:
    """The dataset view of a scene: visible masks, face and hand masks, tracked poses, the reference image."""
    ref = scene.reference
    people = len(scene.identities)
    reference_masks = ref.masks[None].astype(bool)
    reference = ClipWindow(frames=ref.frame[None], masks=reference_masks,
                           face_masks=reference_masks & False, hand_masks=reference_masks & False,
                           poses=ref.poses)
    if reference_masks.shape[1] != people:
        raise ValueError(f"scene reference has {reference_masks.shape[1]} masks for {people} identities")
    return ClipData(frames=scene.frames, masks=scene.masks_visible, face_masks=scene.face_masks,
                    hand_masks=scene.hand_masks, poses=scene.poses, fps=scene.config.fps, reference=reference)


def write_synthetic_dataset(root: str | Path, base: SceneConfig, clips: int) -> list[Path]:
    """``clips`` scenes like ``base`` with seeds ``base.seed + i``, written under ``root`` (existing clips kept)."""
    root = Path(root)
    for i in range(clips):
        path = root / f"synthetic_{base.seed + i:05d}"
        if not path.exists():
            config = SceneConfig(**{**base.__dict__, "seed": base.seed + i})
            write_clip(clip_from_scene(make_scene(config)), path)
    return list_clips(root)


