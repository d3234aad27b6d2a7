"""LPIPS (Zhang et al. 2018, v0.1, AlexNet) as a plain torch module, weights from the user's safetensors file.

``LPIPS = Σ_l mean_{h,w} Σ_c w_{l,c} (φ̂_l − φ_l)²`` over five AlexNet ReLU outputs, each feature vector scaled to
unit length over channels first; inputs are resized to 256×256 and mapped to [−1, 1] (SPEC §6.4).

The weights are not shipped or downloaded. ``load_lpips`` reads one safetensors file holding the AlexNet
convolutions under torchvision's names (``features.{0,3,6,8,10}.{weight,bias}``) and the five linear heads as
``lin{0..4}.weight`` (``(1, C, 1, 1)``; the ``lpips`` package's ``lin{k}.model.1.weight`` names are accepted too).
``widths`` exists so tests can run the same code on a tiny random network.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, MissingModelError

ALEXNET_WIDTHS = (64, 192, 384, 256, 256)
LPIPS_SIZE = 256
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_CONV_INDICES = (0, 3, 6, 8, 10)  # torchvision alexnet.features indices of the five convolutions


class AlexFeatures(nn.Module):
    """AlexNet's convolutional trunk, returning the five ReLU outputs LPIPS compares."""

    def __init__(self, widths: tuple[int, ...] = ALEXNET_WIDTHS) -> None:
        super().__init__()
        shapes = ((11, 4, 2), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1))  # kernel, stride, padding
        channels = (3,) + tuple(widths)
        self.features = nn.ModuleDict({
            str(index): nn.Conv2d(channels[k], channels[k + 1], kernel, stride, padding)
            for k, (index, (kernel, stride, padding)) in enumerate(zip(_CONV_INDICES, shapes))
        })

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for k, index in enumerate(_CONV_INDICES):
            if k in (1, 2):  # max-pool before the 2nd and 3rd convolutions
                x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = F.relu(self.features[str(index)](x))
            taps.append(x)
        return taps


class LPIPS(nn.Module):
    """Learned perceptual distance between image batches ``(N, 3, H, W)`` in [0, 1]."""

    def __init__(self, widths: tuple[int, ...] = ALEXNET_WIDTHS, size: int = LPIPS_SIZE) -> None:
        super().__init__()
        self.trunk = AlexFeatures(widths)
        self.lin = nn.ParameterList([nn.Parameter(torch.ones(1, w, 1, 1) / w) for w in widths])
        self.size = size
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return ((x * 2 - 1) - self.shift) / self.scale

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``(N,)`` distances."""
        total = torch.zeros(len(a), device=a.device)
        for fa, fb, weight in zip(self.trunk(self._prepare(a)), self.trunk(self._prepare(b)), self.lin):
            fa = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            fb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + ((fa - fb).pow(2) * weight).sum(1).mean(dim=(1, 2))
        return total


def _state_dict_names(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept torchvision / lpips-package names and map them onto ``LPIPS``'s parameter names."""
    out = {}
    for name, value in tensors.items():
        name = name.removeprefix("net.").removeprefix("module.")
        if name.startswith("features."):
            out[f"trunk.{name}"] = value
        elif name.startswith("lin") and name.endswith("weight"):
            out[f"lin.{name[3]}"] = value
    return out


def load_lpips(path: str | Path, size: int = LPIPS_SIZE) -> LPIPS:
    """An ``LPIPS`` module with the weights of ``path`` (safetensors; see the module docstring for the names)."""
    from ..models.checkpoint import load_safetensors

    path = Path(path)
    if not path.is_file():
        raise MissingModelError(f"LPIPS weights not found: {path} (a safetensors file with AlexNet "
                                "'features.*' and 'lin0..4.weight' tensors)")
    tensors = _state_dict_names(load_safetensors(path, "--lpips"))
    widths = tuple(int(tensors[f"lin.{k}"].shape[1]) for k in range(5) if f"lin.{k}" in tensors)
    if len(widths) != 5:
        raise InputError("lpips weights", f"{path.name} lacks the five linear heads lin0..lin4",
                         "convert the lpips package's alex.pth heads into the same safetensors file")
    model = LPIPS(widths, size)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise InputError("lpips weights", f"{path.name} does not fit AlexNet-LPIPS (missing {missing}, "
                         f"unexpected {unexpected})", "use AlexNet (torchvision names) + LPIPS v0.1 heads")
    return model.eval()


def lpips_video(model: LPIPS, generated: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor,
                batch_size: int = 8) -> float:
    """Mean LPIPS over the frames of two equally long ``(T, H, W, 3)`` videos in [0, 1]."""
    gen = torch.as_tensor(np.asarray(generated)).float().permute(0, 3, 1, 2)
    ref = torch.as_tensor(np.asarray(reference)).float().permute(0, 3, 1, 2)
    if gen.shape != ref.shape:
        raise InputError("generated", f"shape {tuple(gen.shape)} differs from the reference's {tuple(ref.shape)}",
                         "evaluate videos of the same length and size")
    values = [model(gen[i:i + batch_size], ref[i:i + batch_size]) for i in range(0, len(gen), batch_size)]
    return float(torch.cat(values).mean())
