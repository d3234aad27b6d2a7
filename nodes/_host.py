"""Everything that depends on whether the pack runs inside ComfyUI or headless, in one place.

Inside ComfyUI, progress goes to ``comfy.utils.ProgressBar`` (whose update is also ComfyUI's interruption point)
and files go to ComfyUI's input/output folders. Headless (tests, ``python -m choreograph run``), progress is a
terminal bar, Ctrl-C raises ``KeyboardInterrupt`` by itself, and the runner chooses the folders.
"""
from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..core.progress import Progress

PACK_ROOT = Path(__file__).resolve().parent.parent

_headless_dirs: dict[str, Path] = {}


def _comfy_module(name: str):
    """A ComfyUI module if we are inside a ComfyUI process, else None (never imports ComfyUI into a plain run)."""
    if "comfy" not in sys.modules and "folder_paths" not in sys.modules:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def in_comfyui() -> bool:
    return _comfy_module("folder_paths") is not None


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Progress]:
    """Yield a ``progress(done, total)`` callback bound to the host's bar; it also honours interruption."""
    comfy_utils = _comfy_module("comfy.utils")
    if comfy_utils is not None:
        bar = comfy_utils.ProgressBar(max(total, 1))
        yield lambda done, tot: bar.update_absolute(done, max(tot, 1))
        return
    if not sys.stderr.isatty():
        yield _plain_progress(description)
        return
    from tqdm.auto import tqdm

    with tqdm(total=max(total, 1), desc=description, leave=False) as bar:

        def report(done: int, tot: int) -> None:
            bar.total = max(tot, 1)
            bar.n = done
            bar.refresh()

        yield report


