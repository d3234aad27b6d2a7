"""Face identities: ArcFace alignment from pose keypoints, ONNX embedding, and the zero vector for no face."""
from __future__ import annotations

import numpy as np
import pytest

from choreograph.core.errors import InputError
from choreograph.core.faces.arcface import (ARCFACE_TEMPLATE, LANDMARK_INDICES, ArcFace, aligned_face, embed_faces,
                                            face_landmarks)
from choreograph.core.faces.embeds import FACE_EMBEDDING_DIM, FaceEmbeds
from choreograph.core.pose.sequence import PoseSequence

SIZE = 128


def tiny_arcface(path) -> str:
    """An ONNX stand-in with ArcFace's interface: mean colour per channel → a fixed 3×512 projection."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).normal(size=(3, FACE_EMBEDDING_DIM)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["683"])],
        "tiny_arcface",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["n", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["n", FACE_EMBEDDING_DIM])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def face_pose(centre: tuple[float, float], scale: float) -> np.ndarray:
    """133 keypoints (score 0) with the five ArcFace landmarks placed like the template around ``centre``."""
    kp = np.zeros((133, 3), np.float32)
    for point, index in zip(ARCFACE_TEMPLATE, LANDMARK_INDICES):
        kp[index] = (centre[0] + (point[0] - 56) * scale, centre[1] + (point[1] - 56) * scale, 0.9)
    return kp


def scene() -> tuple[np.ndarray, PoseSequence]:
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    image[:, :SIZE // 2] = (0.9, 0.2, 0.1)
    image[:, SIZE // 2:] = (0.1, 0.3, 0.9)
    kp = np.zeros((1, 3, 133, 3), np.float32)
    kp[0, 0] = face_pose((32, 64), 0.4)
    kp[0, 1] = face_pose((96, 64), 0.4)  # person 2 (track 9) has no visible face
    return image, PoseSequence(kp, (4, 7, 9), SIZE, SIZE)


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


def test_embeddings_per_track_unit_length_and_zero_for_no_face(tmp_path):
    image, poses = scene()
    arcface = ArcFace(tiny_arcface(tmp_path / "glintr100.onnx"))
    faces = embed_faces(arcface, image, poses)
    assert faces.track_ids == (4, 7, 9) and faces.found == (True, True, False)
    assert np.allclose(np.linalg.norm(faces.vectors[:2], axis=1), 1.0, atol=1e-5)
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
