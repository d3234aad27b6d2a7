"""The pack as ComfyUI and pip see it: importable both ways, a well-formed node registry, graceful failures."""
from __future__ import annotations

import importlib.util
import logging
import sys
import types
from pathlib import Path

import pytest

import choreograph
from choreograph import nodes as registry
from choreograph.headless.schema import WIDGET_TYPES

PACK_ROOT = Path(choreograph.__file__).resolve().parent
COMFY_TYPES = {"IMAGE", "MASK", "LATENT", "CONDITIONING", "MODEL", "VAE", "CLIP", "CLIP_VISION",
               "CLIP_VISION_OUTPUT", "POSE_KEYPOINT", "AUDIO", "SIGMAS", "NOISE", "GUIDER", "SAMPLER", "*"}


def all_inputs():
    for node_id, cls in choreograph.NODE_CLASS_MAPPINGS.items():
        for section, inputs in cls.INPUT_TYPES().items():
            if section in ("required", "optional"):
                for name, spec in inputs.items():
                    yield node_id, name, spec


def test_pip_import_exposes_core_and_nodes():
    import choreograph.core  # noqa: F401
    import choreograph.core.pose.sequence  # noqa: F401

    assert "ChoreoLoadVideo" in choreograph.NODE_CLASS_MAPPINGS
    assert not registry.FAILED_MODULES, registry.FAILED_MODULES


def test_loads_as_a_custom_node_folder_with_a_hyphenated_name(tmp_path, monkeypatch):
    """ComfyUI imports `custom_nodes/<folder>/__init__.py` as a module named after the folder, in a process that
    already has its own top-level `nodes` module (which our relative imports must never pick up)."""
    comfy_nodes = types.ModuleType("nodes")
    comfy_nodes.NODE_CLASS_MAPPINGS = {"KSampler": object}
    monkeypatch.setitem(sys.modules, "nodes", comfy_nodes)
    folder = tmp_path / "custom_nodes" / "ComfyUI-Choreograph"
    folder.parent.mkdir()
    folder.symlink_to(PACK_ROOT, target_is_directory=True)
    spec = importlib.util.spec_from_file_location("ComfyUI-Choreograph", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert set(module.NODE_CLASS_MAPPINGS) == set(choreograph.NODE_CLASS_MAPPINGS)
        assert sys.modules["nodes"] is comfy_nodes
    finally:
        for name in [n for n in sys.modules if n.startswith("ComfyUI-Choreograph")]:
            del sys.modules[name]


def test_node_ids_categories_and_names_follow_the_conventions():
    for node_id, cls in choreograph.NODE_CLASS_MAPPINGS.items():
        assert node_id.startswith("Choreo"), node_id
        assert cls.CATEGORY.startswith("Choreograph/"), node_id
        assert callable(getattr(cls(), cls.FUNCTION)), node_id
        assert node_id in choreograph.NODE_DISPLAY_NAME_MAPPINGS, node_id
        assert getattr(cls, "DESCRIPTION", ""), f"{node_id} has no DESCRIPTION"
        for kind in cls.RETURN_TYPES:
            assert kind in COMFY_TYPES or kind in WIDGET_TYPES or kind.startswith("CHOREO_"), (node_id, kind)


def test_every_input_has_a_tooltip_and_custom_types_are_prefixed():
    for node_id, name, spec in all_inputs():
        kind = spec[0]
        options = spec[1] if len(spec) > 1 else {}
        assert options.get("tooltip", "").strip(), f"{node_id}.{name} has no tooltip"
        if isinstance(kind, str):
            assert kind in COMFY_TYPES or kind in WIDGET_TYPES or kind.startswith("CHOREO_"), (node_id, name, kind)


def test_a_broken_node_module_costs_only_its_own_nodes(tmp_path, monkeypatch, caplog):
    broken = PACK_ROOT / "nodes" / "zz_broken_for_test.py"
    broken.write_text("import a_module_that_does_not_exist\n")
    try:
        with caplog.at_level(logging.WARNING, logger="choreograph"):
            registry._register("zz_broken_for_test")
        assert "zz_broken_for_test" in registry.FAILED_MODULES
        assert sum("zz_broken_for_test" in r.getMessage() for r in caplog.records) == 1
        assert "ChoreoLoadVideo" in registry.NODE_CLASS_MAPPINGS
    finally:
        broken.unlink()
        registry.FAILED_MODULES.pop("zz_broken_for_test", None)


def test_core_never_imports_comfyui():
    offenders = []
    for path in (PACK_ROOT / "core").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                module = stripped.split()[1].split(".")[0]
                if module in ("comfy", "comfy_api", "folder_paths", "server", "execution", "node_helpers"):
                    offenders.append(f"{path.relative_to(PACK_ROOT)}: {stripped}")
    assert not offenders, offenders


@pytest.mark.parametrize("folder", ["core", "nodes", "training", "headless"])
def test_no_absolute_imports_of_the_packs_own_folders(folder):
    offenders = []
    for path in (PACK_ROOT / folder).rglob("*.py"):
        for line in path.read_text().splitlines():
            parts = line.strip().split()
            if len(parts) > 1 and parts[0] in ("import", "from") and parts[1].split(".")[0] in (
                    "core", "nodes", "training", "headless"):
                offenders.append(f"{path.relative_to(PACK_ROOT)}: {line.strip()}")
    assert not offenders, offenders


def test_node_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("node_table", PACK_ROOT / "scripts" / "node_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (PACK_ROOT / "docs" / "nodes.md").read_text()
    assert current == module.render(), "docs/nodes.md is stale: run `python scripts/node_table.py`"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (PACK_ROOT / "README.md").read_text()
    section = readme.split("## Tests", 1)[1]
    command = section.split("```bash", 1)[1].split("```", 1)[0].strip()
    ci_lines = [line.strip() for line in (PACK_ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines
    assert "bash scripts/setup.sh" in ci_lines
