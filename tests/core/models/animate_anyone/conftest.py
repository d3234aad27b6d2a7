"""Fixtures over the tiny AnimateAnyone networks of ``tiny_animate_anyone.py``."""
from __future__ import annotations

import pytest
from _support import load_helper

tiny = load_helper("core/models/animate_anyone/tiny_animate_anyone.py")
HEIGHT, WIDTH, tiny_models, images = tiny.HEIGHT, tiny.WIDTH, tiny.tiny_models, tiny.images


@pytest.fixture(scope="module")
def models():
    return tiny_models()


@pytest.fixture(scope="session")
def make_models():
    return tiny_models


@pytest.fixture(scope="session")
def make_images():
    return images
