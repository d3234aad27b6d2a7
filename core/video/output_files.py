"""Output paths that never clobber a user's file, and writes that never leave half a file behind."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import InputError


def safe_prefix_path(output_dir: Path, filename_prefix: str) -> tuple[Path, str]:
    """Split ``"sub/dir/name"`` into a folder inside ``output_dir`` and a file stem, refusing to escape it."""
    prefix = filename_prefix.strip().replace("\\", "/")
    if not prefix or prefix.endswith("/"):
        raise InputError("filename_prefix", f"'{filename_prefix}' has no file name part", "use e.g. 'choreograph/video'")
    folder = (output_dir / prefix).parent.resolve()
    if not folder.is_relative_to(output_dir.resolve()):
        raise InputError("filename_prefix", f"'{filename_prefix}' points outside the output folder",
                         "use a relative prefix without '..'")
    return folder, Path(prefix).name


def next_numbered_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem_00001<suffix>`` with the counter one past the highest already present (ComfyUI's naming)."""
    pattern = re.compile(rf"^{re.escape(stem)}_(\d{{5,}})(?:\.|$)")
    highest = 0
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
    return folder / f"{stem}_{highest + 1:05d}{suffix}"


@contextmanager
def atomic_file(final_path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final_path``; on success it is renamed into place, on any failure
    (Ctrl-C included) it is deleted. An existing ``final_path`` is an error unless ``overwrite``."""
    final_path = Path(final_path)
    if final_path.exists() and not overwrite:
        raise FileExistsError(f"{final_path} already exists; refusing to overwrite it")
    final_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final_path.name}.", suffix=".partial", dir=final_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if final_path.exists() and not overwrite:
            raise FileExistsError(f"{final_path} appeared while writing; refusing to overwrite it")
        if tmp.is_file():
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a saved file gets the usual mode
        os.replace(tmp, final_path)
    finally:
        if tmp.exists():
            tmp.unlink()


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_directory(final_dir: Path) -> Iterator[Path]:
    """Like ``atomic_file`` for a folder of files: all of them appear at once, or none."""
    final_dir = Path(final_dir)
    if final_dir.exists():
        raise FileExistsError(f"{final_dir} already exists; refusing to overwrite it")
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", suffix=".partial", dir=final_dir.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
        os.rename(tmp, final_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
