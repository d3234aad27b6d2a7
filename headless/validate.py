"""Check a whole API-form workflow before anything runs, and report every problem at once.

Each problem names the node id, its type and the input, like ComfyUI's own ``node_errors``: unknown node types,
missing required inputs, links to missing nodes or outputs, type mismatches on links, values of the wrong kind or
out of range, choices not in the list, cycles, and a graph with no output node.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

from .graph import find_cycle, is_link
from .schema import ObjectInfo, input_spec, ordered_inputs, types_compatible
from .workflow import Prompt


@dataclass(frozen=True)
class Problem:
    node_id: str
    class_type: str
    input_name: str | None
    message: str

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.class_type})"
        return f"{where}, input '{self.input_name}': {self.message}" if self.input_name else f"{where}: {self.message}"


def _check_constant(kind: str, options: dict[str, Any], value: Any) -> str | None:
    if kind == "COMBO":
        choices = options.get("options", [])
        return None if value in choices else f"'{value}' is not one of {choices}"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"expected true/false, got {value!r}"
    if kind == "STRING":
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value} is not a finite number; give an ordinary number (JSON has no NaN or Infinity)"
        if kind == "INT" and isinstance(value, float) and not value.is_integer():
            return f"expected a whole number, got {value}"
        if "min" in options and value < options["min"]:
            return f"{value} is smaller than the minimum {options['min']}"
        if "max" in options and value > options["max"]:
            return f"{value} is bigger than the maximum {options['max']}"
        return None
    return f"needs a link from a {kind} output, got the constant {value!r}"


def _check_link(prompt: Prompt, object_info: ObjectInfo, kind: str, value: list) -> str | None:
    source_id = str(value[0])
    source = prompt.get(source_id)
    if source is None:
        return f"linked to node {source_id}, which is not in the workflow"
    source_info = object_info.get(source.get("class_type"))
    if source_info is None:
        return None  # the unknown source type is reported on its own node
    outputs = source_info["output"]
    if not 0 <= value[1] < len(outputs):
        return f"linked to output {value[1]} of node {source_id}, which has {len(outputs)} outputs"
    out_kind = outputs[value[1]]
    out_kind = "COMBO" if isinstance(out_kind, list) else out_kind
    if not types_compatible(out_kind, kind):
        return f"expects {kind} but node {source_id} output {value[1]} gives {out_kind}"
    return None


def _check_node(node_id: str, node: dict[str, Any], prompt: Prompt, object_info: ObjectInfo) -> list[Problem]:
    class_type = node.get("class_type", "?")
    info = object_info.get(class_type)
    if info is None:
        return [Problem(node_id, class_type, None, "unknown node type (is the pack that provides it installed?)")]
    problems = []
    inputs = node.get("inputs") or {}
    for name in ordered_inputs(info):
        kind, options, required = input_spec(info, name)
        if name not in inputs:
            if required:
                problems.append(Problem(node_id, class_type, name, "required input is missing"))
            continue
        value = inputs[name]
        if is_link(value):
            message = _check_link(prompt, object_info, kind, value)
        else:
            message = _check_constant(kind, options, value)
        if message:
            problems.append(Problem(node_id, class_type, name, message))
    return problems


def _custom_validation(node_id: str, node: dict, classes: dict[str, type]) -> list[Problem]:
    cls = classes.get(node.get("class_type"))
    hook = getattr(cls, "VALIDATE_INPUTS", None)
    if hook is None:
        return []
    accepted = inspect.signature(hook).parameters
    constants = {k: v for k, v in (node.get("inputs") or {}).items() if not is_link(v) and k in accepted}
    result = hook(**constants)
    return [] if result is True else [Problem(node_id, node["class_type"], None, str(result))]


def validate(prompt: Prompt, object_info: ObjectInfo, classes: dict[str, type] | None = None) -> list[Problem]:
    """All problems of ``prompt``; an empty list means it can run."""
    problems: list[Problem] = []
    for node_id, node in prompt.items():
        node_problems = _check_node(node_id, node, prompt, object_info)
        problems += node_problems
        if not node_problems and classes:
            problems += _custom_validation(node_id, node, classes)
    cycle = find_cycle(prompt)
    if cycle:
        first = prompt[cycle[0]]
        problems.append(Problem(cycle[0], first.get("class_type", "?"), None,
                                "links form a cycle: " + " → ".join(cycle)))
    outputs = [nid for nid, n in prompt.items() if object_info.get(n.get("class_type"), {}).get("output_node")]
    if not outputs and not any(p.message.startswith("unknown node type") for p in problems):
        problems.append(Problem("-", "workflow", None, "has no output node (e.g. a Save node), so nothing would run"))
    return problems
