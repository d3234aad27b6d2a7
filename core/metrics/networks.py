"""Feature networks for distribution metrics (FID, FVD) and re-ID embeddings, from the user's own files.

Nothing here downloads or ships weights. A feature network is any callable from a float32 batch to one feature
row per item; ``onnx_network`` wraps a user-provided ONNX export (Inception-v3 pool3 for FID, I3D for FVD,
OSNet for re-ID), and tests pass small torch modules. ``FeatureSpec`` says how frames are resized and
normalised before the network, so the same plumbing serves every detector (SPEC §6.4).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, MissingModelError
from ..models.files import onnx_session
from .frechet import frechet_between
from .identity import Crop, Embedder

FeatureNet = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FeatureSpec:
    """Network input: ``size`` (H, W) after resizing, per-channel ``mean``/``std`` applied to [0, 1] pixels."""

    size: tuple[int, int]
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)


INCEPTION_SPEC = FeatureSpec((299, 299))  # pool3, inputs in [-1, 1]
I3D_SPEC = FeatureSpec((224, 224))  # Kinetics-400 I3D, inputs in [-1, 1]
REID_SPEC = FeatureSpec((256, 128), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # OSNet, ImageNet stats
FVD_CLIP_FRAMES = 16


def onnx_network(path: str | Path, input_name: str = "network") -> FeatureNet:
    """A feature network from an ONNX file (first input, first output flattened per item), run on CPU."""
    path = Path(path)
    if not path.is_file():
        raise MissingModelError(f"feature network file not found: {path}")
    session = onnx_session(path, input_name)
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        out = session.run(None, {input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float64).reshape(len(batch), -1)

    return run


def prepare_frames(frames: np.ndarray | torch.Tensor, spec: FeatureSpec) -> torch.Tensor:
    """``(N, H, W, 3)`` in [0, 1] → ``(N, 3, h, w)`` float32 resized (bilinear, antialiased) and normalised."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    x = x.detach().float().cpu()
    if x.ndim != 4 or x.shape[-1] != 3:
        raise InputError("frames", f"expected (N, H, W, 3) RGB frames, got {tuple(x.shape)}", "pass RGB frames")
    x = x.permute(0, 3, 1, 2)
    if tuple(x.shape[2:]) != spec.size:
        x = F.interpolate(x, size=spec.size, mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


def image_features(frames: np.ndarray | torch.Tensor, network: FeatureNet, spec: FeatureSpec,
                   batch_size: int = 16) -> np.ndarray:
    """``(N, D)`` features of every frame."""
    rows = [network(prepare_frames(frames[i:i + batch_size], spec).numpy())
            for i in range(0, len(frames), batch_size)]
    return np.concatenate(rows, axis=0)


def clip_features(video: np.ndarray | torch.Tensor, network: FeatureNet, spec: FeatureSpec,
                  clip_frames: int = FVD_CLIP_FRAMES) -> np.ndarray:
    """``(K, D)`` features of the non-overlapping ``clip_frames``-frame clips (input ``(K, 3, F, h, w)``)."""
    clips = len(video) // clip_frames
    if clips == 0:
        raise InputError("video", f"has {len(video)} frames, fewer than one {clip_frames}-frame clip",
                         f"evaluate videos of at least {clip_frames} frames")
    x = prepare_frames(video[: clips * clip_frames], spec)
    x = x.reshape(clips, clip_frames, 3, *spec.size).permute(0, 2, 1, 3, 4)
    return network(x.contiguous().numpy())


def fid(generated_frames: np.ndarray | torch.Tensor, reference_frames: np.ndarray | torch.Tensor,
        network: FeatureNet, spec: FeatureSpec = INCEPTION_SPEC) -> float:
    """Fréchet distance of per-frame features (Inception-v3 pool3 for the standard FID)."""
    return frechet_between(image_features(generated_frames, network, spec),
                           image_features(reference_frames, network, spec), "FID features")


def fvd(generated_videos: Sequence, reference_videos: Sequence, network: FeatureNet, spec: FeatureSpec = I3D_SPEC,
        clip_frames: int = FVD_CLIP_FRAMES) -> float:
    """Fréchet distance of 16-frame clip features over sets of videos (I3D for the standard FVD)."""
    gen = np.concatenate([clip_features(v, network, spec, clip_frames) for v in generated_videos])
    ref = np.concatenate([clip_features(v, network, spec, clip_frames) for v in reference_videos])
    return frechet_between(gen, ref, "FVD clip features")


def crop_embedder(network: FeatureNet, spec: FeatureSpec = REID_SPEC, batch_size: int = 32) -> Embedder:
    """An IC ``Embedder`` from a re-ID network: crops (grey outside the mask) resized to ``spec.size``."""

    def embed(crops: Sequence[Crop]) -> np.ndarray:
        rows = []
        for start in range(0, len(crops), batch_size):
            chunk = crops[start:start + batch_size]
            rows.append(network(torch.cat([prepare_frames(image[None], spec) for image, _ in chunk]).numpy()))
        return np.concatenate(rows, axis=0)

    return embed
