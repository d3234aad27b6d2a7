"""Installable the usual ways: requirements.txt (ComfyUI-Manager, comfy-cli) says what pyproject.toml says, and the
Comfy registry finds every field it shows. The real install through requirements.txt is exercised in tests/host/."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import choreograph

ROOT = Path(choreograph.__file__).resolve().parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalised(lines: list[str]) -> dict[str, str]:
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): f"{r.specifier}{'; ' + str(r.marker) if r.marker else ''}"
            for r in requirements}


def requirements_txt() -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line]


def test_requirements_txt_equals_the_pyproject_dependencies():
    assert _normalised(requirements_txt()) == _normalised(PYPROJECT["project"]["dependencies"])


def test_requirements_txt_has_no_options_an_installer_would_choke_on():
    for line in requirements_txt():
        assert not line.startswith("-"), f"{line}: ComfyUI-Manager installs requirement lines one by one"


def test_registry_metadata_is_complete():
    project, comfy = PYPROJECT["project"], PYPROJECT["tool"]["comfy"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*([-_.][A-Za-z0-9]+)*", project["name"]) and len(project["name"]) < 100
    assert "comfyui" not in project["name"].lower()
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert project["description"] and project["license"] and project["requires-python"]
    for key in ("Repository", "Documentation", "Issues"):
        assert project["urls"][key].startswith("https://")
    for key in ("PublisherId", "DisplayName", "Icon", "requires-comfyui"):
        assert comfy[key], key
    assert (ROOT / "docs" / Path(comfy["Icon"]).name).is_file()
    assert any(c.startswith("Operating System :: ") for c in project["classifiers"])
