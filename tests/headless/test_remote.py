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

    def close(self):
        self.events = []


def test_events_of_other_prompts_and_previews_are_ignored(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    monkeypatch.setattr(server, "history", lambda pid: {"outputs": {"5": {"gifs": []}},
                                                              "status": {"status_str": "success"}})
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
    outcome = server.follow(socket, "p", lambda kind, data: None, limit_s=10, history_wait_s=0)
    assert outcome.status == "error" and outcome.error["node_id"] == "4"


def test_the_overall_limit_is_honoured(monkeypatch):
    server = ComfyServer("http://127.0.0.1:1")
    monkeypatch.setattr(server, "history", lambda pid: {})
    socket = ScriptedSocket([WebSocketTimeoutException("quiet")] * 3)
    with pytest.raises(TimeoutError):
        server.follow(socket, "p", lambda kind, data: None, limit_s=0)


class FakeComfy:
    """A loopback HTTP server answering like ComfyUI: /object_info, POST /prompt, and a /history that stays empty
    for the first ``history_delay`` reads after the prompt ran (ComfyUI writes it after ``execution_success``)."""

    def __init__(self, outputs: dict, history_delay: int = 0, history_ever: bool = True, body: bytes | None = None):
        import http.server
        import threading

        from choreograph.headless.schema import local_object_info

        state = {"reads": 0}
        info = json.dumps(local_object_info()).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, payload: bytes, code: int = 200):
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                if body is not None:
                    return self._send(body)
                if self.path == "/object_info":
                    return self._send(info)
                state["reads"] += 1
                ready = history_ever and state["reads"] > history_delay
                entry = {"p1": {"outputs": outputs, "status": {"status_str": "success", "completed": True,
                                                               "messages": []}}}
                self._send(json.dumps(entry if ready else {}).encode())

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send(json.dumps({"prompt_id": "p1", "number": 0, "node_errors": {}}).encode())

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.state = state
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


SUCCESS = [{"type": "executing", "data": {"node": "2", "prompt_id": "p1"}},
           {"type": "execution_success", "data": {"prompt_id": "p1"}}]


def test_outputs_are_read_once_history_holds_the_prompt():
    """The race: execution_success arrives before /history is written; the client waits for the entry."""
    fake = FakeComfy({"2": {"gifs": [{"filename": "a.mp4"}]}}, history_delay=3)
    try:
        outcome = ComfyServer(fake.url).follow(ScriptedSocket(SUCCESS), "p1", lambda k, d: None, limit_s=10)
    finally:
        fake.close()
    assert outcome.status == "success" and outcome.outputs == {"2": {"gifs": [{"filename": "a.mp4"}]}}
    assert fake.state["reads"] == 4


def test_success_without_a_history_entry_is_an_error_not_empty_outputs():
    from choreograph.headless.remote import ServerError

    fake = FakeComfy({}, history_ever=False)
    try:
        with pytest.raises(ServerError, match="no record"):
            ComfyServer(fake.url).follow(ScriptedSocket(SUCCESS), "p1", lambda k, d: None, limit_s=10,
                                         history_wait_s=0.3)
    finally:
        fake.close()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8188", "127.0.0.1:8188", "http://", "file:///etc/passwd",
                                 "http://127.0.0.1:99999"])
def test_a_url_that_is_not_http_is_refused_clearly(url):
    from choreograph.headless.remote import ServerError

    with pytest.raises(ServerError, match="--server"):
        ComfyServer(url)


def test_a_down_server_is_a_clear_error():
    import socket

    from choreograph.headless.remote import ServerError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServerError, match="cannot reach ComfyUI"):
        ComfyServer(f"http://127.0.0.1:{port}", timeout=5).object_info()


def test_a_server_that_is_not_comfyui_is_a_clear_error():
    from choreograph.headless.remote import ServerError

    fake = FakeComfy({}, body=b"<html>hello</html>")
    try:
        with pytest.raises(ServerError, match="not JSON"):
            ComfyServer(fake.url).object_info()
    finally:
        fake.close()


def _remote_run(tmp_path, fake, monkeypatch, events):
    from choreograph.cli import main

    monkeypatch.setattr(ComfyServer, "open_events", lambda self: ScriptedSocket(events))
    workflow = {"1": {"class_type": "ChoreoSyntheticScene", "inputs": {}},
                "2": {"class_type": "ChoreoSaveVideo", "inputs": {"images": ["1", 0], "frame_rate": 8.0,
                                                                  "filename_prefix": "x", "format": "mp4 (H.264)",
                                                                  "crf": 19}}}
    from choreograph.headless.schema import local_object_info
    from choreograph.headless.workflow import to_api

    info = local_object_info()
    spec = info["ChoreoSyntheticScene"]["input"]["required"]
    workflow["1"]["inputs"] = {k: (v[1].get("default") if isinstance(v[0], str) else v[0][0])
                               for k, v in spec.items()}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(to_api(workflow, info)))
    return main(["run", str(path), "--server", fake.url])


def test_run_server_reports_the_outputs_after_waiting_for_history(tmp_path, monkeypatch, capsys):
    fake = FakeComfy({"2": {"gifs": [{"filename": "x_00001.mp4", "subfolder": "", "type": "output"}]}},
                     history_delay=2)
    try:
        assert _remote_run(tmp_path, fake, monkeypatch, SUCCESS) == 0
    finally:
        fake.close()
    assert "node 2: x_00001.mp4" in capsys.readouterr().out


def test_run_server_never_reports_success_without_outputs(tmp_path, monkeypatch, capsys):
    fake = FakeComfy({})
    try:
        assert _remote_run(tmp_path, fake, monkeypatch, SUCCESS) == 1
    finally:
        fake.close()
    captured = capsys.readouterr()
    assert "no outputs for output node(s) 2" in captured.err and "done" not in captured.out


@pytest.mark.parametrize("url", ["not-a-url", "http://127.0.0.1:1"])
def test_run_server_down_or_not_http_exits_with_a_clear_error(tmp_path, url, capsys):
    from choreograph.cli import main

    path = tmp_path / "wf.json"
    path.write_text("{}")
    assert main(["run", str(path), "--server", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --server") and "Traceback" not in err
