"""Atomic writes for everything training produces: a crash or kill never leaves a half-written file behind."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file


def _temp_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    return Path(name)


def save_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
                     ) -> Path:
    """``save_file`` into a temporary file beside ``path``, then ``os.replace``."""
    path = Path(path)
    temp = _temp_beside(path)
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(temp), metadata=metadata)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def save_json(value: object, path: str | Path) -> Path:
    path = Path(path)
    temp = _temp_beside(path)
    try:
        temp.write_text(json.dumps(value, indent=1))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def append_line(path: str | Path, line: str) -> None:
    """Append one line (metrics logs are append-only; a torn last line is the worst a kill can do)."""
    with open(path, "a") as handle:
        handle.write(line.rstrip("\n") + "\n")
