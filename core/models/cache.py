"""Keep the most recently loaded model of each kind, keyed on file, size/mtime, dtype, device and LoRAs.

Nodes hold no state, but reloading 33 GB for every queue run is not an option; this is the one place a loaded
model outlives a call. One entry per kind: loading another file releases the previous model first.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_entries: dict[str, tuple[Hashable, object]] = {}


def file_stamp(path: str | Path) -> tuple[str, int, int]:
    """Identity of a file or folder's content as far as caching cares: path, size and modification time."""
    p = Path(path).resolve()
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    return str(p), sum(f.stat().st_size for f in files), max((f.stat().st_mtime_ns for f in files), default=0)


def cached(kind: str, key: Hashable, load: Callable[[], T]) -> T:
    """Return the cached ``kind`` model if its key matches, else drop it and ``load()`` a new one."""
    entry = _entries.get(kind)
    if entry is not None and entry[0] == key:
        return entry[1]  # type: ignore[return-value]
    _entries.pop(kind, None)
    value = load()
    _entries[kind] = (key, value)
    return value


def clear() -> None:
    _entries.clear()
