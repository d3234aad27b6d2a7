"""Run a validated API-form workflow with the pack's node classes, in dependency order.

Only nodes that some output node depends on run (as in ComfyUI). Each node's outputs are kept until the run ends;
a failure stops the run and is reported with the node id and type.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .schema import ObjectInfo, input_spec
from .graph import is_link, post_order
from .workflow import Prompt

LOG = logging.getLogger("choreograph")


class NodeFailed(RuntimeError):
    def __init__(self, node_id: str, class_type: str, error: BaseException) -> None:
        self.node_id, self.class_type, self.error = node_id, class_type, error
        super().__init__(f"node {node_id} ({class_type}) failed: {type(error).__name__}: {error}")


@dataclass
class RunResult:
    outputs: dict[str, tuple] = field(default_factory=dict)  # node id → returned values
    ui: dict[str, dict] = field(default_factory=dict)  # output node id → its "ui" payload
    seconds: dict[str, float] = field(default_factory=dict)


def execution_order(prompt: Prompt, object_info: ObjectInfo) -> list[str]:
    """Node ids reachable upstream from the output nodes, each after everything it reads."""
    outputs = [node_id for node_id, node in sorted(prompt.items(), key=lambda item: _numeric_first(item[0]))
               if object_info[node["class_type"]].get("output_node")]
    return post_order(prompt, outputs)


def _numeric_first(node_id: str) -> tuple:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def _coerce(kind: str, value: Any) -> Any:
    if kind == "INT":
        return int(value)
    if kind == "FLOAT":
        return float(value)
    return value


def _node_arguments(node: dict, info: dict, results: dict[str, tuple]) -> dict[str, Any]:
    arguments = {}
    for name, value in (node.get("inputs") or {}).items():
        spec = input_spec(info, name)
        if spec is None:
            continue  # ComfyUI ignores inputs a node does not declare; so do we
        arguments[name] = results[str(value[0])][value[1]] if is_link(value) else _coerce(spec[0], value)
    return arguments


def _call(cls: type, arguments: dict[str, Any]) -> tuple[tuple, dict | None]:
    returned = getattr(cls(), cls.FUNCTION)(**arguments)
    if isinstance(returned, dict):
        return tuple(returned.get("result") or ()), returned.get("ui")
    return tuple(returned) if returned is not None else (), None


def execute(prompt: Prompt, object_info: ObjectInfo, classes: dict[str, type]) -> RunResult:
    """Run ``prompt``; raises ``NodeFailed`` on the first failing node (``KeyboardInterrupt`` passes through)."""
    order = execution_order(prompt, object_info)
    result = RunResult()
    for step, node_id in enumerate(order, start=1):
        node = prompt[node_id]
        class_type = node["class_type"]
        LOG.info("[%d/%d] node %s (%s)", step, len(order), node_id, class_type)
        started = time.perf_counter()
        try:
            arguments = _node_arguments(node, object_info[class_type], result.outputs)
            values, ui = _call(classes[class_type], arguments)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the node that raised it
            raise NodeFailed(node_id, class_type, exc) from exc
        expected = len(object_info[class_type]["output"])
        if len(values) != expected:
            raise NodeFailed(node_id, class_type, RuntimeError(f"returned {len(values)} values, declared {expected}"))
        result.outputs[node_id] = values
        result.seconds[node_id] = time.perf_counter() - started
        if ui:
            result.ui[node_id] = ui
    return result
