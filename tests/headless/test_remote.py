"""The ComfyUI client's event loop, against scripted sockets (the real server is exercised in tests/host/)."""
from __future__ import annotations

import json

import pytest
from websocket import WebSocketTimeoutException

from choreograph.headless.remote import ComfyServer


class ScriptedSocket:
    def __init__(self, events):
        self.events = list(events)

    def recv(self):
        item = self.events.pop(0)
        if isinstance(item, Exception):
            raise item
        return item if isinstance(item, bytes) else json.dumps(item)


def test_events_of_other_prompts_and_previews_are_ignored(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    monkeypatch.setattr(server, "history", lambda pid: {"outputs": {"5": {"gifs": []}}})
    seen = []
    socket = ScriptedSocket([{"type": "executing", "data": {"node": "3", "prompt_id": "other"}}, b"\x00preview",
                             {"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": "p"}},
                             {"type": "execution_success", "data": {"prompt_id": "p"}}])
    outcome = server.follow(socket, "p", lambda kind, data: seen.append(kind), limit_s=10)
    assert outcome.status == "success" and outcome.outputs == {"5": {"gifs": []}}
    assert seen == ["progress", "execution_success"]


def test_a_quiet_socket_falls_back_to_history(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    answers = iter([{}, {"status": {"status_str": "error", "messages": [
        ["execution_start", {}], ["execution_error", {"node_id": "2", "exception_message": "boom"}]]},
        "outputs": {}}])
    monkeypatch.setattr(server, "history", lambda pid: next(answers))
    socket = ScriptedSocket([WebSocketTimeoutException("quiet"), WebSocketTimeoutException("quiet")])
    outcome = server.follow(socket, "p", lambda kind, data: None, limit_s=10)
    assert outcome.status == "error" and outcome.error == {"node_id": "2", "exception_message": "boom"}


def test_an_error_event_carries_the_failing_node(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    monkeypatch.setattr(server, "history", lambda pid: {})
    socket = ScriptedSocket([{"type": "execution_error", "data": {"prompt_id": "p", "node_id": "4",
                                                                 "exception_type": "InputError"}}])
    outcome = server.follow(socket, "p", lambda kind, data: None, limit_s=10)
    assert outcome.status == "error" and outcome.error["node_id"] == "4"


def test_the_overall_limit_is_honoured(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    monkeypatch.setattr(server, "history", lambda pid: {})
    socket = ScriptedSocket([WebSocketTimeoutException("quiet")] * 3)
    with pytest.raises(TimeoutError):
        server.follow(socket, "p", lambda kind, data: None, limit_s=0)
