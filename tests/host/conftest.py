"""One real ComfyUI for every host test of the session (installed as ComfyUI-Manager installs the pack)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import choreograph

sys.path.insert(0, str(Path(__file__).parent))
import comfyui_host  # noqa: E402

PACK_ROOT = Path(choreograph.__file__).resolve().parent


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("comfyui")
    try:
        host = comfyui_host.ComfyProcess(PACK_ROOT, workdir)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"a real ComfyUI could not be installed here: {exc}")
    host.start()
    yield host
    host.stop()
    assert host.process.poll() is not None
