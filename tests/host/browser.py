"""Headless Chromium driven over the DevTools protocol (websocket-client, a pack dependency): no npm, no driver.

Launch flags from ../shared/notes/comfyui-host.md; started and stopped by PID, with a fresh profile folder.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1600,1000", "--remote-debugging-port=0",
         "--remote-allow-origins=*", "--autoplay-policy=no-user-gesture-required"]


def chromium_binary() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)


def install_chromium() -> str | None:
    """Debian's chromium, installed with apt when missing (root on these machines); None when it cannot be."""
    if chromium_binary() is None and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                                   "chromium"]):
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=900, env=env)
            except (OSError, subprocess.SubprocessError):
                return None
    return chromium_binary()


class Browser:
    """One headless Chromium with one page; ``evaluate`` runs JavaScript in it and returns the value."""

    def __init__(self, binary: str, profile: Path) -> None:
        import websocket

        self.log_path = profile.parent / "chromium.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        port = self._devtools_port()
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.ids = itertools.count(1)
        self.console: list[str] = []
        self.call("Runtime.enable")
        self.call("Page.enable")

    def _devtools_port(self, wait_s: float = 60.0) -> int:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.log_path.read_text()[-3000:]}")
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self.log_path.read_text())
            if found:
                return int(found.group(1))
            time.sleep(0.2)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if reply.get("method") == "Runtime.consoleAPICalled":
                args = reply["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif reply.get("method") == "Runtime.exceptionThrown":
                self.console.append(str(reply["params"]["exceptionDetails"].get("exception", {}).get("description")))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        raise TimeoutError(f"{what} within {timeout_s:.0f} s; console: {self.console[-15:]}")

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
            self.log.close()
