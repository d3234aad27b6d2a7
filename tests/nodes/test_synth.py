import numpy as np
import pytest
import torch
from choreograph.cli import main as cli_main
from choreograph.core.errors import InputError
from choreograph.core.synth.dataset import load_dataset, load_scene
from choreograph.nodes import NODE_CLASS_MAPPINGS
from choreograph.nodes._host import set_headless_directory
from choreograph.nodes.synth import ChoreoSyntheticDataset, ChoreoSyntheticScene


def test_scene_node_outputs_comfy_types():
    frames, poses, masks, batch, ref, ref_poses, scene = ChoreoSyntheticScene().run(
        characters=2, frames=5, width=64, height=64, choreography="dance+swap", seed=2, mask_kind="face")
    assert frames.dtype == torch.float32 and frames.shape == (5, 64, 64, 3) and 0 <= frames.min() <= frames.max() <= 1
    assert poses.keypoints.shape == (5, 2, 133, 3) and ref_poses.num_frames == 1
    assert masks.track_ids == (0, 1) and masks.masks.shape == (5, 2, 64, 64)
    assert batch.shape == (10, 64, 64)
    assert torch.equal(batch[5:], torch.from_numpy(scene.face_masks[:, 1].astype(np.float32)))
    assert ref.shape == (1, 64, 64, 3)
    assert np.allclose(frames.numpy(), scene.frames / 255.0)


def test_scene_node_rejects_bad_settings():
    with pytest.raises(InputError, match="choreography"):
        ChoreoSyntheticScene().run(characters=1, choreography="swap")
    with pytest.raises(InputError, match="mask_kind"):
        ChoreoSyntheticScene().run(frames=2, width=64, height=64, mask_kind="feet")


def test_dataset_node_writes_numbered_dataset(tmp_path):
    set_headless_directory("output", tmp_path)
    result = ChoreoSyntheticDataset().run(scenes=1, frames=3, width=64, height=64, min_characters=2,
                                          max_characters=2, choreographies="dance\ncross", seed=1,
                                          filename_prefix="synth/set")
    path = result["result"][0]
    assert path.endswith("set_00001")
    scene = load_scene(load_dataset(path)[0])
    assert scene.config.characters == 2 and scene.config.choreography in (("dance",), ("cross",))
    assert "ChoreoSyntheticScene" in NODE_CLASS_MAPPINGS and "ChoreoSyntheticDataset" in NODE_CLASS_MAPPINGS


def test_cli_writes_dataset_and_reports_bad_input(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["synth", "--out", str(out), "--scenes", "2", "--seed", "4", "--frames", "3", "--width", "64",
                     "--height", "64", "--characters", "2-3", "--choreography", "dance+exit"]) == 0
    assert len(load_dataset(out)) == 2
    assert cli_main(["synth", "--out", str(tmp_path / "bad"), "--width", "100"]) == 2
    assert "width" in capsys.readouterr().err
