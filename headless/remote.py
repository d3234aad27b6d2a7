"""Submit a workflow to a running ComfyUI: ``POST /prompt``, progress from ``/ws``, results from ``/history``."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable

LOG = logging.getLogger("choreograph")


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


class ComfyServer:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.client_id = uuid.uuid4().hex

    def _request(self, path: str, payload: dict | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def object_info(self) -> dict:
        return self._request("/object_info")

    def submit(self, prompt: dict) -> str:
        try:
            reply = self._request("/prompt", {"prompt": prompt, "client_id": self.client_id})
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                body = json.loads(exc.read() or b"{}")
                raise ServerRejected(body.get("error", {}), body.get("node_errors", {})) from None
            raise
        return reply["prompt_id"]

    def interrupt(self) -> None:
        self._request("/interrupt", {})

    def history(self, prompt_id: str) -> dict:
        return (self._request(f"/history/{prompt_id}") or {}).get(prompt_id, {})

    def open_events(self):
        """A websocket to ``/ws`` for this client id (open it before submitting so no event is missed)."""
        import websocket

        ws_url = self.url.replace("http://", "ws://").replace("https://", "wss://") + f"/ws?clientId={self.client_id}"
        return websocket.create_connection(ws_url, timeout=self.timeout)

    def follow(self, socket, prompt_id: str, on_event: Callable[[str, dict], None], limit_s: float) -> RemoteOutcome:
        """Read events until the prompt ends; then read its outputs from /history."""
        from websocket import WebSocketTimeoutException
        deadline = time.monotonic() + limit_s
        error = None
        status = None
        while status is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"prompt {prompt_id} did not finish within {limit_s:.0f} s")
            try:
                message = socket.recv()
            except (TimeoutError, WebSocketTimeoutException):  # a long node sends nothing for a while: ask /history whether it ended
                finished = self._finished(prompt_id)
                if finished is not None:
                    return finished
                continue
            if isinstance(message, bytes):
                continue  # binary preview images
            event = json.loads(message)
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
        return RemoteOutcome(status, self.history(prompt_id).get("outputs", {}), error)

    def _finished(self, prompt_id: str) -> RemoteOutcome | None:
        """The outcome from ``/history`` if the prompt has ended (events can be missed on a quiet socket)."""
        entry = self.history(prompt_id)
        status = (entry.get("status") or {}).get("status_str")
        if status not in ("success", "error"):
            return None
        error = next((data for kind, data in (entry.get("status") or {}).get("messages", [])
                      if kind == "execution_error"), None)
        return RemoteOutcome(status, entry.get("outputs", {}), error)
