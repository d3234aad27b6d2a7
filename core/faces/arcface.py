"""ArcFace identity vectors from a user-supplied ONNX model, faces aligned from the tracked pose keypoints.

Instead of a second face detector, the five ArcFace landmarks come from the 133-keypoint poses we already
track (eyes and nose from the body, mouth corners from the 68 face points), so each vector belongs to a known
track id. The crop is a similarity transform onto ArcFace's 112×112 template; pixels are normalised
``(x − 127.5)/127.5`` in RGB. The output is the network's raw vector (insightface's ``embedding``, norm ≈ 20–30):
StableAnimator's training and inference feed ``face_info['embedding']``, not ``normed_embedding``, to its face
encoder (and its golden vectors use unnormalised inputs), so a unit vector would reach the MLP ~25× too small.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..pose.sequence import PoseSequence
from ..pose.wholebody import FACE
from .embeds import FACE_EMBEDDING_DIM, FaceEmbeds

ARCFACE_SIZE = 112
# insightface's ``arcface_dst``: image-left eye, image-right eye, nose tip, image-left / image-right mouth corner.
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)
# Same five points in the 133-keypoint layout: right eye, left eye, nose, face-68 points 48 and 54 (mouth corners).
LANDMARK_INDICES = (2, 1, 0, FACE.start + 48, FACE.start + 54)
MIN_LANDMARK_SCORE = 0.3
MIN_EYE_DISTANCE_PX = 6.0  # smaller faces give meaningless ArcFace vectors


def face_landmarks(keypoints: np.ndarray, min_score: float = MIN_LANDMARK_SCORE) -> np.ndarray | None:
    """``(5, 2)`` ArcFace landmarks of one person's ``(133, 3)`` keypoints, or None when the face is not usable."""
    points = keypoints[list(LANDMARK_INDICES)]
    if np.any(points[:, 2] < min_score):
        return None
    if np.linalg.norm(points[0, :2] - points[1, :2]) < MIN_EYE_DISTANCE_PX:
        return None
    return points[:, :2].astype(np.float32)


def aligned_face(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``(112, 112, 3)`` float32 RGB 0..255 crop warped onto the ArcFace template."""
    matrix, _ = cv2.estimateAffinePartial2D(landmarks, ARCFACE_TEMPLATE, method=cv2.LMEDS)
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels * 255.0 if pixels.max() <= 1.0 else pixels
    return cv2.warpAffine(pixels, matrix, (ARCFACE_SIZE, ARCFACE_SIZE), borderValue=0.0)


class ArcFace:
    """An ArcFace ONNX network (e.g. antelopev2 ``glintr100.onnx``): ``(n, 3, 112, 112)`` → ``(n, 512)``."""

    def __init__(self, path: str | Path, input_name: str = "arcface_model") -> None:
        import onnxruntime as ort

        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several types for unreadable files
            raise InputError(input_name, f"'{Path(path).name}' could not be opened as an ONNX model ({exc})",
                             "choose an ArcFace .onnx file such as antelopev2/glintr100.onnx") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [3, ARCFACE_SIZE, ARCFACE_SIZE] \
                or outputs[0].shape[-1] != FACE_EMBEDDING_DIM:
            raise InputError(input_name, f"'{Path(path).name}' takes {inputs[0].shape} and gives {outputs[0].shape}; "
                             f"ArcFace takes (n, 3, 112, 112) and gives (n, {FACE_EMBEDDING_DIM})",
                             "choose an ArcFace recognition model (not the face detector)")
        self.input_name = inputs[0].name

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Raw ArcFace vectors (insightface ``embedding``) for aligned crops ``(n, 112, 112, 3)`` RGB 0..255."""
        blob = ((faces.astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2)
        raw = self.session.run(None, {self.input_name: np.ascontiguousarray(blob)})[0].reshape(len(faces), -1)
        return raw.astype(np.float32)


def embed_faces(arcface: ArcFace | None, image: np.ndarray, poses: PoseSequence, frame: int = 0) -> FaceEmbeds:
    """One vector per track of ``poses`` from the face in ``image`` at ``frame``; a zero vector where there is
    no usable face (or no ArcFace model)."""
    if not 0 <= frame < poses.num_frames:
        raise InputError("frame", f"{frame} is outside the poses' {poses.num_frames} frames", "pick a valid frame")
    height, width = np.asarray(image).shape[:2]
    if (poses.width, poses.height) != (width, height):
        raise InputError("poses", f"were found on a {poses.width}x{poses.height} canvas, the image is "
                         f"{width}x{height}", "extract the poses from this image")
    vectors = np.zeros((poses.num_people, FACE_EMBEDDING_DIM), np.float32)
    found = [False] * poses.num_people
    crops, rows = [], []
    for person in range(poses.num_people):
        landmarks = face_landmarks(poses.keypoints[frame, person])
        if landmarks is not None and arcface is not None:
            crops.append(aligned_face(image, landmarks))
            rows.append(person)
    if crops:
        vectors[rows] = arcface.embed(np.stack(crops))
        for row in rows:
            found[row] = True
    return FaceEmbeds(vectors, poses.track_ids, tuple(found))
