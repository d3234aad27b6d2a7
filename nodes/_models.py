"""Choices and file lookup shared by every model-loader node (one implementation for all samplers)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import InputError
from ..core.models.files import ModelFile, locate_model
from ._host import model_search_dirs

NONE = "none"  # the COMBO entry shown when a models folder is empty or an optional file is not wanted
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
DEVICES = ("auto", "cuda", "cpu")


def chosen_model_file(name: str, folder: str, input_name: str) -> Path:
    """The path of the file picked in a COMBO of ``models/<folder>``; a clear error when none was picked."""
    if not name or name == NONE:
        raise InputError(input_name, "no file chosen", f"put the file in models/{folder} and pick it")
    return locate_model(ModelFile(name, folder), model_search_dirs(folder), download=False)


def optional_model_file(name: str, folder: str, input_name: str) -> Path | None:
    return None if name in (NONE, "") else chosen_model_file(name, folder, input_name)


def resolve_device(choice: str) -> str:
    """``auto`` → CUDA when present; asking for CUDA on a machine without it is an input error."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("device", "CUDA is not available on this machine", "choose auto or cpu")
    return choice
