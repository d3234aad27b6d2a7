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


MAX_WORKFLOW_BYTES = 64 * 2**20


def load_workflow(path: Path) -> dict[str, Any]:
    """The workflow file's JSON object; every way a file can fail to be one is a ``WorkflowFormatError``."""
    path = Path(path)
    if path.is_dir():
        raise WorkflowFormatError(f"{path} is a folder, not a workflow file. Fix: give the .json file itself")
    try:
        if path.stat().st_size > MAX_WORKFLOW_BYTES:
            raise WorkflowFormatError(f"{path} is larger than {MAX_WORKFLOW_BYTES // 2**20} MiB; a workflow is a "
                                      "small JSON file. Fix: give the workflow, not a data file")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise WorkflowFormatError(f"{path}: no such workflow file") from None
    except UnicodeDecodeError as exc:
        raise WorkflowFormatError(f"{path} is not UTF-8 text (byte {exc.start}); a workflow is JSON saved by "
                                  "ComfyUI. Fix: re-export it from ComfyUI (Save / Export (API))") from None
    except OSError as exc:
        raise WorkflowFormatError(f"{path} cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowFormatError(f"{path}: not valid JSON ({exc}). Fix: re-export it from ComfyUI") from None
    except RecursionError:
        raise WorkflowFormatError(f"{path}: JSON nested too deeply to be a workflow") from None
    if not isinstance(data, dict):
        raise WorkflowFormatError(f"{path}: a workflow is a JSON object, not a {type(data).__name__}")
    return data


def is_ui_format(data: dict[str, Any]) -> bool:
    return isinstance(data.get("nodes"), list) and "links" in data


def to_api(data: dict[str, Any], object_info: ObjectInfo) -> Prompt:
    """Return the API form of ``data`` (copied; API-format input is returned as is, minus non-node keys).

    Malformed node or link shapes are a ``WorkflowFormatError`` naming the node, never a crash later on."""
    if is_ui_format(data):
        return _ui_to_api(data, object_info)
    prompt = {}
    for key, node in data.items():
        looks_like_node = isinstance(node, dict) and ("class_type" in node or "inputs" in node)
        if not looks_like_node:
            if str(key).isdigit():
                raise WorkflowFormatError(f"node {key} is a {type(node).__name__}, not an object with "
                                          "'class_type' and 'inputs'")
            continue  # e.g. metadata next to the nodes
        if not isinstance(node.get("class_type"), str) or not node["class_type"]:
            raise WorkflowFormatError(f"node {key}: 'class_type' must be a node type name, got "
                                      f"{node.get('class_type')!r}")
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowFormatError(f"node {key} ({node['class_type']}): 'inputs' must be an object of "
                                      f"name: value, got a {type(node['inputs']).__name__}")
        prompt[str(key)] = {"class_type": node["class_type"], "inputs": dict(node.get("inputs") or {})}
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
    except (json.JSONDecodeError, RecursionError):
        value = raw
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
        raise WorkflowFormatError(f"--set {text!r}: {raw} would be read as a link to node {value[0]}; --set gives "
                                  f"values only. Fix: to pass this text, quote it as a JSON string: "
                                  f"--set '{target}={json.dumps(raw)}'")
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


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value != "")


def _check_ui_node(index: int, node: Any) -> str | None:
    if not isinstance(node, dict):
        return f"nodes[{index}] is a {type(node).__name__}, not a node object"
    where = f"node {node.get('id', f'nodes[{index}]')}"
    if not _is_id(node.get("id")):
        return f"nodes[{index}] has no usable 'id' (got {node.get('id')!r})"
    if not isinstance(node.get("type"), str):
        return f"{where}: 'type' must be a node type name, got {node.get('type')!r}"
    for key in ("inputs", "outputs"):
        entries = node.get(key)
        if entries is not None and (not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries)):
            return f"{where}: '{key}' must be a list of slot objects"
    for entry in node.get("inputs") or []:
        link = entry.get("link")
        if not isinstance(entry.get("name"), str) or (link is not None and not _is_id(link)):
            return f"{where}: input slot {entry!r} needs a 'name' and a link id or null"
    values = node.get("widgets_values")
    if values is not None and not isinstance(values, (list, dict)):
        return f"{where}: 'widgets_values' must be a list, got a {type(values).__name__}"
    return None


def _check_ui_link(link: Any) -> str | None:
    if isinstance(link, dict):
        ok = _is_id(link.get("id")) and _is_id(link.get("origin_id")) and isinstance(link.get("origin_slot"), int)
    else:
        ok = (isinstance(link, list) and len(link) >= 3 and _is_id(link[0]) and _is_id(link[1])
              and isinstance(link[2], int) and not isinstance(link[2], bool))
    return None if ok else f"link {link!r} is not [id, origin_node, origin_slot, target_node, target_slot, type]"


def check_ui_shapes(data: dict[str, Any]) -> None:
    """Raise ``WorkflowFormatError`` for the first node or link whose shape the editor would never save."""
    links = data.get("links")
    if links is not None and not isinstance(links, list):
        raise WorkflowFormatError(f"'links' must be a list, got a {type(links).__name__}")
    seen: set[str] = set()
    for index, node in enumerate(data["nodes"]):
        problem = _check_ui_node(index, node)
        if problem is None and str(node["id"]) in seen:
            problem = f"node id {node['id']} is used twice"
        if problem:
            raise WorkflowFormatError(f"{problem}. Fix: re-save the workflow from ComfyUI")
        seen.add(str(node["id"]))
    for link in links or []:
        problem = _check_ui_link(link)
        if problem:
            raise WorkflowFormatError(f"{problem}. Fix: re-save the workflow from ComfyUI")


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
    check_ui_shapes(data)
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
                values = origin.get("widgets_values")
                inputs[entry["name"]] = values[0] if isinstance(values, list) and values else None
            else:
                inputs[entry["name"]] = [source[0], source[1]]
        prompt[node_id] = {"class_type": kind, "inputs": inputs}
    return prompt
