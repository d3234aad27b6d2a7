"""Atomic writes for what training produces (``core.video.output_files``): a kill never leaves half a file."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..core.video.output_files import atomic_file


def save_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
                     ) -> Path:
    """``save_file`` to a temporary file beside ``path``, renamed over it when complete."""
    with atomic_file(Path(path), overwrite=True) as temp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(temp), metadata=metadata)
    return Path(path)


def save_json(value: object, path: str | Path) -> Path:
    with atomic_file(Path(path), overwrite=True) as temp:
        temp.write_text(json.dumps(value, indent=1))
    return Path(path)


def append_line(path: str | Path, line: str) -> None:
    """Append one line (metrics logs are append-only; a torn last line is the worst a kill can do)."""
    with open(path, "a") as handle:
        handle.write(line.rstrip("\n") + "\n")
