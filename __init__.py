"""ComfyUI entry point: node mappings only. The library lives in `core/`, the node wrappers in `nodes/`.

The mappings are resolved on first access (PEP 562), so ComfyUI gets them as usual while `import choreograph.core`
from a script or training job does not import every node module and its model libraries.
"""

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]

WEB_DIRECTORY = "./web"  # the frontend extension that shows text results on the nodes


def __getattr__(name: str):
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"):
        from . import nodes

        return getattr(nodes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
