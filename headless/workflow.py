"""Workflow files: read API- or UI-format JSON, convert UI to API form, apply ``--set`` overrides.

API form is ComfyUI's ``/prompt`` payload: ``{node_id: {"class_type", "inputs": {name: value | [src_id, slot]}}}``.
The UI form (what the editor saves) is converted with the same rules as the frontend's ``graphToPrompt``:
widget values in input order (a seed widget carries an extra "control after generate" value), links resolved
through Reroute nodes, Primitive nodes folded into their targets, muted nodes dropped, bypassed nodes bridged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .schema import ObjectInfo, input_spec, is_widget, ordered_inputs

Prompt = dict[str, dict[str, Any]]
SKIPPED_UI_TYPES = {"Note", "MarkdownNote"}
MODE_MUTED, MODE_BYPASSED = 2, 4


class WorkflowFormatError(ValueError):
    pass


def load_workflow(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise WorkflowFormatError(f"{path}: no such workflow file") from None
    except json.JSONDecodeError as exc:
        raise WorkflowFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WorkflowFormatError(f"{path}: a workflow is a JSON object")
    return data


def is_ui_format(data: dict[str, Any]) -> bool:
    return isinstance(data.get("nodes"), list) and "links" in data


def to_api(data: dict[str, Any], object_info: ObjectInfo) -> Prompt:
    """Return the API form of ``data`` (copied; API-format input is returned as is, minus non-node keys)."""
    if is_ui_format(data):
        return _ui_to_api(data, object_info)
    prompt = {str(k): v for k, v in data.items() if isinstance(v, dict) and "class_type" in v}
    if not prompt:
        raise WorkflowFormatError("the file has neither UI-format 'nodes'/'links' nor API-format nodes with "
                                  "'class_type'")
    return json.loads(json.dumps(prompt))


def parse_override(text: str) -> tuple[str, str, Any]:
    """``NODE_ID.INPUT=VALUE`` → ``(node_id, input, value)``; VALUE is JSON when it parses, else a string."""
    target, sep, raw = text.partition("=")
    node_id, dot, name = target.partition(".")
    if not sep or not dot or not node_id or not name:
        raise WorkflowFormatError(f"--set {text!r}: expected NODE_ID.INPUT=VALUE, e.g. --set 3.seed=7")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return node_id, name, value


def apply_overrides(prompt: Prompt, overrides: list[str], object_info: ObjectInfo) -> list[str]:
    """Apply ``--set`` values; returns a problem line for each unknown node or input (a typo must not pass)."""
    problems = []
    for text in overrides:
        node_id, name, value = parse_override(text)
        node = prompt.get(node_id)
        if node is None:
            problems.append(f"--set {text}: there is no node {node_id} (nodes: {', '.join(sorted(prompt))})")
            continue
        info = object_info.get(node["class_type"])
        if info is not None and input_spec(info, name) is None:
            known = ", ".join(ordered_inputs(info))
            problems.append(f"--set {text}: node {node_id} ({node['class_type']}) has no input '{name}' "
                            f"(inputs: {known})")
            continue
        node.setdefault("inputs", {})[name] = value
    return problems


def _has_seed_control(name: str, kind: str, options: dict[str, Any]) -> bool:
    return kind == "INT" and (options.get("control_after_generate") or name in ("seed", "noise_seed"))


def _widget_values(node: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    values = node.get("widgets_values") or []
    if isinstance(values, dict):  # some packs save widgets by name
        return dict(values)
    result, position = {}, 0
    for name in ordered_inputs(info):
        kind, options, _ = input_spec(info, name)
        if not is_widget(kind, options) or position >= len(values):
            continue
        result[name] = values[position]
        position += 2 if _has_seed_control(name, kind, options) else 1
    return result


class _UiGraph:
    """Index of a UI-format graph for link resolution."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.nodes = {str(n["id"]): n for n in data["nodes"]}
        self.links = {}
        for link in data.get("links") or []:
            if isinstance(link, dict):
                self.links[link["id"]] = (str(link["origin_id"]), link["origin_slot"])
            else:
                self.links[link[0]] = (str(link[1]), link[2])

    def source(self, link_id: int) -> tuple[str, int] | None:
        """The real ``(node_id, slot)`` feeding ``link_id``, following Reroutes and bypassed nodes."""
        seen = set()
        while link_id is not None and link_id in self.links and link_id not in seen:
            seen.add(link_id)
            node_id, slot = self.links[link_id]
            node = self.nodes.get(node_id)
            if node is None:
                return None
            if node["type"] == "Reroute" or node.get("mode") == MODE_BYPASSED:
                link_id = self._passthrough_link(node, slot)
                continue
            return node_id, slot
        return None

    def _passthrough_link(self, node: dict[str, Any], slot: int) -> int | None:
        inputs = node.get("inputs") or []
        if node["type"] == "Reroute":
            return inputs[0].get("link") if inputs else None
        wanted = (node.get("outputs") or [{}])[slot].get("type") if slot < len(node.get("outputs") or []) else None
        for entry in inputs:
            if entry.get("link") is not None and entry.get("type") == wanted:
                return entry["link"]
        return None


def _ui_to_api(data: dict[str, Any], object_info: ObjectInfo) -> Prompt:
    graph = _UiGraph(data)
    prompt: Prompt = {}
    for node_id, node in graph.nodes.items():
        kind = node.get("type")
        if kind in SKIPPED_UI_TYPES or kind in ("Reroute", "PrimitiveNode") or node.get("mode") in (
                MODE_MUTED, MODE_BYPASSED):
            continue
        info = object_info.get(kind)
        inputs = _widget_values(node, info) if info else {}
        for entry in node.get("inputs") or []:
            if entry.get("link") is None:
                continue
            source = graph.source(entry["link"])
            if source is None:
                continue
            origin = graph.nodes[source[0]]
            if origin["type"] == "PrimitiveNode":
                inputs[entry["name"]] = (origin.get("widgets_values") or [None])[0]
            else:
                inputs[entry["name"]] = [source[0], source[1]]
        prompt[node_id] = {"class_type": kind, "inputs": inputs}
    return prompt
