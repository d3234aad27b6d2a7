"""DanceTogether nodes headless: load tiny files from the models folder, embed faces, sample, decode."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from _support import load_helper
from choreograph.core.conditioning.characters import Character, CharacterSet
from choreograph.core.conditioning.identity import IdentityMap
from choreograph.core.errors import InputError
from choreograph.core.faces.embeds import FaceEmbeds
from choreograph.nodes.mask_pose import (
    ChoreoMaskPoseDecode,
    ChoreoMaskPoseLoader,
    ChoreoMaskPoseSampler,
    ChoreoMultiFaceEmbeds,
)

SIZE, FRAMES, PEOPLE = 32, 3, 2


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    tiny = load_helper("core/models/stable_animator/tiny_dance.py")
    files = tiny.write_files(tmp_path / "models" / "stable_animator")
    (tmp_path / "models" / "diffusers").mkdir()
    shutil.move(str(files["svd_folder"]), tmp_path / "models" / "diffusers" / "svd")
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "models"


def load(models_dir):
    return ChoreoMaskPoseLoader().run("unet/diffusion_pytorch_model.safetensors", "pose_net.safetensors",
                                      "face_encoder.safetensors", "svd", "fp32", "cpu")


def test_loader_lists_and_loads_the_files(models_dir):
    names = ChoreoMaskPoseLoader.INPUT_TYPES()["required"]["pose_net"][0]
    assert "pose_net.safetensors" in names
    model, summary = load(models_dir)
    assert "2 people" in summary and model.adapter.config.channels == 32
    with pytest.raises(InputError, match="face_encoder"):
        ChoreoMaskPoseLoader().run("unet/diffusion_pytorch_model.safetensors", "pose_net.safetensors",
                                   "pose_net.safetensors", "svd", "fp32", "cpu")


def test_sample_and_decode_person_major_batches(models_dir):
    model, _ = load(models_dir)
    g = torch.Generator().manual_seed(0)
    pose_maps = torch.rand(PEOPLE * FRAMES, SIZE, SIZE, 3, generator=g)
    masks = (torch.rand(PEOPLE * FRAMES, SIZE, SIZE, generator=g) > 0.5).float()
    faces = FaceEmbeds.missing((3, 5))
    sampler = ChoreoMaskPoseSampler()
    args = dict(model=model, reference_image=torch.rand(1, SIZE, SIZE, 3, generator=g), pose_maps=pose_maps,
                masks=masks, people=PEOPLE, face_embeds=faces, steps=1)
    (latent,) = sampler.run(**args)
    assert latent["samples"].shape == (FRAMES, 4, SIZE // 8, SIZE // 8)
    (frames,) = ChoreoMaskPoseDecode().run(model, latent, 2)
    assert frames.shape == (FRAMES, SIZE, SIZE, 3)
    with pytest.raises(InputError, match="masks"):
        sampler.run(**{**args, "masks": masks[:-1]})
    with pytest.raises(InputError, match="face_embeds"):
        sampler.run(**{**args, "face_embeds": FaceEmbeds.missing((3,))})
    with pytest.raises(InputError, match="latent"):
        ChoreoMaskPoseDecode().run(model, {"samples": torch.zeros(2, 16, 4, 4)})


def test_face_embeds_follow_character_order_and_missing_faces_are_zero(tmp_path, monkeypatch):
    faces_helper = load_helper("core/faces/tiny_arcface.py")
    image, poses = faces_helper.scene()  # reference people 4 and 7 show faces, 9 does not
    (tmp_path / "models" / "insightface").mkdir(parents=True)
    faces_helper.tiny_arcface(tmp_path / "models" / "insightface" / "glintr100.onnx")
    monkeypatch.setenv("CHOREOGRAPH_MODELS_DIR", str(tmp_path / "models"))
    crop, mask = np.ones((4, 4, 3), np.float32), np.ones((4, 4), np.float32)
    chars = CharacterSet(
        (Character(11, 9, 0, crop, mask, (0, 0, 4, 4)), Character(12, 4, 1, crop, mask, (0, 0, 4, 4))),
        image, np.ones((2, SIZE * 4, SIZE * 4), np.float32), IdentityMap((11, 12), (0, 1)))
    node = ChoreoMultiFaceEmbeds()
    assert "glintr100.onnx" in node.INPUT_TYPES()["required"]["arcface_model"][0]
    faces, characters, summary = node.run(torch.from_numpy(image)[None], poses, chars, "glintr100.onnx")
    assert faces.track_ids == (11, 12) and faces.found == (False, True)
    assert not faces.vectors[0].any() and np.linalg.norm(faces.vectors[1]) > 1  # raw ArcFace output, not unit
    assert "no face" in summary and np.array_equal(characters.face_embeddings(), faces.vectors)
    none, _, _ = node.run(torch.from_numpy(image)[None], poses, chars, "none")
    assert none.found == (False, False) and not none.vectors.any()
    with pytest.raises(InputError, match="reference_poses"):
        bad = CharacterSet((Character(11, 99, 0, crop, mask, (0, 0, 4, 4)),), image,
                           np.ones((1, SIZE * 4, SIZE * 4), np.float32), IdentityMap((11,), (0,)))
        ChoreoMultiFaceEmbeds().run(torch.from_numpy(image)[None], poses, bad, "none")


def test_runs_on_the_guidance_nodes_outputs(models_dir):
    """Synthetic tracked dancers → per-person pose maps and masks (guidance nodes) → MaskPose sampler."""
    from choreograph.core.conditioning.identity import assign_identities, stream_order
    from choreograph.core.synth.config import SceneConfig
    from choreograph.core.synth.scene import make_scene
    from choreograph.nodes.guidance import ChoreoIdentityMasks, ChoreoPerPersonPoseMaps

    scene = make_scene(SceneConfig(characters=2, frames=2, width=64, height=64))
    identity_map = assign_identities(scene.poses)
    pose_maps, people = ChoreoPerPersonPoseMaps().run(scene.poses, identity_map)
    _, mask_batch, mask_people = ChoreoIdentityMasks().run(scene.poses, identity_map)
    assert people == mask_people == 2
    faces = FaceEmbeds.missing(stream_order(identity_map, scene.poses.track_ids))
    model, _ = load(models_dir)
    reference = torch.from_numpy(scene.frames[:1].astype(np.float32) / 255.0)
    (latent,) = ChoreoMaskPoseSampler().run(model, reference, pose_maps, mask_batch, people, faces, steps=1)
    assert latent["samples"].shape == (2, 4, 8, 8) and torch.isfinite(latent["samples"]).all()
