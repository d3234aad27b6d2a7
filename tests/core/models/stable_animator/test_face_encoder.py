"""MultiFace: one FusionFaceId pass per identity, tokens concatenated in person order; files load exactly."""
from __future__ import annotations

import pytest
import torch

from choreograph.core.errors import InputError
from choreograph.core.models.loading import DtypePolicy
from choreograph.core.models.stable_animator.loader import load_face_encoder


@pytest.fixture(scope="module")
def encoder(tiny):
    return tiny.tiny_face_encoder()


def inputs(people: int, width: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return torch.randn(2, people, 512, generator=g), torch.randn(2, 1, width, generator=g)


def test_tokens_are_per_person_blocks_in_stream_order(encoder, tiny):
    faces, clip = inputs(3)
    k, d = tiny.FACE_CONFIG.tokens, tiny.FACE_CONFIG.width
    with torch.no_grad():
        tokens = encoder.encode_people(faces, clip)
        assert tokens.shape == (2, 3 * k, d)
        for person in range(3):
            alone = encoder(faces[:, person], clip)
            assert torch.allclose(tokens[:, person * k:(person + 1) * k], alone, atol=1e-5)
        swapped = encoder.encode_people(faces[:, [1, 0, 2]], clip)
    assert torch.allclose(swapped[:, :k], tokens[:, k:2 * k], atol=1e-5)


def test_missing_face_is_a_zero_vector_with_finite_tokens(encoder):
    faces, clip = inputs(2)
    faces[:, 1] = 0
    with torch.no_grad():
        tokens = encoder.encode_people(faces, clip)
        none = encoder.encode_people(faces[:, :0], clip)
    assert torch.isfinite(tokens).all() and none.shape == (2, 0, 64)


def test_shortcut_adds_the_mlp_tokens(encoder):
    faces, clip = inputs(1)
    with torch.no_grad():
        plain = encoder(faces[:, 0], clip)
        tokens = encoder.norm(encoder.proj(faces[:, 0]).unflatten(-1, (4, 64)))
        assert torch.allclose(encoder(faces[:, 0], clip, shortcut=True), tokens + plain, atol=1e-5)


def test_file_loads_with_sizes_read_from_it(tmp_path, encoder, tiny):
    path = tiny.save_state(encoder, tmp_path / "face_encoder.safetensors")
    loaded = load_face_encoder(path, DtypePolicy(torch.float32))
    assert loaded.config == tiny.FACE_CONFIG
    faces, clip = inputs(2)
    with torch.no_grad():
        assert torch.allclose(loaded.encode_people(faces, clip), encoder.encode_people(faces, clip))


def test_other_file_names_the_input(tmp_path, tiny):
    path = tiny.save_state(tiny.tiny_pose_net(), tmp_path / "pose.safetensors")
    with pytest.raises(InputError, match="face_encoder"):
        load_face_encoder(path)
