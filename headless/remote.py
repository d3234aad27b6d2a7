"""Submit a workflow to a running ComfyUI: ``POST /prompt``, progress from ``/ws``, results from ``/history``.

ComfyUI sends ``execution_success`` before it writes the prompt's ``/history`` entry, so the outcome is read from
``/history`` with a bounded retry until the entry is there; a success without that entry is an error, never a
silent empty result.
"""
from __future__ import annotations

import json
import logging
import socket as _socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable

LOG = logging.getLogger("choreograph")
HISTORY_WAIT_S = 60.0


class ServerError(RuntimeError):
    """The server cannot be used: a bad URL, nobody answering, or an answer that is not ComfyUI's."""


class ServerRejected(RuntimeError):
    """ComfyUI refused the prompt (HTTP 400); ``node_errors`` is its per-node report."""

    def __init__(self, error: dict, node_errors: dict) -> None:
        self.error, self.node_errors = error, node_errors
        super().__init__(error.get("message", "prompt rejected"))

    def lines(self) -> list[str]:
        lines = []
        for node_id, report in self.node_errors.items():
            for err in report.get("errors", []):
                name = (err.get("extra_info") or {}).get("input_name")
                where = f"node {node_id} ({report.get('class_type')})" + (f", input '{name}'" if name else "")
                lines.append(f"{where}: {err.get('message')}: {err.get('details', '')}".rstrip(": "))
        if not lines:
            lines.append(f"{self.error.get('message')}: {self.error.get('details', '')}")
        return lines


@dataclass
class RemoteOutcome:
    status: str  # "success" | "error" | "interrupted"
    outputs: dict[str, Any]
    error: dict | None = None


def checked_url(url: str) -> str:
    """``url`` without a trailing slash if it is an http(s) URL with a host, else ``ServerError``."""
    parsed = urllib.parse.urlparse(str(url).strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ServerError(f"--server: '{url}' is not an http(s) URL. Fix: give the address ComfyUI prints at "
                          "start-up, e.g. http://127.0.0.1:8188")
    try:
        parsed.port
    except ValueError:
        raise ServerError(f"--server: '{url}' has an invalid port. Fix: e.g. http://127.0.0.1:8188") from None
    return str(url).strip().rstrip("/")


class ComfyServer:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = checked_url(url)
        self.timeout = timeout
        self.client_id = uuid.uuid4().hex

    def _unreachable(self, reason: object) -> ServerError:
        return ServerError(f"--server: cannot reach ComfyUI at {self.url} ({reason}). Fix: start ComfyUI "
                           "(python main.py --listen ...) or correct the address and port")

    def _request(self, path: str, payload: dict | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError as exc:
            raise self._unreachable(exc.reason) from None
        except (OSError, _socket.timeout, ValueError) as exc:  # reset, timed out, not an HTTP answer
            raise self._unreachable(exc) from None
        try:
            return json.loads(body) if body else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ServerError(f"--server: {self.url}{path} answered with something that is not JSON; is it a "
                              "ComfyUI server? Fix: give ComfyUI's address") from None

    def _get(self, path: str) -> Any:
        try:
            return self._request(path)
        except urllib.error.HTTPError as exc:
            raise ServerError(f"--server: {self.url}{path} answered HTTP {exc.code}; is it a ComfyUI server? "
                              "Fix: give ComfyUI's address") from None

    def object_info(self) -> dict:
        info = self._get("/object_info")
        if not isinstance(info, dict):
            raise ServerError(f"--server: {self.url}/object_info is not ComfyUI's node list. Fix: give ComfyUI's "
                              "address")
        return info

    def submit(self, prompt: dict) -> str:
        try:
            reply = self._request("/prompt", {"prompt": prompt, "client_id": self.client_id})
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                try:
                    body = json.loads(exc.read() or b"{}")
                except (json.JSONDecodeError, UnicodeDecodeError):
                    body = {}
                raise ServerRejected(body.get("error", {}), body.get("node_errors", {})) from None
            raise ServerError(f"--server: POST /prompt answered HTTP {exc.code}. Fix: check the server's log") \
                from None
        if not isinstance(reply, dict) or "prompt_id" not in reply:
            raise ServerError(f"--server: POST /prompt gave no prompt id ({reply!r}). Fix: give ComfyUI's address")
        return reply["prompt_id"]

    def interrupt(self) -> None:
        self._request("/interrupt", {})

    def history(self, prompt_id: str) -> dict:
        entry = (self._get(f"/history/{prompt_id}") or {}).get(prompt_id, {})
        return entry if isinstance(entry, dict) else {}

    def open_events(self):
        """A websocket to ``/ws`` for this client id (open it before submitting so no event is missed)."""
        import websocket

        ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        try:
            return websocket.create_connection(f"{ws_url}/ws?clientId={self.client_id}", timeout=self.timeout)
        except (OSError, websocket.WebSocketException) as exc:
            raise self._unreachable(exc) from None

    def follow(self, socket, prompt_id: str, on_event: Callable[[str, dict], None], limit_s: float,
               history_wait_s: float = HISTORY_WAIT_S) -> RemoteOutcome:
        """Read events until the prompt ends; then wait for its ``/history`` entry and read the outputs there."""
        from websocket import WebSocketConnectionClosedException, WebSocketTimeoutException
        deadline = time.monotonic() + limit_s
        error, status = None, None
        while status is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"prompt {prompt_id} did not finish within {limit_s:.0f} s")
            try:
                message = socket.recv()
            except (TimeoutError, WebSocketTimeoutException, WebSocketConnectionClosedException):
                # a long node sends nothing for a while, or the socket dropped: ask /history whether it ended
                finished = self._finished(prompt_id)
                if finished is not None:
                    return finished
                continue
            if isinstance(message, bytes):
                continue  # binary preview images
            try:
                event = json.loads(message)
            except json.JSONDecodeError:
                continue
            kind, data = event.get("type"), event.get("data") or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            on_event(kind, data)
            if kind == "execution_success":
                status = "success"
            elif kind == "execution_error":
                status, error = "error", data
            elif kind == "execution_interrupted":
                status = "interrupted"
        finished = self.wait_for_history(prompt_id, history_wait_s)
        if finished is None:
            if status == "success":
                raise ServerError(f"the server reported prompt {prompt_id} done, but /history has no record of it "
                                  f"after {history_wait_s:.0f} s, so its outputs are unknown. Fix: check the "
                                  "server's log; rerun the workflow")
            return RemoteOutcome(status, {}, error)
        return RemoteOutcome(status, finished.outputs, error or finished.error)

    def wait_for_history(self, prompt_id: str, limit_s: float) -> RemoteOutcome | None:
        """Poll ``/history`` (backing off from 50 ms to 1 s) until the prompt's entry is written, or ``limit_s``."""
        deadline = time.monotonic() + limit_s
        pause = 0.05
        while True:
            finished = self._finished(prompt_id)
            if finished is not None or time.monotonic() >= deadline:
                return finished
            time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
            pause = min(pause * 2, 1.0)

    def _finished(self, prompt_id: str) -> RemoteOutcome | None:
        """The outcome from ``/history`` if the prompt has ended (the entry appears only once it has)."""
        entry = self.history(prompt_id)
        state = entry.get("status") or {}
        status = state.get("status_str")
        if status not in ("success", "error"):
            return None
        messages = state.get("messages") or []
        error = next((data for kind, data in messages if kind == "execution_error"), None)
        if status == "error" and any(kind == "execution_interrupted" for kind, _ in messages):
            status = "interrupted"
        return RemoteOutcome(status, entry.get("outputs") or {}, error)
