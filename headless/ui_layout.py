"""API-form workflow → the editor's UI form, laid out left to right by dependency depth.

Example workflows are authored in API form (diffable, what `/prompt` takes) and shipped in UI form too, so users
can drag them onto the canvas and see a readable graph. The widget order and the extra "control after generate"
value of seed widgets follow the frontend's rules, which ``workflow.to_api`` reverses.
"""
from __future__ import annotations

from typing import Any

from .schema import ObjectInfo, input_spec, is_widget, ordered_inputs
from .graph import depths, is_link
from .workflow import Prompt, _has_seed_control

COLUMN_WIDTH, ROW_GAP, NODE_WIDTH = 380, 40, 320
SLOT_HEIGHT, TITLE_HEIGHT = 26, 30


def _node_height(info: dict) -> int:
    slots = len(ordered_inputs(info)) + len(info["output"])
    return TITLE_HEIGHT + SLOT_HEIGHT * max(slots, 1)


def _widgets_values(node: dict, info: dict) -> list[Any]:
    values = []
    for name in ordered_inputs(info):
        kind, options, _ = input_spec(info, name)
        if not is_widget(kind, options):
            continue
        value = node["inputs"].get(name, options.get("default"))
        values.append(options.get("default") if is_link(value) else value)
        if _has_seed_control(name, kind, options):
            values.append("fixed")
    return values


def _numeric(node_id: str) -> tuple:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def ui_node_ids(prompt: Prompt) -> dict[str, int]:
    """The editor id of each API node: the same number, so ``--set 9.seed`` means one node in both forms.

    Only when some API id is not a positive whole number (the editor needs integers) are ids given anew, in the
    API ids' order.
    """
    if all(node_id.isdigit() and int(node_id) > 0 for node_id in prompt):
        return {node_id: int(node_id) for node_id in prompt}
    return {node_id: index for index, node_id in enumerate(sorted(prompt, key=_numeric), start=1)}


def api_to_ui(prompt: Prompt, object_info: ObjectInfo) -> dict[str, Any]:
    depth = depths(prompt)
    order = sorted(prompt, key=lambda n: (depth[n], _numeric(n)))
    ids = ui_node_ids(prompt)
    position = {node_id: index for index, node_id in enumerate(order)}
    column_y: dict[int, int] = {}
    nodes, links = [], []
    outputs_links: dict[tuple[str, int], list[int]] = {}
    for node_id in order:
        node, info = prompt[node_id], object_info[prompt[node_id]["class_type"]]
        inputs = []
        for name in ordered_inputs(info):
            kind, options, _ = input_spec(info, name)
            value = node["inputs"].get(name)
            entry = {"name": name, "type": kind, "link": None}
            if is_widget(kind, options):
                if not is_link(value):
                    continue
                entry["widget"] = {"name": name}
            if is_link(value):
                link_id = len(links) + 1
                source, slot = str(value[0]), value[1]
                links.append([link_id, ids[source], slot, ids[node_id], len(inputs),
                              object_info[prompt[source]["class_type"]]["output"][slot]])
                outputs_links.setdefault((source, slot), []).append(link_id)
                entry["link"] = link_id
            inputs.append(entry)
        column = depth[node_id]
        y = column_y.get(column, 0)
        column_y[column] = y + _node_height(info) + ROW_GAP
        nodes.append({"id": ids[node_id], "type": node["class_type"], "pos": [column * COLUMN_WIDTH, y],
                      "size": [NODE_WIDTH, _node_height(info)], "flags": {}, "order": position[node_id], "mode": 0,
                      "inputs": inputs, "outputs": [], "properties": {"Node name for S&R": node["class_type"]},
                      "widgets_values": _widgets_values(node, info), "_api_id": node_id})
    for ui_node in nodes:
        source = ui_node.pop("_api_id")
        info = object_info[ui_node["type"]]
        ui_node["outputs"] = [{"name": name, "type": kind, "links": outputs_links.get((source, slot), []),
                               "slot_index": slot}
                              for slot, (name, kind) in enumerate(zip(info["output_name"], info["output"]))]
    return {"last_node_id": max(ids.values(), default=0), "last_link_id": len(links), "nodes": nodes, "links": links,
            "groups": [], "config": {}, "extra": {}, "version": 0.4}
