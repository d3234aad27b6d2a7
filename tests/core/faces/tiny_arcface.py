"""A tiny ArcFace stand-in (ONNX, real interface) and a reference image with posed faces, for the face tests."""
from __future__ import annotations

import numpy as np

from choreograph.core.faces.arcface import ARCFACE_TEMPLATE, LANDMARK_INDICES
from choreograph.core.faces.embeds import FACE_EMBEDDING_DIM
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
