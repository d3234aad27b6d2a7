"""Walking a workflow's links without recursion, so a graph of any depth (a 3,000-node chain) is fine."""
from __future__ import annotations

from typing import Any, Iterable

Prompt = dict


def is_link(value: Any) -> bool:
    """``[source_node_id, output_index]``: a link in API form (anything else is a constant)."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and not isinstance(value[0], bool) and isinstance(value[1], int) and not isinstance(value[1], bool))


def upstream(prompt: Prompt, node_id: str) -> list[str]:
    """Ids of the nodes ``node_id`` reads from (links to nodes that exist), in input order."""
    inputs = prompt[node_id].get("inputs") or {}
    return [str(v[0]) for v in inputs.values() if is_link(v) and str(v[0]) in prompt]


def post_order(prompt: Prompt, starts: Iterable[str]) -> list[str]:
    """Every node reachable upstream from ``starts``, each after all it reads (cycles are cut, not followed)."""
    order: list[str] = []
    seen: set[str] = set()
    for start in starts:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(upstream(prompt, start)))]
        while stack:
            node_id, pending = stack[-1]
            for source in pending:
                if source not in seen:
                    seen.add(source)
                    stack.append((source, iter(upstream(prompt, source))))
                    break
            else:
                stack.pop()
                order.append(node_id)
    return order


def find_cycle(prompt: Prompt) -> list[str] | None:
    """Node ids forming a cycle through links (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in prompt:
        if start in state:
            continue
        state[start] = 1
        path = [start]
        stack = [iter(upstream(prompt, start))]
        while stack:
            for source in stack[-1]:
                if state.get(source) == 1:
                    return path[path.index(source):] + [source]
                if source not in state:
                    state[source] = 1
                    path.append(source)
                    stack.append(iter(upstream(prompt, source)))
                    break
            else:
                stack.pop()
                state[path.pop()] = 2
    return None


def depths(prompt: Prompt) -> dict[str, int]:
    """Longest link distance from a node with no inputs (0) to each node (cycles are cut)."""
    depth: dict[str, int] = {}
    for node_id in post_order(prompt, list(prompt)):
        depth[node_id] = max((depth[s] + 1 for s in upstream(prompt, node_id) if s in depth), default=0)
    return depth
