"""Finding and reading a golden set (``shared/golden/<family>``): the folder, its case list, fresh tensors.

The folder comes from ``CHOREOGRAPH_GOLDEN_<FAMILY>`` or, unset, ``../shared/golden/<family>`` beside the repository.
A test module skips only when the variable is unset and the default folder is absent; a variable naming a missing
folder is an error, so a mistyped path in CI fails instead of silently skipping.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[3]


def golden_folder(family: str) -> Path | None:
    variable = f"CHOREOGRAPH_GOLDEN_{family.upper()}"
    given = os.environ.get(variable)
    if given:
        if not Path(given).is_dir():
            raise FileNotFoundError(f"{variable}={given} is not a folder")
        return Path(given)
    default = REPO.parent / "shared" / "golden" / family
    return default if default.is_dir() else None


def skip_without(folder: Path | None, family: str):
    return pytest.mark.skipif(folder is None, reason=f"no golden set for {family} (set CHOREOGRAPH_GOLDEN_"
                              f"{family.upper()} or provide ../shared/golden/{family})")


def read_json(folder: Path | None, name: str) -> dict:
    return json.loads((folder / name).read_text()) if folder is not None else {}


class Tensors:
    """The case tensors, each handed out as a fresh copy (safetensors views can be unaligned, README)."""

    def __init__(self, path: Path) -> None:
        self.data = load_file(str(path))

    def __getitem__(self, key: str | dict) -> torch.Tensor:
        return self.data[key["key"] if isinstance(key, dict) else key].clone()

    def __contains__(self, key: str) -> bool:
        return key in self.data


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float, what: str, rtol: float = 0.0) -> None:
    """Every element within ``atol + rtol·|expected|``; the message gives the largest absolute difference."""
    actual, expected = actual.double(), expected.double()
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} vs {tuple(expected.shape)}"
    diff = (actual - expected).abs()
    worst = diff.max().item()
    assert bool((diff <= atol + rtol * expected.abs()).all()), f"{what}: max abs difference {worst:.3g} > {atol:g}"
