"""Golden vector sets computed by native ComfyUI (``../shared/golden/<name>``): location, cases, tensors.

A set is read from the folder named by its environment variable (``CHOREOGRAPH_GOLDEN_SCAIL2``,
``CHOREOGRAPH_GOLDEN_WAN_I2V``), else from ``../shared/golden/<name>`` next to the repository; tests skip only
when neither exists. Everything (case names, shapes, tolerances' inputs) comes from the set's JSON files, so a
second set with other seeds and shapes runs unchanged.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import choreograph

REPO_ROOT = Path(choreograph.__file__).resolve().parent
MODEL_TOLERANCE = 5e-5  # max |diff| per output element against native (the sets' README: faithful ≈ 1e-5)
LATENT_TOLERANCE = 1e-6  # stand-in VAE latents (summation order only)


def golden_dir(env: str, name: str) -> Path | None:
    for candidate in (os.environ.get(env), REPO_ROOT.parent / "shared" / "golden" / name):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@functools.lru_cache(maxsize=None)
def read_json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@functools.lru_cache(maxsize=None)
def tensors(folder: Path, name: str) -> dict[str, torch.Tensor]:
    return load_file(str(folder / name))


def case_tensors(env: str, name: str, cases_json: str) -> dict[str, torch.Tensor]:
    """The tensor file named by a set's case file (``tensor_file``)."""
    folder = golden_dir(env, name)
    return tensors(folder, read_json(folder, cases_json)["tensor_file"])


def case_params(env: str, name: str, json_name: str, section: str | None = None) -> list:
    """``pytest.param(case, id=case name)`` for every case of a section; one skipped param without the set."""
    folder = golden_dir(env, name)
    if folder is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no golden set: set {env} or add "
                                                                  f"../shared/golden/{name}"))]
    data = read_json(folder, json_name)
    cases = (data[section] if section else data)["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


def image(store: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """A stored input as native received it: ``*_u8`` tensors are ``float32(u8) / 255``."""
    value = store[key]
    return value.float() / 255 if key.endswith("_u8") or value.dtype == torch.uint8 else value


def stand_in_encoder(matrix: torch.Tensor, bias: torch.Tensor):
    """The sets' deterministic stand-in VAE (defined in their JSON): Wan's temporal grouping (frame 0 alone, then
    means of 4), 8×8 block means of the top-left ``(H//8)·8 × (W//8)·8`` pixels, a 16×3 matrix and a bias;
    RAW (un-normalised) latents ``(1, 16, n, H/8, W/8)``."""

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        px = pixels[..., :3].float()
        t, h, w, _ = px.shape
        n = 1 + (t - 1) // 4
        groups = [px[0]] + [px[1 + 4 * (k - 1): 4 * k + 1].sum(0) / 4 for k in range(1, n)]
        grid = torch.stack(groups)[:, : h // 8 * 8, : w // 8 * 8]
        pooled = grid.reshape(n, h // 8, 8, w // 8, 8, 3).sum((2, 4)) / 64
        return (torch.einsum("oc,nijc->onij", matrix, pooled) + bias[:, None, None, None])[None]

    return encode


def process_in(mean: torch.Tensor, std: torch.Tensor):
    """Wan21 latent normalisation ``(z − mean_c) / std_c``."""
    return lambda z: (z - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)


def model_inputs(case: dict, store: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
    """Every model-case input by name (None when listed as absent or not stored)."""
    absent = set(case.get("absent_inputs", []))
    return {name: None if name in absent or "key" not in spec else store[spec["key"]]
            for name, spec in case["inputs"].items()}


def stored_render(store: dict[str, torch.Tensor], case: dict, name: str):
    """A stored SCAIL2ColoredMask output (uint8 0/1 holding native's float 0/1) as a uint8 0/255 numpy image."""
    return store[case["outputs"][name]["key"]].numpy().astype("uint8") * 255
