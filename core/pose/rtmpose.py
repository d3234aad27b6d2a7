"""DWPose whole-body estimation (RTMPose with SimCC heads, ``dw-ll_ucoco_384.onnx``), DWPose's exact processing.

Per person box: centre and size with 1.25 padding, the size widened to the network's 288:384 aspect, an affine
crop (bilinear, black border) to 288×384, ImageNet mean/std normalisation of the RGB pixels, channels first. The
network returns, per keypoint, a 1-D classification over x (``simcc_x``, 2 bins per pixel) and over y
(``simcc_y``); the keypoint is at the two argmaxes divided by the split ratio, its score the smaller of the two
maxima, and the point is mapped back through the crop. Scores above 1 occur and are only clipped where a pose
is stored (`PoseFrames`). When no detector is used, the whole frame is one box.
"""
from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = (288, 384)  # (width, height)
BOX_PADDING = 1.25
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def box_centre_scale(boxes: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``(N, 2)`` and crop sizes ``(N, 2)`` (w, h): padded by 1.25, then widened to the input aspect."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    scale = (boxes[:, 2:] - boxes[:, :2]) * BOX_PADDING
    aspect = input_size[0] / input_size[1]
    w, h = scale[:, 0], scale[:, 1]
    wide = w > h * aspect
    scale = np.stack([np.where(wide, w, h * aspect), np.where(wide, w / aspect, h)], axis=1)
    return centre, scale


def crop_matrix(centre: np.ndarray, scale: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """The 2×3 affine map from image pixels to the crop (no rotation: one uniform zoom about the box centre)."""
    zoom = input_size[0] / scale[0]
    return np.array([[zoom, 0.0, input_size[0] / 2 - zoom * centre[0]],
                     [0.0, zoom, input_size[1] / 2 - zoom * centre[1]]], dtype=np.float32)


def crop_person(image: np.ndarray, centre: np.ndarray, scale: np.ndarray,
                input_size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """``(3, h, w)`` float32 normalised network input for one box of an RGB uint8 image."""
    crop = cv2.warpAffine(image, crop_matrix(centre, scale, input_size), input_size, flags=cv2.INTER_LINEAR)
    return ((crop.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Crop-pixel locations ``(N, K, 2)`` and scores ``(N, K)``; a location with score ≤ 0 is ``-1``."""
    x_bin, y_bin = simcc_x.argmax(axis=-1), simcc_y.argmax(axis=-1)
    scores = np.minimum(simcc_x.max(axis=-1), simcc_y.max(axis=-1))
    locations = np.stack([x_bin, y_bin], axis=-1).astype(np.float32)
    locations[scores <= 0] = -1
    return locations / split_ratio, scores


def to_image(locations: np.ndarray, centre: np.ndarray, scale: np.ndarray,
             input_size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """Crop-pixel locations ``(N, K, 2)`` back to image pixels."""
    size = np.asarray(input_size, dtype=np.float32)
    return locations / size * scale[:, None, :] + centre[:, None, :] - scale[:, None, :] / 2
