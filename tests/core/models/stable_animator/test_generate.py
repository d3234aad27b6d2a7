"""DanceTogether end to end on CPU with tiny networks, absent people, long-video tiles and input errors."""
from __future__ import annotations

import pytest
import torch

from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.sampling.stable_animator import (MaskPoseVideo, adapter_features, decode_latents,
                                                              generate_latents)
from choreograph.core.models.stable_animator.loader import DanceTogetherModel, load_dance_together
from choreograph.core.sampling.edm import SvdSettings

SIZE = 32


@pytest.fixture(scope="module")
def model(tmp_path_factory, tiny) -> DanceTogetherModel:
    """Written in the public layouts and loaded through the real loaders (exact key check included)."""
    files = tiny.write_files(tmp_path_factory.mktemp("dance"))
    return load_dance_together(**files, policy=DtypePolicy(torch.float32))


def clip(people: int, frames: int, seed: int = 0, size: int = SIZE) -> MaskPoseVideo:
    g = torch.Generator().manual_seed(seed)
    return MaskPoseVideo(reference=torch.rand(size, size, 3, generator=g),
                         pose_maps=torch.rand(people, frames, size, size, 3, generator=g),
                         masks=(torch.rand(people, frames, size, size, generator=g) > 0.5).float(),
                         faces=torch.randn(people, 512, generator=g))


def test_two_people_long_video_end_to_end(model):
    """6 frames in tiles of 4 (frame 0 anchored in both), decoded to frames."""
    video = clip(2, 6)
    latents = generate_latents(model, video, SvdSettings(steps=2, tile=4, overlap=1))
    assert latents.shape == (1, 6, 4, SIZE // 8, SIZE // 8) and torch.isfinite(latents).all()
    frames = decode_latents(model.vae, latents)
    assert frames.shape == (6, SIZE, SIZE, 3) and frames.min() >= 0 and frames.max() <= 1


def test_absent_person_and_missing_face(model):
    """One person for a two-person adapter (the other is padded as absent), and a zero face vector."""
    video = clip(1, 3, seed=1)
    video = MaskPoseVideo(video.reference, video.pose_maps, video.masks, torch.zeros(1, 512))
    latents = generate_latents(model, video, SvdSettings(steps=1, min_guidance=1.0, max_guidance=1.0))
    assert latents.shape == (1, 3, 4, SIZE // 8, SIZE // 8) and torch.isfinite(latents).all()


def test_adapter_features_follow_the_pose_maps(model):
    video = clip(2, 2, seed=2)
    moved = MaskPoseVideo(video.reference, video.pose_maps.roll(8, dims=3), video.masks, video.faces)
    assert not torch.allclose(adapter_features(model, video), adapter_features(model, moved))


@pytest.mark.parametrize("change, name", [
    (lambda v: dict(masks=v.masks[:1]), "masks"),
    (lambda v: dict(masks=v.masks[:, :, :16]), "masks"),
    (lambda v: dict(faces=v.faces[:1]), "face_embeds"),
    (lambda v: dict(faces=v.faces[:, :128]), "face_embeds"),
    (lambda v: dict(reference=v.reference[:16]), "reference_image"),
    (lambda v: dict(pose_maps=v.pose_maps[0]), "pose_maps"),
])
def test_bad_inputs_name_the_input(change, name):
    video = clip(2, 2)
    fields = dict(reference=video.reference, pose_maps=video.pose_maps, masks=video.masks, faces=video.faces)
    fields.update(change(video))
    with pytest.raises(InputError) as err:
        MaskPoseVideo(**fields)
    assert err.value.input_name == name


def test_too_many_people_or_wrong_size_is_refused_before_sampling(model):
    with pytest.raises(InputError, match="pose_maps"):
        adapter_features(model, clip(3, 1))
    with pytest.raises(InputError, match="reference_image"):
        generate_latents(model, clip(2, 1, size=24), SvdSettings(steps=1))


def test_svd_vae_stays_fp32_under_a_16_bit_policy(tmp_path, tiny):
    from choreograph.core.models.stable_animator.loader import load_image_encoder, load_vae

    files = tiny.write_files(tmp_path)
    assert next(load_vae(files["svd_folder"], DtypePolicy(torch.bfloat16)).parameters()).dtype == torch.float32
    encoder = load_image_encoder(files["svd_folder"], DtypePolicy(torch.bfloat16))
    assert next(encoder.parameters()).dtype == torch.bfloat16
    with pytest.raises(InputError, match="svd_folder"):
        load_vae(tmp_path / "unet", DtypePolicy())
