"""Fixtures over ``tiny_dance`` (tiny DanceTogether parts) for the tests in this folder."""
from __future__ import annotations

import pytest
from _support import load_helper


def load_tiny_dance():
    return load_helper("core/models/stable_animator/tiny_dance.py")


@pytest.fixture(scope="session")
def tiny():
    """The ``tiny_dance`` helper module."""
    return load_tiny_dance()
