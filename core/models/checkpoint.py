"""Reading weight files one tensor at a time: ComfyUI single files and diffusers folders, safetensors only.

A 14B model is 33 GB in fp16, so nothing here reads a whole file into memory: ``CheckpointReader`` lists names,
shapes and dtypes from the safetensors headers and loads a tensor only when asked, so the loader can convert and
place each tensor and drop the file copy before the next one (the model never exists twice). Pickle files
(``.pt``/``.pth``/``.ckpt``/``.bin``) are refused: unpickling runs arbitrary code.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from ..errors import InputError

# Prefixes that wrap the network's own names in ComfyUI checkpoints and LoRAs; stripped on read.
WRAPPER_PREFIXES = ("model.diffusion_model.", "diffusion_model.", "model.")

_STR_TO_DTYPE = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}


@dataclass(frozen=True)
class TensorInfo:
    """Where a tensor lives and what it is, read from a safetensors header without loading the data."""

    file: Path
    stored_name: str
    shape: tuple[int, ...]
    dtype: torch.dtype


class CheckpointReader:
    """Names, shapes and dtypes of every tensor in a checkpoint; ``load(name)`` reads one tensor (CPU)."""

    def __init__(self, source: Path, infos: dict[str, TensorInfo], metadata: dict[str, str],
                 config: dict | None) -> None:
        self.source = source
        self.infos = infos
        self.metadata = metadata
        self.config = config  # diffusers config.json when the checkpoint is a diffusers folder
        self._handles: dict[Path, object] = {}

    def keys(self) -> list[str]:
        return list(self.infos)

    def __iter__(self) -> Iterator[str]:
        return iter(self.infos)

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def shape(self, name: str) -> tuple[int, ...]:
        return self.infos[name].shape

    def dtype(self, name: str) -> torch.dtype:
        return self.infos[name].dtype

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: info.shape for name, info in self.infos.items()}

    def load(self, name: str) -> torch.Tensor:
        info = self.infos[name]
        handle = self._handles.get(info.file)
        if handle is None:
            handle = self._handles[info.file] = safe_open(str(info.file), framework="pt", device="cpu")
        return handle.get_tensor(info.stored_name)

    def items(self) -> Iterator[tuple[str, torch.Tensor]]:
        for name in self.infos:
            yield name, self.load(name)

    def close(self) -> None:
        self._handles.clear()

    @property
    def name(self) -> str:
        return self.source.name


def open_checkpoint(path: str | Path, input_name: str = "model file") -> CheckpointReader:
    """Open a ``.safetensors`` file, a sharded diffusers folder, or a diffusers pipeline folder's ``transformer/``.

    Wrapper prefixes such as ComfyUI's ``model.diffusion_model.`` are stripped so callers see the network's own
    names. Anything that is not safetensors gets a clear ``InputError`` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(input_name, f"'{path}' does not exist", "choose an existing .safetensors file or folder")
    files, config = _weight_files(path, input_name)
    infos: dict[str, TensorInfo] = {}
    metadata: dict[str, str] = {}
    for file in files:
        file_infos, file_meta = _read_header(file, input_name)
        metadata.update(file_meta)
        infos.update(file_infos)
    return CheckpointReader(path, _strip_wrappers(infos), metadata, config)


def _weight_files(path: Path, input_name: str) -> tuple[list[Path], dict | None]:
    if path.is_file():
        if path.suffix.lower() != ".safetensors":
            raise InputError(input_name, f"'{path.name}' is not a .safetensors file (pickle formats such as .pt, "
                             ".pth, .ckpt and .bin are refused because loading them can run arbitrary code)",
                             "convert it to .safetensors or download the safetensors release")
        config_file = path.parent / "config.json"  # a file picked inside a diffusers folder
        return [path], _read_config(config_file, input_name) if config_file.is_file() else None
    folder = path / "transformer" if (path / "transformer" / "config.json").is_file() else path
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise InputError(input_name, f"folder '{path}' holds no .safetensors files",
                         "point at a .safetensors file or a diffusers model folder")
    config_file = folder / "config.json"
    config = _read_config(config_file, input_name) if config_file.is_file() else None
    return files, config


def _read_config(file: Path, input_name: str) -> dict:
    """A diffusers ``config.json`` as a dict, or an ``InputError`` naming it."""
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(input_name, f"'{file.parent.name}/config.json' is not readable JSON ({exc})",
                         "restore the config.json saved with the weights") from None
    if not isinstance(config, dict):
        raise InputError(input_name, f"'{file.parent.name}/config.json' is not a JSON object",
                         "restore the config.json saved with the weights")
    return config


def _read_header(file: Path, input_name: str) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Parse the safetensors JSON header directly: shapes and dtypes of all tensors without touching data."""
    try:
        with open(file, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if size <= 0 or size > 100_000_000:
                raise ValueError("bad header size")
            header = json.loads(handle.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        metadata = header.pop("__metadata__", None) or {}
        entries = {name: entry for name, entry in header.items()}
        if not all(isinstance(e, dict) and isinstance(e.get("shape"), list) and len(e.get("data_offsets", ())) == 2
                   for e in entries.values()):
            raise ValueError("a tensor entry lacks its shape or data offsets")
        end = max((int(e["data_offsets"][1]) for e in entries.values()), default=0)
        if file.stat().st_size < 8 + size + end:
            raise ValueError(f"the file ends at byte {file.stat().st_size}, its tensors need {8 + size + end}")
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        raise InputError(input_name, f"'{file.name}' is not a readable safetensors file ({exc})",
                         "re-download the file; it may be truncated") from None
    infos = {}
    for name, entry in entries.items():
        dtype = _STR_TO_DTYPE.get(entry["dtype"])
        if dtype is None:
            raise InputError(input_name, f"'{file.name}' stores '{name}' as {entry['dtype']}, which is not supported",
                             "use an fp32/bf16/fp16/fp8 file")
        infos[name] = TensorInfo(file, name, tuple(entry["shape"]), dtype)
    return infos, metadata


def _strip_wrappers(infos: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    for prefix in WRAPPER_PREFIXES:
        if infos and all(name.startswith(prefix) for name in infos):
            return {name[len(prefix):]: info for name, info in infos.items()}
    return infos


def load_safetensors(path: str | Path, input_name: str) -> dict[str, torch.Tensor]:
    """All tensors of one ``.safetensors`` file on the CPU; a truncated or corrupt file is an ``InputError``."""
    from safetensors.torch import load_file

    path = Path(path)
    _read_header(path, input_name)
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type for every kind of damage
        raise InputError(input_name, f"'{path.name}' is not a readable safetensors file ({exc})",
                         "re-download or re-export the file") from None
