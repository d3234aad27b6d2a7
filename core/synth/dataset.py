"""The synthetic dataset on disk, in the format training reads (``docs/dataset_format.md``), and back.

A dataset is a folder of scene folders plus ``dataset.json``. Each scene folder appears atomically (written under
a temporary name, then renamed), so an interrupted run leaves only whole scenes; running again with the same
settings resumes and skips them. Only PNG, JSON and ``.npz`` (``allow_pickle=False``) are used — nothing to unpickle.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..progress import Progress, no_progress, scaled
from ..video.output_files import atomic_directory, atomic_file
from .characters import Character, Proportions
from .config import BACKGROUNDS, MAX_CHARACTERS, SceneConfig, parse_choreography
from .scene import Reference, Scene, make_scene

FORMAT = "choreograph-synth"
VERSION = 1
MASK_KEYS = ("visible", "full", "face", "hands")
POSE_KEYS = ("keypoints", "visibility", "depth", "depth_order", "boxes", "boxes_full", "present")
MIXED = "mix"
DEFAULT_MIX = ("dance", "dance+swap", "dance+circle", "cross", "dance+exit", "dance+fewer", "dance+sizes",
               "dance+swap+sizes", "circle+exit")


@dataclass(frozen=True)
class DatasetSpec:
    """How to vary scenes across a dataset. ``choreographies``/``background`` may be ``"mix"``: each scene
    draws one of ``DEFAULT_MIX`` / ``BACKGROUNDS``; characters is an inclusive ``(min, max)`` range."""

    scenes: int = 8
    seed: int = 0
    frames: int = 48
    width: int = 256
    height: int = 256
    characters: tuple[int, int] = (2, 4)
    choreographies: tuple[str, ...] | str = MIXED
    background: str = MIXED
    lookalike_probability: float = 0.25
    fps: float = 24.0

    def __post_init__(self) -> None:
        if isinstance(self.scenes, bool) or not isinstance(self.scenes, int) or self.scenes < 1:
            raise InputError("scenes", f"{self.scenes!r} is not a positive integer", "ask for at least 1 scene")
        low, high = self.characters
        if not 1 <= low <= high <= MAX_CHARACTERS:
            raise InputError("characters", f"range {low}-{high} is not within 1-{MAX_CHARACTERS}",
                             "give e.g. 3 or 2-4")
        if self.choreographies != MIXED:
            object.__setattr__(self, "choreographies",
                               tuple("+".join(parse_choreography(c)) for c in self.choreographies))
        if self.background not in (MIXED, *BACKGROUNDS):
            raise InputError("background", f"unknown background {self.background!r}",
                             f"use {MIXED} or one of {BACKGROUNDS}")
        if not 0 <= self.lookalike_probability <= 1:
            raise InputError("lookalike_probability", f"{self.lookalike_probability} is not in [0, 1]",
                             "use e.g. 0.25")
        self.scene_config(0)  # validates sizes, frames, fps and the combinations once, up front

    def scene_config(self, index: int) -> SceneConfig:
        """The config of scene ``index``: a pure function of (seed, index), so datasets extend reproducibly."""
        rng = np.random.default_rng([self.seed, index])
        combos = DEFAULT_MIX if self.choreographies == MIXED else self.choreographies
        choreography = parse_choreography(combos[int(rng.integers(len(combos)))])
        low = max(self.characters[0], _minimum_characters(choreography))
        count = int(rng.integers(low, max(low, self.characters[1]) + 1))
        background = BACKGROUNDS[int(rng.integers(2))] if self.background == MIXED else self.background
        lookalikes = int(count >= 2 and rng.random() < self.lookalike_probability)
        return SceneConfig(characters=count, frames=self.frames, width=self.width, height=self.height,
                           choreography=choreography, speed=round(float(rng.uniform(0.7, 1.4)), 2),
                           amplitude=round(float(rng.uniform(0.6, 1.2)), 2), background=background, lookalikes=lookalikes,
                           fps=self.fps, seed=int(rng.integers(2**31)))


def _minimum_characters(choreography: tuple[str, ...]) -> int:
    pairs = {"swap", "cross"} & set(choreography)
    return 3 if pairs and "fewer" in choreography else 2 if pairs or "fewer" in choreography else 1


def scene_name(index: int) -> str:
    return f"scene_{index:05d}"


def write_dataset(out: Path, spec: DatasetSpec, progress: Progress = no_progress) -> list[Path]:
    """Generate ``spec.scenes`` scenes into ``out``; returns the scene folders. Resumes a matching dataset."""
    out = Path(out)
    _check_compatible(out, spec)
    folders = [out / scene_name(i) for i in range(spec.scenes) if (out / scene_name(i)).is_dir()]
    _write_manifest(out, spec, folders)  # first, so an interrupted run can be resumed with the same settings
    for index in range(spec.scenes):
        folder = out / scene_name(index)
        if not folder.exists():
            scene = make_scene(spec.scene_config(index), scaled(progress, index, 1, spec.scenes))
            write_scene(scene, folder)
            folders.append(folder)
            _write_manifest(out, spec, folders)  # lists only complete scenes (each is written atomically)
        progress(index + 1, spec.scenes)
    return [out / scene_name(i) for i in range(spec.scenes)]


def _write_manifest(out: Path, spec: DatasetSpec, folders: list[Path]) -> None:
    names = sorted({f.name for f in folders})
    _write_json(out / "dataset.json", {"format": FORMAT, "version": VERSION, "spec": _spec_json(spec),
                                       "scenes": names})


def _spec_json(spec: DatasetSpec) -> dict:
    data = asdict(spec)
    data["characters"] = list(spec.characters)
    if not isinstance(spec.choreographies, str):
        data["choreographies"] = list(spec.choreographies)
    return data


def _check_compatible(out: Path, spec: DatasetSpec) -> None:
    manifest_path = out / "dataset.json"
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{out} is a file", "give a folder path")
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            old_spec = old.get("spec", {}) | {"scenes": spec.scenes}
        except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError):
            raise InputError("out", f"{manifest_path} is damaged", "choose an empty folder, or delete the damaged "
                             "dataset") from None
        if old_spec != _spec_json(spec):
            raise InputError("out", f"{out} holds a dataset made with other settings",
                             "choose an empty folder, or repeat the original settings to extend it")
    elif out.is_dir() and any(out.iterdir()):
        raise InputError("out", f"{out} is not empty and holds no dataset.json", "choose an empty or new folder")


def _write_json(path: Path, data: dict) -> None:
    with atomic_file(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")


def _packed(masks: np.ndarray) -> np.ndarray:
    return np.packbits(masks, axis=-1)


def _unpacked(packed: np.ndarray, width: int) -> np.ndarray:
    return np.unpackbits(packed, axis=-1, count=width).astype(bool)


def write_scene(scene: Scene, folder: Path) -> None:
    """Write one scene folder (atomically): frames, reference, poses, masks, and ``scene.json``."""
    with atomic_directory(Path(folder)) as tmp:
        (tmp / "frames").mkdir()
        for t, frame in enumerate(scene.frames):
            _write_png(tmp / "frames" / f"{t:06d}.png", frame)
        _write_png(tmp / "reference.png", scene.reference.frame)
        poses = {key: getattr(scene, key) for key in POSE_KEYS if key not in ("keypoints", "depth")}
        np.savez_compressed(tmp / "poses.npz", keypoints=scene.poses.keypoints, depth=scene.poses.depth,
                            track_ids=np.array(scene.identities), **poses,
                            reference_keypoints=scene.reference.poses.keypoints,
                            reference_depth=scene.reference.poses.depth)
        masks = {key: _packed(getattr(scene, attr)) for key, attr in zip(
            MASK_KEYS, ("masks_visible", "masks_full", "face_masks", "hand_masks"))}
        ref = scene.reference
        np.savez_compressed(tmp / "masks.npz", reference=_packed(ref.masks), reference_face=_packed(ref.face_masks),
                            reference_hands=_packed(ref.hand_masks), **masks)
        (tmp / "scene.json").write_text(json.dumps(_scene_json(scene), indent=1))


def _scene_json(scene: Scene) -> dict:
    return {
        "format": f"{FORMAT}-scene", "version": VERSION, "config": asdict(scene.config),
        "characters": [asdict(c) for c in scene.characters],
        "reference_order": list(scene.reference.order),
        "swap_table": [list(row) for row in scene.swap_table],
        "lookalike_pairs": [list(pair) for pair in scene.lookalike_pairs],
        "frames": scene.frames.shape[0], "width": scene.config.width, "height": scene.config.height,
    }


def _read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("path", f"cannot read image {path}", "regenerate the dataset scene")
    return image[..., ::-1].copy()


def _character(data: dict) -> Character:
    data = dict(data)
    data["proportions"] = Proportions(**data["proportions"])
    for key in ("skin", "hair", "top", "top_secondary", "bottom", "shoes"):
        data[key] = tuple(data[key])
    return Character(**data)


def load_scene(folder: Path) -> Scene:
    """Read a scene folder written by ``write_scene`` back into an identical ``Scene``."""
    folder = Path(folder)
    try:
        return _load_scene(folder)
    except (KeyError, ValueError, OSError, TypeError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError("path", f"scene {folder} is incomplete or corrupt ({type(err).__name__}: {err})",
                         "delete that scene folder and rerun the generator with the same settings") from err


def _load_scene(folder: Path) -> Scene:
    meta_path = folder / "scene.json"
    if not meta_path.is_file():
        raise InputError("path", f"{folder} has no scene.json", "point at a scene folder of a synthetic dataset")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != f"{FORMAT}-scene" or meta.get("version") != VERSION:
        raise InputError("path", f"{meta_path} is not a version-{VERSION} synthetic scene", "regenerate the dataset")
    cfg = dict(meta["config"], choreography=tuple(meta["config"]["choreography"]))
    config = SceneConfig(**cfg)
    width = config.width
    frames = np.stack([_read_png(folder / "frames" / f"{t:06d}.png") for t in range(meta["frames"])])
    with np.load(folder / "poses.npz", allow_pickle=False) as p, np.load(folder / "masks.npz", allow_pickle=False) as m:
        ids = tuple(int(i) for i in p["track_ids"])
        poses = PoseSequence(p["keypoints"], ids, width, config.height, config.fps, p["depth"])
        ref_poses = PoseSequence(p["reference_keypoints"], ids, width, config.height, config.fps,
                                 p["reference_depth"])
        reference = Reference(_read_png(folder / "reference.png"), ref_poses, _unpacked(m["reference"], width),
                              tuple(meta["reference_order"]), _unpacked(m["reference_face"], width),
                              _unpacked(m["reference_hands"], width))
        masks = {key: _unpacked(m[key], width) for key in MASK_KEYS}
        arrays = {key: p[key] for key in POSE_KEYS if key not in ("keypoints", "depth")}
    return Scene(config=config, characters=tuple(_character(c) for c in meta["characters"]), frames=frames,
                 poses=poses, masks_full=masks["full"], masks_visible=masks["visible"], face_masks=masks["face"],
                 hand_masks=masks["hands"], reference=reference,
                 swap_table=tuple(tuple(row) for row in meta["swap_table"]), **arrays)


def load_dataset(out: Path) -> list[Path]:
    """The scene folders of a dataset, in order, after checking its manifest."""
    out = Path(out)
    manifest_path = out / "dataset.json"
    if not manifest_path.is_file():
        raise InputError("path", f"{out} has no dataset.json", "point at a folder made by `choreograph synth`")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InputError("path", f"{manifest_path} is not a version-{VERSION} synthetic dataset",
                         "regenerate the dataset")
    return [out / name for name in manifest["scenes"]]
