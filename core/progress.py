"""How long-running library code reports progress without knowing who is listening.

Core functions take a ``progress`` callback and call it as ``progress(done, total)``. The caller decides what
that means: a ComfyUI progress bar (which is also where ComfyUI raises on interruption), a terminal bar, or
nothing. Keeping this a plain callable is what lets ``core/`` stay free of any host import.
"""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, total: int) -> None: ...


def no_progress(done: int, total: int) -> None:
    """The default listener: ignore progress."""


def scaled(progress: Progress, start: int, span: int, total: int) -> Progress:
    """Map a sub-task's ``(done, sub_total)`` onto ``[start, start + span]`` of an outer bar of ``total`` steps."""

    def report(done: int, sub_total: int) -> None:
        fraction = done / sub_total if sub_total else 1.0
        progress(start + round(span * fraction), total)

    return report
