"""Loads ``tiny_dance`` (tiny DanceTogether parts) for the tests in this folder."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_tiny_dance():
    """The helper module, imported once by file path (test folders are not packages)."""
    if "tiny_dance" not in sys.modules:
        spec = importlib.util.spec_from_file_location("tiny_dance", Path(__file__).with_name("tiny_dance.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["tiny_dance"] = module
        spec.loader.exec_module(module)
    return sys.modules["tiny_dance"]


@pytest.fixture(scope="session")
def tiny():
    """The ``tiny_dance`` helper module."""
    return load_tiny_dance()


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks run ~30× faster on one thread than on two contended ones (the CI box is shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
