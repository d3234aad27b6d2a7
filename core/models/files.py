"""Finding model files on disk, downloading them when online, and saying exactly what is missing when not.

Model files live in ComfyUI-style folders (``models/<folder>/``); the host decides which directories those are
(``nodes/_host.model_search_dirs`` inside ComfyUI, ``--models-dir``/``CHOREOGRAPH_MODELS_DIR`` headless). Weights
are never downloaded into the pack's own folder.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import InputError, MissingModelError

LOG = logging.getLogger("choreograph")


@dataclass(frozen=True)
class ModelFile:
    """A file a stage needs: its name, the models sub-folder it belongs in, and where the hub has it."""

    filename: str
    folder: str
    hub_repo: str | None = None
    hub_filename: str | None = None  # path inside the hub repo, when it differs from ``filename``

    def describe(self) -> str:
        source = f" (from huggingface.co/{self.hub_repo})" if self.hub_repo else ""
        return f"models/{self.folder}/{self.filename}{source}"


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def locate_model(model: ModelFile, search_dirs: Sequence[Path], download: bool = True) -> Path:
    """Return the path of ``model``: found in ``search_dirs`` (recursively by name), else downloaded into the
    first of them when the hub is reachable, else a ``MissingModelError`` naming the file and the folders."""
    for directory in search_dirs:
        direct = Path(directory) / model.filename
        if direct.is_file():
            return direct
    for directory in search_dirs:
        if Path(directory).is_dir():
            for found in sorted(Path(directory).rglob(Path(model.filename).name)):
                if found.is_file():
                    return found
    if download and model.hub_repo and search_dirs and not hub_offline():
        try:
            return _download(model, Path(search_dirs[0]))
        except Exception as exc:  # noqa: BLE001 - any network failure becomes the missing-file message below
            LOG.warning("Choreograph: download of %s failed: %s", model.describe(), exc)
    raise MissingModelError(missing_model_message([model], search_dirs))


def missing_model_message(models: Sequence[ModelFile], search_dirs: Sequence[Path]) -> str:
    files = "\n".join(f"  - {m.describe()}" for m in models)
    dirs = "\n".join(f"  - {d}" for d in search_dirs) or "  (no model folder configured)"
    return (f"Missing model file(s):\n{files}\nPut them in one of these folders:\n{dirs}\n"
            "or go online (unset HF_HUB_OFFLINE) to let Choreograph download them there.")


def _download(model: ModelFile, target_dir: Path) -> Path:
    from huggingface_hub import hf_hub_download

    target_dir.mkdir(parents=True, exist_ok=True)
    LOG.info("Choreograph: downloading %s into %s", model.describe(), target_dir)
    path = hf_hub_download(repo_id=model.hub_repo, filename=model.hub_filename or model.filename,
                           local_dir=str(target_dir))
    return Path(path)


def onnx_session(path: str | Path, input_name: str, providers: Sequence[str] = ("CPUExecutionProvider",)):
    """An onnxruntime session for ``path``; a truncated or foreign file is an ``InputError`` naming it."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), providers=list(providers))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises several private error types for a bad file
        reason = str(exc).strip().splitlines()[0][-200:] if str(exc).strip() else type(exc).__name__
        raise InputError(input_name, f"'{Path(path).name}' is not a valid ONNX model ({reason})",
                         "re-download the file; it may be truncated or another file type") from None
