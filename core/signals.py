"""SIGTERM handled like Ctrl-C in the command-line tools, so atomic writers remove their temporary files.

Without it, a SIGTERM (a job scheduler, ``kill``, a container stop) ends the process before any ``finally`` block
runs and leaves ``*.partial`` files behind. Only the headless entry points install it; ComfyUI keeps its own.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM (a BaseException, like KeyboardInterrupt)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextmanager
def raise_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` (main thread only; the previous handler comes back after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