def _plain_progress(description: str, every_s: float = 5.0) -> Progress:
    """Progress as log lines (a pipe or a log file shows no bar): at 0 %, every ``every_s`` seconds, and done."""
    import logging
    import time

    log = logging.getLogger("choreograph")
    state = {"last": -every_s, "finished": False}

    def report(done: int, tot: int) -> None:
        now = time.monotonic()
        finished = done >= tot
        if (now - state["last"] >= every_s and not finished) or (finished and not state["finished"]):
            state["last"], state["finished"] = now, finished
            log.info("%s: %d/%d (%d%%)", description, done, max(tot, 1), 100 * done // max(tot, 1))

    return report


def check_interrupted() -> None:
    """Raise ComfyUI's interruption exception if the user pressed Cancel (headless: Ctrl-C already raises)."""
    management = _comfy_module("comfy.model_management")
    if management is not None:
        management.throw_exception_if_processing_interrupted()


def set_headless_directory(kind: str, path: str | os.PathLike) -> None:
    """Used by the headless runner to choose where ``input``/``output``/``models`` paths resolve."""
    if kind not in ("input", "output", "models"):
        raise ValueError(f"unknown directory kind {kind!r}")
    _headless_dirs[kind] = Path(path).resolve()


def allow_paths_outside(enabled: bool) -> None:
    """Headless ``run --allow-any-path`` only: file inputs may name any path. Ignored inside ComfyUI.

    Kept in ``_headless_dirs`` (under a key no folder kind uses), so resetting the headless folders (the tests'
    fixture does) also turns it off; every local ``run`` sets it explicitly."""
    _headless_dirs.pop("allow_outside", None)
    if enabled:
        _headless_dirs["allow_outside"] = Path("/")


def output_directory() -> Path:
    folder_paths = _comfy_module("folder_paths")
    if folder_paths is not None:
        return Path(folder_paths.get_output_directory())
    return _headless_dirs.get("output", Path.cwd() / "output")


def input_directory() -> Path:
    folder_paths = _comfy_module("folder_paths")
    if folder_paths is not None:
        return Path(folder_paths.get_input_directory())
    return _headless_dirs.get("input", Path.cwd())


def models_root() -> Path:
    """ComfyUI's ``models`` folder; headless ``--models-dir``, ``$CHOREOGRAPH_MODELS_DIR`` or ``./models``."""
    folder_paths = _comfy_module("folder_paths")
    if folder_paths is not None:
        return Path(folder_paths.models_dir)
    if "models" in _headless_dirs:
        return _headless_dirs["models"]
    return Path(os.environ["CHOREOGRAPH_MODELS_DIR"]) if os.environ.get("CHOREOGRAPH_MODELS_DIR") else \
        Path.cwd() / "models"


EXAMPLE_ASSETS = PACK_ROOT / "workflows" / "assets"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def input_roots(model_folder: str | None = None, shipped: Path = EXAMPLE_ASSETS) -> list[tuple[Path, Path]]:
    """``(base, confine)`` pairs a user path may resolve in: the input folder, the models folder (or one of its
    sub-folders) when ``model_folder`` is given, and last a read-only folder shipped in the pack (``shipped``,
    addressed from the pack root, e.g. ``workflows/assets/...``)."""
    roots = [(input_directory(), input_directory())]
    if model_folder is not None:
        dirs = model_search_dirs(model_folder) if model_folder else [models_root()]
        roots += [(d, d) for d in dirs]
    return roots + [(PACK_ROOT, shipped)]


def resolve_input_path(value: str, input_name: str, model_folder: str | None = None,
                       shipped: Path = EXAMPLE_ASSETS) -> Path:
    """The file or folder a user named, confined like ComfyUI's own loaders: it must lie inside the input folder
    (or the models folder / ``models/<model_folder>`` when ``model_folder`` is given; or the pack's example assets).
    Absolute paths, ``..`` and symlinks that lead out are refused; headless ``run --allow-any-path`` lifts this."""
    from ..core.errors import InputError

    text = value.strip().strip('"') if isinstance(value, str) else ""
    if not text:
        raise InputError(input_name, "no path given", "enter a file or folder path relative to ComfyUI's input folder")
    if "\x00" in text:
        raise InputError(input_name, "the path contains a NUL character", "enter a plain relative path")
    raw = Path(text)
    if _headless_dirs.get("allow_outside") is not None and not in_comfyui():
        for candidate in ([raw] if raw.is_absolute() else [input_directory() / raw, Path.cwd() / raw]):
            if candidate.exists():
                return candidate
    roots = input_roots(model_folder, shipped)
    where = ", ".join(str(confine) for _, confine in roots[:-1])
    fix = (f"put it inside {where} and give its path relative to that folder"
           + ("" if in_comfyui() else " (headless: --input-dir / --models-dir choose these folders)"))
    outside = False
    for base, confine in roots:
        confine = confine.resolve()
        lexical = Path(os.path.normpath(raw if raw.is_absolute() else base.resolve() / raw))
        if not _inside(lexical, confine):
            outside = outside or base.resolve() == confine  # a shipped folder covers only its own paths
            continue
        if not os.path.lexists(lexical):
            continue
        if not _inside(lexical.resolve(), confine):
            outside = True  # a symlink leading out
            continue
        return lexical.resolve()
    if outside:
        raise InputError(input_name, f"'{value}' leads outside the folders files may be read from ({where})", fix)
    raise InputError(input_name, f"'{value}' does not exist in {where}", fix)


def model_search_dirs(folder: str) -> list[Path]:
    """Directories searched for files of the models sub-folder ``folder`` (e.g. ``diffusion_models``).

    Inside ComfyUI this is ``folder_paths`` (our own folder names are registered under ``models/`` so users can
    extend them in ``extra_model_paths.yaml``). Headless: ``--models-dir/<folder>`` when given, else
    ``$CHOREOGRAPH_MODELS_DIR/<folder>`` when set, then ``./models/<folder>``.
    """
    folder_paths = _comfy_module("folder_paths")
    if folder_paths is not None:
        if folder not in folder_paths.folder_names_and_paths:
            default = Path(folder_paths.models_dir) / folder
            folder_paths.add_model_folder_path(folder, str(default))
        return [Path(p) for p in folder_paths.get_folder_paths(folder)]
    if "models" in _headless_dirs:
        return [_headless_dirs["models"] / folder]
    roots = [Path(os.environ["CHOREOGRAPH_MODELS_DIR"])] if os.environ.get("CHOREOGRAPH_MODELS_DIR") else []
    roots.append(Path.cwd() / "models")
    return [root / folder for root in roots]


def model_file_names(folder: str) -> list[str]:
    """Files available in a models sub-folder, for COMBO widgets (empty list when none)."""
    folder_paths = _comfy_module("folder_paths")
    if folder_paths is not None:
        model_search_dirs(folder)
        return list(folder_paths.get_filename_list(folder))
    names: list[str] = []
    for directory in model_search_dirs(folder):
        if directory.is_dir():
            names += sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    return names
