"""PyTorch ``.pth``/``.bin`` state dicts, read only through ``torch.load(weights_only=True)``.

Some public releases (Moore-AnimateAnyone's ``denoising_unet.pth`` …, the 2022 ``pytorch_model.bin`` image encoders)
exist only as pickles. ``weights_only=True`` restricts unpickling to tensors and plain containers, so a file that
tries to run code is rejected instead of executed; ``mmap=True`` keeps the tensors on disk until asked for. The
result is a ``CheckpointReader`` so the shared exact-key loader (``loading.load_weights``) treats both formats alike.
"""
from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from ..errors import InputError
from .checkpoint import CheckpointReader, TensorInfo, _strip_wrappers, open_checkpoint

PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")


class TensorDictReader(CheckpointReader):
    """A ``CheckpointReader`` over tensors fetched by name from any source (an in-memory dict, other readers)."""

    def __init__(self, source: Path, infos: dict[str, TensorInfo], fetch: Callable[[str], torch.Tensor],
                 metadata: dict[str, str] | None = None, sources: tuple[CheckpointReader, ...] = ()) -> None:
        super().__init__(source, infos, metadata or {}, None)
        self._fetch = fetch
        self._sources = sources

    def load(self, name: str) -> torch.Tensor:
        return self._fetch(self.infos[name].stored_name)

    def close(self) -> None:
        for reader in self._sources:
            reader.close()


def open_weights(path: str | Path, input_name: str = "model file") -> CheckpointReader:
    """A reader for ``.safetensors`` files/folders (``open_checkpoint``) or a weights-only ``.pth``/``.bin``."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES:
        return _open_pickle(path, input_name)
    return open_checkpoint(path, input_name)


def _open_pickle(path: Path, input_name: str) -> CheckpointReader:
    try:
        state = _load_weights_only(path)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as exc:
        raise InputError(input_name, f"'{path.name}' could not be read as a weights-only PyTorch state dict "
                         f"({str(exc).splitlines()[0][:200]})",
                         "use the release's .safetensors file, or a plain state-dict .pth") from exc
    state = _unwrap(state, path, input_name)
    infos = {name: TensorInfo(path, name, tuple(t.shape), t.dtype) for name, t in state.items()}
    stripped = _strip_wrappers(infos)
    return TensorDictReader(path, stripped, state.__getitem__)


def _load_weights_only(path: Path) -> object:
    """Memory-mapped when the file is a zip-format ``torch.save`` (torch ≥ 1.6), else read normally."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc):
            raise
        return torch.load(str(path), map_location="cpu", weights_only=True)


def _unwrap(state: object, path: Path, input_name: str) -> dict[str, torch.Tensor]:
    """The tensor dict of a checkpoint; training scripts sometimes nest it under ``state_dict`` or ``module``."""
    for wrapper in ("state_dict", "module"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(input_name, f"'{path.name}' is not a state dict of tensors",
                         "choose the weights file itself (for example denoising_unet.pth)")
    return dict(state)


def renamed(readers: Mapping[str, tuple[CheckpointReader, str]], source: Path) -> TensorDictReader:
    """One reader presenting tensors of several readers under new names: ``{new_name: (reader, old_name)}``."""
    infos = {new: TensorInfo(source, new, reader.shape(old), reader.dtype(old))
             for new, (reader, old) in readers.items()}

    def fetch(new: str) -> torch.Tensor:
        reader, old = readers[new]
        return reader.load(old)

    unique = tuple({id(reader): reader for reader, _ in readers.values()}.values())
    return TensorDictReader(source, infos, fetch, sources=unique)
