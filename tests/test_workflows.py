"""Every shipped workflow is valid; those that need no external weights also run headless to completion.

Scheme: `workflows/*.json` (editor form) run with nothing but this pack: CI runs them here and inside a real
ComfyUI (tests/host/). `workflows/needs_weights/*.json` need the user's model files, so they are validated (node
types, links, widget values, ranges) but not run; `needs_weights/native/` mixes in ComfyUI's own nodes, so only our
nodes and the links into them are checked here. `workflows/api/` holds the API form of every graph.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import choreograph
from choreograph.cli import main
from choreograph.headless.schema import input_spec, local_object_info
from choreograph.headless.validate import validate
from choreograph.headless.workflow import is_ui_format, load_workflow, to_api
from choreograph.nodes import NODE_CLASS_MAPPINGS

ROOT = Path(choreograph.__file__).resolve().parent / "workflows"
ALL = sorted(p for p in ROOT.rglob("*.json") if "assets" not in p.relative_to(ROOT).parts)
RUNNABLE = sorted(ROOT.glob("*.json"))


MODEL_FILE_CHOICE = re.compile(r"^'(?P<name>[^']+)' is not one of ")


def _model_files_it_expects(problems: list) -> tuple[list, set[str]]:
    """Split off 'file not in the list' problems: model dropdowns list only the files present here."""
    rest, files = [], set()
    for problem in problems:
        match = MODEL_FILE_CHOICE.match(problem.message)
        if match and any(c in match["name"] for c in "./"):
            files.add(match["name"])
        else:
            rest.append(problem)
    return rest, files


def _problems(path: Path) -> list[str]:
    info = local_object_info()
    prompt = to_api(load_workflow(path), info)
    problems = validate(prompt, info, NODE_CLASS_MAPPINGS)
    if "needs_weights" in path.relative_to(ROOT).parts:
        problems, files = _model_files_it_expects(problems)
        notes = " ".join(str(n.get("widgets_values")) for n in load_workflow(_ui_form(path))["nodes"]
                         if n["type"] == "Note")
        undocumented = sorted(f for f in files if Path(f).name not in notes and f not in notes)
        assert not undocumented, f"model files the workflow expects but its notes do not name: {undocumented}"
    if "native" in path.relative_to(ROOT).parts:
        problems = [p for p in problems if p.class_type.startswith("Choreo")]
        assert any(n["class_type"] in NODE_CLASS_MAPPINGS for n in prompt.values())
    return [str(p) for p in problems]


def _ui_form(path: Path) -> Path:
    relative = path.relative_to(ROOT)
    return ROOT.joinpath(*relative.parts[1:]) if relative.parts[0] == "api" else path


def test_there_are_runnable_workflows():
    assert RUNNABLE, "workflows/ has no runnable example"


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(ROOT)) for p in ALL])
def test_workflow_is_valid(path):
    assert _problems(path) == []


@pytest.mark.parametrize("path", [p for p in ALL if "api" not in p.relative_to(ROOT).parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_editor_form_is_shipped_with_its_api_form(path):
    assert is_ui_format(load_workflow(path)), f"{path.name}: the editor (UI) form belongs here"
    api = ROOT / "api" / path.relative_to(ROOT)
    assert api.exists() and not is_ui_format(load_workflow(api)), f"missing API form {api}"
    if "native" not in path.parts:
        info = local_object_info()
        assert _shape(to_api(load_workflow(path), info)) == _shape(to_api(load_workflow(api), info)), \
            "UI and API forms differ"


def _shape(prompt: dict) -> list:
    """Node types with their constant inputs and the count of links: equal for the same graph under any ids."""
    nodes = []
    for node in prompt.values():
        constants = {k: v for k, v in node["inputs"].items() if not (isinstance(v, list) and len(v) == 2)}
        links = sum(1 for v in node["inputs"].values() if isinstance(v, list) and len(v) == 2)
        nodes.append(json.dumps([node["class_type"], constants, links], sort_keys=True))
    return sorted(nodes)


@pytest.mark.parametrize("path", RUNNABLE, ids=[p.stem for p in RUNNABLE])
def test_workflow_runs_headless(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--output-dir", str(tmp_path / "out")]) == 0
    assert any(p.is_file() for p in (tmp_path / "out").rglob("*"))


def _native_object_info() -> dict:
    """Our schemas plus the native ComfyUI nodes the interop workflow uses (their schemas live in the script)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ui_workflows", ROOT.parent / "scripts" / "ui_workflows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {**local_object_info(), **module.NATIVE}


UI_FORMS = [p for p in ALL if "api" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("path", UI_FORMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_and_api_forms_number_their_nodes_the_same(path):
    """`--set 9.seed=1` must mean the same node whichever form of a workflow it is given."""
    info = _native_object_info()
    from_ui = to_api(load_workflow(path), info)
    from_api = to_api(load_workflow(ROOT / "api" / path.relative_to(ROOT)), info)
    assert from_ui == from_api


@pytest.mark.parametrize("path", UI_FORMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_convert_keeps_the_node_numbering(path, tmp_path):
    api = ROOT / "api" / path.relative_to(ROOT)
    if "native" in path.parts:
        pytest.skip("the converter knows only this pack's node schemas")
    assert main(["convert", str(api), str(tmp_path / "ui.json"), "--to", "ui"]) == 0
    assert main(["convert", str(tmp_path / "ui.json"), str(tmp_path / "api.json"), "--to", "api"]) == 0
    ui = load_workflow(tmp_path / "ui.json")
    assert sorted(str(n["id"]) for n in ui["nodes"]) == sorted(load_workflow(api))
    info = local_object_info()
    original, back = to_api(load_workflow(api), info), load_workflow(tmp_path / "api.json")
    assert set(back) == set(original)
    for node_id, node in back.items():  # the editor form spells out widgets the API file leaves at their default
        extra = {k: v for k, v in node["inputs"].items() if k not in original[node_id]["inputs"]}
        defaults = {k: input_spec(info[node["class_type"]], k)[1].get("default") for k in extra}
        assert extra == defaults and {**original[node_id]["inputs"], **extra} == node["inputs"], node_id


def test_convert_renumbers_only_ids_the_editor_cannot_hold(tmp_path):
    from choreograph.headless.ui_layout import ui_node_ids

    assert ui_node_ids({"7": {}, "12": {}}) == {"7": 7, "12": 12}
    assert ui_node_ids({"b": {}, "a": {}, "3": {}}) == {"3": 1, "a": 2, "b": 3}


@pytest.mark.parametrize("path", sorted((ROOT / "needs_weights" / "native").glob("*.json")),
                         ids=lambda p: p.name)
def test_native_interop_notes_name_the_comfyui_version_with_the_native_nodes(path):
    notes = " ".join(str(n.get("widgets_values")) for n in load_workflow(path)["nodes"] if n["type"] == "Note")
    assert re.search(r"ComfyUI v\d+\.\d+(\.\d+)? or newer", notes), "say which ComfyUI has the native nodes"
