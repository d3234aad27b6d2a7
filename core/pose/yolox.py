"""YOLOX person boxes, the first half of DWPose (``yolox_l.onnx``), with DWPose's exact pre/post-processing.

Pre-processing: the RGB uint8 frame is resized (bilinear) by one ratio to fit 640×640 and pasted at the top-left of
a canvas filled with 114, channels first, float32, no normalisation. The network's ``(1, 8400, 85)`` output holds,
per anchor on the stride-8/16/32 grids, a box (centre offset and log size in grid units), an objectness and 80 class
scores. Post-processing: decode boxes to pixels, score = objectness × class score, class-wise NMS at IoU 0.45 over
scores above 0.1, then keep people (class 0) scoring above 0.3. Only class 0 is computed, which gives the same
boxes since NMS never crosses classes.
"""
from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = (640, 640)  # (height, width)
STRIDES = (8, 16, 32)
PAD_VALUE = 114
NMS_IOU = 0.45
SCORE_FLOOR = 0.1
PERSON_SCORE = 0.3
PERSON_CLASS = 0


def letterbox(image: np.ndarray, size: tuple[int, int] = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """``(3, H, W)`` float32 network input and the resize ratio (input pixels per image pixel)."""
    ratio = min(size[0] / image.shape[0], size[1] / image.shape[1])
    height, width = int(image.shape[0] * ratio), int(image.shape[1] * ratio)
    canvas = np.full((size[0], size[1], 3), PAD_VALUE, dtype=np.uint8)
    canvas[:height, :width] = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), ratio


def anchor_grid(size: tuple[int, int] = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(A, 2)`` grid cell (x, y) and ``(A, 1)`` stride of every anchor, in the network's output order."""
    cells, strides = [], []
    for stride in STRIDES:
        ys, xs = np.meshgrid(np.arange(size[0] // stride), np.arange(size[1] // stride), indexing="ij")
        cells.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
        strides.append(np.full((cells[-1].shape[0], 1), stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def decode(raw: np.ndarray, size: tuple[int, int] = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(A, 4)`` xyxy boxes in network pixels and ``(A,)`` person scores from one image's ``(A, 5 + C)`` output."""
    cells, strides = anchor_grid(size)
    if raw.shape[0] != cells.shape[0]:
        raise ValueError(f"YOLOX output has {raw.shape[0]} anchors; a {size} input has {cells.shape[0]}")
    centre = (raw[:, :2] + cells) * strides
    half = np.exp(raw[:, 2:4]) * strides / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    return boxes, raw[:, 4] * raw[:, 5 + PERSON_CLASS]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first (areas with YOLOX's ``+1`` pixel convention)."""
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        lo = np.maximum(boxes[best, :2], boxes[rest, :2])
        hi = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = np.prod(np.maximum(0.0, hi - lo + 1), axis=1)
        overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= iou]
    return np.array(keep, dtype=np.int64)


def person_boxes(raw: np.ndarray, ratio: float, size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """``(N, 4)`` xyxy person boxes in image pixels from one image's raw output (best first)."""
    boxes, scores = decode(raw, size)
    boxes = boxes / ratio
    candidates = scores > SCORE_FLOOR
    boxes, scores = boxes[candidates], scores[candidates]
    if not len(boxes):
        return np.zeros((0, 4), dtype=np.float32)
    keep = nms(boxes, scores)
    keep = keep[scores[keep] > PERSON_SCORE]
    return boxes[keep].astype(np.float32)
