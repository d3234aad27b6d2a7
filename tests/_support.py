"""Importing the tiny-model helper files that live next to the tests using them (test folders are not packages)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent


def load_helper(relative_path: str) -> ModuleType:
    """The module at ``tests/<relative_path>``, imported once per session and shared by every test file."""
    path = TESTS / relative_path
    name = "choreograph_tests." + relative_path.removesuffix(".py").replace("/", ".")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
