"""Tiny ONNX stand-ins for DWPose's two networks, with the real input/output names and shapes.

- Detector (``yolox_l.onnx``): ``images (1, 3, 640, 640)`` → ``output (1, 8400, 85)``; returns fixed raw anchor
  predictions (given by the test) so the real YOLOX decoding, NMS and rescaling run on known boxes.
- Estimator (``dw-ll_ucoco_384.onnx``): ``input (batch, 3, 384, 288)`` → ``simcc_x (batch, 133, 576)``,
  ``simcc_y (batch, 133, 768)``; every keypoint lands on the brightest pixel of the crop (column/row maxima of the
  channel mean, upsampled ×2 like the real SimCC split ratio), so crop → decode → back-mapping is checked end to end.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

ANCHORS, CLASSES = 8400, 80


def _save(model, path: Path) -> Path:
    import onnx

    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def anchor_index(stride: int, cell_x: int, cell_y: int) -> int:
    """Row of the raw output for a grid cell (grids of strides 8, 16, 32 in that order, row-major)."""
    offset = 0
    for s in (8, 16, 32):
        if s == stride:
            return offset + cell_y * (640 // s) + cell_x
        offset += (640 // s) ** 2
    raise ValueError(stride)


def raw_box(raw: np.ndarray, box_net: tuple[float, float, float, float], stride: int, objectness: float,
            class_scores: dict[int, float]) -> None:
    """Write a box given in network pixels (xyxy, centre on a cell of ``stride``) into a raw output."""
    cx, cy = (box_net[0] + box_net[2]) / 2, (box_net[1] + box_net[3]) / 2
    row = anchor_index(stride, int(cx // stride), int(cy // stride))
    raw[row, 0:2] = cx / stride - int(cx // stride), cy / stride - int(cy // stride)
    raw[row, 2:4] = np.log((box_net[2] - box_net[0]) / stride), np.log((box_net[3] - box_net[1]) / stride)
    raw[row, 4] = objectness
    for cls, score in class_scores.items():
        raw[row, 5 + cls] = score


def make_detector(path: Path, raw: np.ndarray) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Reshape", ["z", "shape"], ["z3"]),
        helper.make_node("Add", ["raw", "z3"], ["output"]),
    ]
    inits = [numpy_helper.from_array(raw[None].astype(np.float32), "raw"),
             numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
             numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape")]
    graph = helper.make_graph(nodes, "tiny_yolox",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, ANCHORS, 5 + CLASSES])],
                              inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)


def _upsampled_axis(axis: int, name: str) -> list:
    from onnx import helper

    return [
        helper.make_node("ReduceMax", ["mean"], [f"{name}_max"], axes=[axis], keepdims=0),
        helper.make_node("Unsqueeze", [f"{name}_max", "last"], [f"{name}_u"]),
        helper.make_node("Concat", [f"{name}_u", f"{name}_u"], [f"{name}_2"], axis=3),
        helper.make_node("Reshape", [f"{name}_2", f"{name}_shape"], [f"{name}_r"]),
        helper.make_node("Expand", [f"{name}_r", "keypoints"], [name]),
    ]


def make_estimator(path: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1], keepdims=1)]
    nodes += _upsampled_axis(2, "simcc_x") + _upsampled_axis(3, "simcc_y")
    inits = [numpy_helper.from_array(np.array([3], np.int64), "last"),
             numpy_helper.from_array(np.array([1, 133, 1], np.int64), "keypoints"),
             numpy_helper.from_array(np.array([-1, 1, 576], np.int64), "simcc_x_shape"),
             numpy_helper.from_array(np.array([-1, 1, 768], np.int64), "simcc_y_shape")]
    graph = helper.make_graph(
        nodes, "tiny_dwpose",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 384, 288])],
        [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["batch", 133, 576]),
         helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["batch", 133, 768])], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)


# A 320×240 frame holds two people; the letterbox ratio to 640×640 is 2, so network boxes are image boxes × 2.
FRAME_SIZE = (320, 240)
PEOPLE_BOXES = ((40, 40, 120, 200), (200, 24, 280, 216))
DOTS = ((90, 100), (250, 150))


def two_people_raw() -> np.ndarray:
    """Raw detector output: two people, a weaker duplicate of the first (NMS must drop it), a car (class 2)
    and a person below the 0.3 score threshold."""
    raw = np.zeros((ANCHORS, 5 + CLASSES), np.float32)
    (a, b) = [tuple(2 * v for v in box) for box in PEOPLE_BOXES]
    raw_box(raw, a, 16, 0.9, {0: 0.95})
    raw_box(raw, b, 16, 0.9, {0: 0.9})
    raw_box(raw, (a[0] + 8, a[1] + 8, a[2] + 8, a[3] + 8), 8, 0.8, {0: 0.8})
    raw_box(raw, (448, 320, 576, 448), 32, 0.9, {2: 0.9})
    raw_box(raw, (400, 32, 464, 160), 32, 0.5, {0: 0.5})
    return raw


def two_people_frame() -> np.ndarray:
    """A black uint8 RGB frame with a 3×3 white dot inside each person box."""
    frame = np.zeros((FRAME_SIZE[1], FRAME_SIZE[0], 3), np.uint8)
    for x, y in DOTS:
        frame[y - 1:y + 2, x - 1:x + 2] = 255
    return frame
