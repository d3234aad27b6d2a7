"""Node schemas in the shape of ComfyUI's ``GET /object_info``.

Validation and UI→API conversion read only this shape, so the same code checks a workflow against our local node
classes (headless) or against a running ComfyUI server's ``/object_info`` (``--server``).
"""
from __future__ import annotations

from typing import Any

WIDGET_TYPES = ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")

ObjectInfo = dict[str, dict[str, Any]]


def node_info(node_id: str, cls: type, display_name: str | None = None) -> dict[str, Any]:
    """One class's entry, as ComfyUI's server builds it."""
    inputs = cls.INPUT_TYPES()
    outputs = list(getattr(cls, "RETURN_TYPES", ()))
    return {
        "input": {k: v for k, v in inputs.items() if k in ("required", "optional")},
        "input_order": {k: list(v) for k, v in inputs.items() if k in ("required", "optional")},
        "output": outputs,
        "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(outputs))),
        "output_name": list(getattr(cls, "RETURN_NAMES", outputs)),
        "name": node_id,
        "display_name": display_name or node_id,
        "description": getattr(cls, "DESCRIPTION", ""),
        "category": getattr(cls, "CATEGORY", ""),
        "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
    }


def local_object_info() -> ObjectInfo:
    from ..nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

    return {nid: node_info(nid, cls, NODE_DISPLAY_NAME_MAPPINGS.get(nid)) for nid, cls in NODE_CLASS_MAPPINGS.items()}


def input_spec(info: dict[str, Any], name: str) -> tuple[str, dict[str, Any], bool] | None:
    """``(type, options, required)`` of an input, with COMBO lists normalised to type ``"COMBO"``."""
    for section in ("required", "optional"):
        spec = info.get("input", {}).get(section, {}).get(name)
        if spec is not None:
            kind = spec[0]
            options = dict(spec[1]) if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(kind, list):
                options["options"] = kind
                kind = "COMBO"
            return kind, options, section == "required"
    return None


def ordered_inputs(info: dict[str, Any]) -> list[str]:
    order = info.get("input_order")
    if order:
        return list(order.get("required", [])) + list(order.get("optional", []))
    return list(info.get("input", {}).get("required", {})) + list(info.get("input", {}).get("optional", {}))


def is_widget(kind: str, options: dict[str, Any]) -> bool:
    return kind in WIDGET_TYPES and not options.get("forceInput", False)


def types_compatible(output_type: str, input_type: str) -> bool:
    """ComfyUI's link rule: equal names, a wildcard, or overlapping comma-separated unions."""
    if output_type == "*" or input_type == "*":
        return True
    if input_type == "COMBO" and output_type == "COMBO":
        return True
    return bool(set(str(output_type).split(",")) & set(str(input_type).split(",")))
