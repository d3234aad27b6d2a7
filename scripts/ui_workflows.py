"""Write the UI (editor) form of the demo and example workflows from their API form, with Note nodes.

ComfyUI's API form has no place for notes, so the explanations live here and are added as ``Note`` nodes (left
of the graph, stacked) after ``python -m choreograph convert --to ui``. Run after editing an API workflow:

    python scripts/ui_workflows.py            # every workflow listed in NOTES
    python scripts/ui_workflows.py main_demo  # just one
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE_WIDTH, NOTE_HEIGHT, NOTE_GAP = 420, 220, 20

NOTES: dict[str, tuple[str, ...]] = {
    "main_demo": (
        ("Choreograph demo (runs on a CPU, no downloads): two synthetic characters swap places and each must keep "
         "its own look.\n\nReference image + driving choreography: the Synthetic Scene node (64x64, 49 frames, "
         "'dance+swap'); change its seed for another held-out scene.\nTracked poses: the scene's poses are turned "
         "into untracked POSE_KEYPOINT and tracked again, as a DWPose result would be."),
        ("Guidance: the identity map gives every tracked person a binding slot (colour); skeletons (IEG palette), "
         "per-identity masks (the scene's masks matched to the tracks) and character slots all read it. The "
         "SCAIL-2 colour masks are what bind each reference character to its driving person."),
        ("Sampler: 'Demo Model Loader' loads the small SCAIL-2 shipped in the pack (demo/, trained by "
         "'python -m choreograph.training training/configs/demo_scail2.yaml'). Keep segment_frames 9 and "
         "history_frames 5 (what it was trained for), cfg 1 (it has no prompt), 64x64 frames."),
        ("Outputs: the generated mp4, and the identity QA report (per-window held/swapped verdicts and IC "
         "accuracy: how often each generated person looks like its own reference character) with an overlay "
         "video. Headless: python -m choreograph demo"),
    ),
}


def convert(api: Path, ui: Path) -> None:
    """``python -m choreograph convert API UI --to ui`` (the pack's converter), overwriting ``ui``."""
    subprocess.run([sys.executable, "-m", "choreograph", "convert", str(api), str(ui), "--to", "ui", "--overwrite"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def add_notes(workflow: dict, notes: tuple[str, ...]) -> dict:
    """``workflow`` with one ``Note`` node per text, stacked left of the leftmost node."""
    left = min((node["pos"][0] for node in workflow["nodes"]), default=0)
    top = min((node["pos"][1] for node in workflow["nodes"]), default=0)
    next_id = workflow["last_node_id"]
    for k, text in enumerate(notes):
        next_id += 1
        workflow["nodes"].append({
            "id": next_id, "type": "Note", "pos": [left - NOTE_WIDTH - 60, top + k * (NOTE_HEIGHT + NOTE_GAP)],
            "size": [NOTE_WIDTH, NOTE_HEIGHT], "flags": {}, "order": len(workflow["nodes"]), "mode": 0,
            "inputs": [], "outputs": [], "properties": {"text": ""}, "widgets_values": [text],
            "color": "#432", "bgcolor": "#653"})
    workflow["last_node_id"] = next_id
    return workflow


def write_ui(name: str) -> Path:
    """Convert ``workflows/api/<name>.json`` into ``workflows/<name>.json`` with its notes; returns the path."""
    api = ROOT / "workflows" / "api" / f"{name}.json"
    ui = ROOT / "workflows" / f"{name}.json"
    with tempfile.TemporaryDirectory() as temp:
        converted = Path(temp) / "ui.json"
        convert(api, converted)
        workflow = add_notes(json.loads(converted.read_text()), NOTES[name])
    ui.parent.mkdir(parents=True, exist_ok=True)
    partial = ui.with_suffix(".json.partial")
    partial.write_text(json.dumps(workflow, indent=1) + "\n")
    os.replace(partial, ui)
    return ui


def main(names: list[str]) -> int:
    for name in names or list(NOTES):
        print(f"wrote {write_ui(name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
