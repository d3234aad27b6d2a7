import json

import numpy as np
import pytest
from choreograph.core.errors import InputError
from choreograph.core.synth import make_scene
from choreograph.core.synth.dataset import DatasetSpec, load_dataset, load_scene, write_dataset

SPEC = DatasetSpec(scenes=2, seed=5, frames=6, width=64, height=64, characters=(2, 3))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "data"
    write_dataset(out, SPEC)
    return out


def test_scene_round_trips_exactly(dataset):
    folders = load_dataset(dataset)
    assert [f.name for f in folders] == ["scene_00000", "scene_00001"]
    loaded, made = load_scene(folders[1]), make_scene(SPEC.scene_config(1))
    for name in ("frames", "masks_full", "masks_visible", "face_masks", "hand_masks", "visibility", "boxes",
                 "boxes_full", "present", "depth_order"):
        assert np.array_equal(getattr(loaded, name), getattr(made, name)), name
    assert np.array_equal(loaded.poses.keypoints, made.poses.keypoints)
    assert np.array_equal(loaded.poses.depth, made.poses.depth)
    assert loaded.poses.track_ids == made.poses.track_ids
    assert loaded.characters == made.characters and loaded.config == made.config
    assert loaded.swap_table == made.swap_table
    assert loaded.reference.order == made.reference.order
    assert np.array_equal(loaded.reference.frame, made.reference.frame)
    for name in ("masks", "face_masks", "hand_masks"):
        assert np.array_equal(getattr(loaded.reference, name), getattr(made.reference, name)), name


def test_files_are_plain_formats(dataset):
    scene = dataset / "scene_00000"
    assert sorted(p.name for p in scene.iterdir()) == ["frames", "masks.npz", "poses.npz", "reference.png",
                                                       "scene.json"]
    assert len(list((scene / "frames").glob("*.png"))) == 6
    with np.load(scene / "poses.npz", allow_pickle=False) as poses:
        assert poses["keypoints"].shape[2:] == (133, 3)
    meta = json.loads((scene / "scene.json").read_text())
    assert meta["format"] == "choreograph-synth-scene" and meta["frames"] == 6
    assert not list(dataset.glob(".*partial"))


def test_rerun_resumes_and_other_settings_are_refused(dataset):
    before = (dataset / "scene_00000" / "poses.npz").stat().st_mtime_ns
    write_dataset(dataset, DatasetSpec(scenes=3, seed=5, frames=6, width=64, height=64, characters=(2, 3)))
    assert (dataset / "scene_00000" / "poses.npz").stat().st_mtime_ns == before
    assert len(load_dataset(dataset)) == 3
    with pytest.raises(InputError) as err:
        write_dataset(dataset, DatasetSpec(scenes=2, seed=6, frames=6, width=64, height=64))
    assert err.value.input_name == "out"


def test_scene_configs_vary_and_respect_the_ranges():
    spec = DatasetSpec(scenes=20, seed=1, characters=(2, 5))
    configs = [spec.scene_config(i) for i in range(20)]
    assert all(2 <= c.characters <= 5 for c in configs)
    assert len({c.choreography for c in configs}) >= 4 and len({c.background for c in configs}) == 2
    assert spec.scene_config(7) == DatasetSpec(scenes=3, seed=1, characters=(2, 5)).scene_config(7)


def test_bad_spec_names_the_parameter(tmp_path):
    with pytest.raises(InputError, match="characters"):
        DatasetSpec(characters=(0, 3))
    with pytest.raises(InputError, match="scenes"):
        DatasetSpec(scenes=0)
    with pytest.raises(InputError, match="width"):
        DatasetSpec(width=100)
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(InputError, match="out"):
        write_dataset(tmp_path, SPEC)
    with pytest.raises(InputError, match="path"):
        load_dataset(tmp_path)


def test_corrupt_scene_is_reported_with_a_fix(tmp_path):
    out = tmp_path / "data"
    write_dataset(out, DatasetSpec(scenes=1, seed=2, frames=2, width=64, height=64))
    scene = out / "scene_00000"
    with np.load(scene / "masks.npz") as masks:
        kept = {k: masks[k] for k in masks if k != "hands"}
    np.savez_compressed(scene / "masks.npz", **kept)
    with pytest.raises(InputError, match="corrupt") as err:
        load_scene(scene)
    assert err.value.input_name == "path" and "rerun" in err.value.fix
    (scene / "frames" / "000001.png").unlink()
    with pytest.raises(InputError, match="000001.png"):
        load_scene(scene)
