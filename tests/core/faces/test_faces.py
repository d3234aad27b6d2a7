"""Face identities: ArcFace alignment from pose keypoints, ONNX embedding, and the zero vector for no face."""
from __future__ import annotations

import numpy as np
import pytest
from _support import load_helper
from choreograph.core.errors import InputError
from choreograph.core.faces.arcface import (
    ARCFACE_TEMPLATE,
    LANDMARK_INDICES,
    ArcFace,
    aligned_face,
    embed_faces,
    face_landmarks,
)
from choreograph.core.faces.embeds import FACE_EMBEDDING_DIM, FaceEmbeds

tiny = load_helper("core/faces/tiny_arcface.py")
SIZE, face_pose, scene, tiny_arcface = tiny.SIZE, tiny.face_pose, tiny.scene, tiny.tiny_arcface


def test_alignment_puts_the_landmarks_on_the_template():
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    landmarks = face_pose((60, 70), 0.5)[list(LANDMARK_INDICES), :2]
    for x, y in landmarks:
        image[int(round(y)), int(round(x))] = 1.0
    crop = aligned_face(image, landmarks)
    assert crop.shape == (112, 112, 3)
    for x, y in ARCFACE_TEMPLATE:
        patch = crop[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3]
        assert patch.max() > 20  # the dot (255) landed within 2 px, blurred by bilinear scaling


def test_embeddings_per_track_raw_and_zero_for_no_face(tmp_path):
    """Raw network output (insightface ``embedding``, what StableAnimator feeds), not rescaled to unit length."""
    image, poses = scene()
    arcface = ArcFace(tiny_arcface(tmp_path / "glintr100.onnx"))
    faces = embed_faces(arcface, image, poses)
    assert faces.track_ids == (4, 7, 9) and faces.found == (True, True, False)
    crops = np.stack([aligned_face(image, face_landmarks(poses.keypoints[0, p])) for p in (0, 1)])
    raw = arcface.session.run(None, {arcface.input_name: ((crops - 127.5) / 127.5).transpose(0, 3, 1, 2)})[0]
    np.testing.assert_allclose(faces.vectors[:2], raw, rtol=1e-6, atol=1e-6)
    assert not np.any(faces.vectors[2])
    assert not np.allclose(faces.vectors[0], faces.vectors[1])  # red face vs blue face
    assert faces.for_tracks([7, 4]).found == (True, True)
    assert np.array_equal(faces.for_tracks([7, 4]).vectors[0], faces.vectors[1])


def test_no_model_gives_zero_vectors_not_a_crash():
    image, poses = scene()
    faces = embed_faces(None, image, poses)
    assert faces.found == (False, False, False) and not faces.vectors.any()


def test_small_or_hidden_faces_are_not_used():
    tiny = face_pose((50, 50), 0.05)
    assert face_landmarks(tiny) is None
    hidden = face_pose((50, 50), 0.5)
    hidden[LANDMARK_INDICES[3], 2] = 0.0
    assert face_landmarks(hidden) is None


def test_bad_inputs_name_the_input(tmp_path):
    image, poses = scene()
    with pytest.raises(InputError, match="poses"):
        embed_faces(None, image[:64], poses)
    with pytest.raises(InputError, match="face_embeds"):
        FaceEmbeds.missing((1, 2)).for_tracks([3])
    (tmp_path / "broken.onnx").write_bytes(b"not onnx")
    with pytest.raises(InputError, match="arcface_model"):
        ArcFace(tmp_path / "broken.onnx")


def test_value_type_rejects_inconsistent_rows():
    with pytest.raises(ValueError, match="zero vector"):
        FaceEmbeds(np.ones((1, FACE_EMBEDDING_DIM)), (1,), (False,))
    with pytest.raises(ValueError, match="agree"):
        FaceEmbeds(np.zeros((2, FACE_EMBEDDING_DIM)), (1,), (False,))
    assert FaceEmbeds.missing(()).tensor().shape == (0, FACE_EMBEDDING_DIM)
