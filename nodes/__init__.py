"""Collect the node classes of every stage module in this folder.

Each public module (name not starting with ``_``) defines ``NODE_CLASS_MAPPINGS`` and
``NODE_DISPLAY_NAME_MAPPINGS``. A module that fails to import (a missing optional dependency, say) costs only its
own nodes: one warning is logged and the rest of the pack still loads.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil

LOG = logging.getLogger("choreograph")

NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}
FAILED_MODULES: dict[str, str] = {}


def _stage_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _register(module_name: str) -> None:
    try:
        module = importlib.import_module(f".{module_name}", __name__)
    except Exception as exc:  # noqa: BLE001 - any import failure of an optional module must not sink the pack
        FAILED_MODULES[module_name] = f"{type(exc).__name__}: {exc}"
        LOG.warning("Choreograph: nodes from '%s' are unavailable (%s: %s)", module_name, type(exc).__name__, exc)
        return
    for node_id, cls in getattr(module, "NODE_CLASS_MAPPINGS", {}).items():
        if node_id in NODE_CLASS_MAPPINGS:
            raise RuntimeError(f"Choreograph: node id {node_id!r} defined twice (second time in {module_name})")
        NODE_CLASS_MAPPINGS[node_id] = cls
    NODE_DISPLAY_NAME_MAPPINGS.update(getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", {}))


for _name in _stage_modules():
    _register(_name)
