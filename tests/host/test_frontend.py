"""In the real ComfyUI frontend (headless Chromium), a run shows each output node's result on the graph:
the saved video plays in the node, the identity-QA card is an image on its node, metrics are text on theirs.

Skipped only where Chromium cannot be installed; CI installs it.
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import choreograph

sys.path.insert(0, str(Path(__file__).parent))
import browser as chromium  # noqa: E402

pytestmark = pytest.mark.host
WORKFLOW = Path(choreograph.__file__).resolve().parent / "workflows" / "eval_identity_qa.json"
APP = "window.comfyAPI.app.app"


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    binary = chromium.install_chromium()
    if binary is None:
        pytest.skip("Chromium cannot be installed here")
    request = urllib.request.Request(f"{server.url}/api/settings/Comfy.TutorialCompleted", data=b"true",
                                     method="POST")  # no first-run template gallery over the graph
    urllib.request.urlopen(request, timeout=30).read()
    browser = chromium.Browser(binary, tmp_path_factory.mktemp("chromium") / "profile")
    try:
        browser.call("Page.navigate", url=server.url)
        browser.wait_for("!!(window.comfyAPI?.app?.app?.graph) && !!document.querySelector('canvas')", 180,
                         "the ComfyUI frontend did not load")
        yield browser
    finally:
        browser.close()


def test_a_run_in_the_frontend_shows_every_output_nodes_result(server, page, tmp_path):
    assert page.evaluate(f"{APP}.extensions.filter(e => e.name.startsWith('Choreograph')).length") == 1
    workflow = json.loads(WORKFLOW.read_text())
    outputs = [str(n["id"]) for n in workflow["nodes"]
               if n["type"] in choreograph.NODE_CLASS_MAPPINGS
               and getattr(choreograph.NODE_CLASS_MAPPINGS[n["type"]], "OUTPUT_NODE", False)]
    _load_graph(page, workflow)
    page.evaluate(f"{APP}.queuePrompt(0, 1).then(() => true)")
    page.wait_for(f"{json.dumps(outputs)}.every(id => {APP}.nodeOutputs[id])", 240,
                  f"the run did not give every output node a result; server log: {server.log_text()[-2000:]}")
    shown = {node_id: _wait_for_display(page, node_id) for node_id in outputs}
    assert sorted(shown.values()) == ["image", "text", "video"], shown  # QA card, metrics table, overlay video
    shots = Path(os.environ.get("CHOREOGRAPH_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.evaluate(f"{APP}.canvas.ds.scale = 0.8, {APP}.canvas.ds.offset = [420, 40], "
                  f"{APP}.graph.setDirtyCanvas(true, true), true")
    page.screenshot(shots / "frontend_results.png")


def _load_graph(page, workflow: dict) -> None:
    """Load the workflow, and again if the frontend's own start-up (restoring the last tab) replaced it."""
    expected = sorted((str(n["id"]), n["type"]) for n in workflow["nodes"])
    types = sorted({n["type"] for n in workflow["nodes"]})
    page.wait_for(f"{json.dumps(types)}.every(t => window.LiteGraph?.registered_node_types?.[t])", 180,
                  "the frontend did not register the workflow's node types")  # slow /object_info under load
    shown = f"{APP}.graph.nodes.map(n => [String(n.id), n.type])"
    for _ in range(10):
        page.evaluate(f"{APP}.loadGraphData({json.dumps(workflow)}).then(() => true)")
        time.sleep(2.0)
        if sorted(map(tuple, page.evaluate(shown))) == expected:
            return
    raise AssertionError(f"the frontend did not keep the loaded workflow: {page.evaluate(shown)}")


def _wait_for_display(page, node_id: str) -> str:
    """Wait until the node shows its result; return which kind: 'video', 'image' or 'text'."""
    outputs = page.evaluate(f"{APP}.nodeOutputs[{json.dumps(node_id)}]")
    if outputs.get("animated") and outputs["images"][0]["filename"].endswith(".mp4"):
        name = outputs["images"][0]["filename"]
        page.wait_for(f"""[...document.querySelectorAll("video")].some(v => v.src.includes("filename={name}")
                          && v.readyState >= 1 && v.videoWidth > 0)""", 60,
                      f"node {node_id}: the saved video {name} did not play in its node")
        return "video"
    if outputs.get("images"):
        name = outputs["images"][0]["filename"]
        page.wait_for(f"""({APP}.graph.getNodeById({int(node_id)}).imgs || []).some(
                          i => i.src.includes("filename={name}") && i.naturalWidth > 0)""", 60,
                      f"node {node_id}: the image {name} is not shown on its node")
        text = page.evaluate(f"""(({APP}.graph.getNodeById({int(node_id)}).widgets || []).find(
                                  w => w.name === "choreograph_result") || {{}}).value""")
        assert text == "\n".join(outputs.get("text", [])) or not outputs.get("text")
        return "image"
    expected = "\n".join(outputs["text"])
    page.wait_for(f"""(({APP}.graph.getNodeById({int(node_id)}).widgets || []).find(
                      w => w.name === "choreograph_result") || {{}}).value === {json.dumps(expected)}""", 30,
                  f"node {node_id}: its text result is not shown on the node")
    return "text"
