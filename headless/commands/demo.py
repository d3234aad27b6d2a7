"""`python -m choreograph demo`: the main job, on a CPU with nothing to download.

Runs ``workflows/main_demo.json`` — a synthetic two-character swap (reference image + driving choreography) →
re-tracked poses → identity map, IEG skeletons, binding-slot colour masks, character slots → the shipped SCAIL-2
demo model (``demo/``) → mp4 + identity QA report — and prints where the video is and its measured IC accuracy
(``core.metrics.identity``: how often each generated person looks like the reference character it should be).
It also writes a side-by-side video (reference | identity skeletons | generated | ground-truth render, each
identity outlined in its binding colour) and reports PSNR / SSIM of the generated frames against the render.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.metrics.video import psnr, ssim
from ...core.render.palette import slot_rgb
from ...core.video.frames import to_uint8_rgb
from ...core.video.side_by_side import outline_identities, side_by_side
from ...core.video.writer import write_mp4
from ..execute import NodeFailed, RunResult, execute
from ..schema import local_object_info
from ..validate import validate
from ..workflow import Prompt, WorkflowFormatError, load_workflow, to_api

HELP = "run the demo workflow headless on CPU with the shipped demo model; prints the video path and IC accuracy"
PACK_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = PACK_ROOT / "workflows" / "main_demo.json"
LOG = logging.getLogger("choreograph")


@dataclass(frozen=True)
class DemoResult:
    """What one demo run produced: the generated mp4, the QA overlay mp4, the QA report and its IC accuracy; the
    side-by-side comparison mp4 and PSNR (dB) / SSIM of the generated frames against the ground-truth render."""

    video: Path
    overlay: Path | None
    report: dict
    seconds: float
    comparison: Path | None = None
    cpu_seconds: float | None = None
    psnr_db: float | None = None
    ssim: float | None = None

    @property
    def ic_accuracy(self) -> float:
        return float(self.report["ic_accuracy"]["IC_character"])

    @property
    def ic_frame_accuracy(self) -> float:
        return float(self.report["ic_accuracy"]["IC_frame"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", type=Path, default=Path("output"), help="where the mp4s and report go")
    parser.add_argument("--seed", type=int, default=None,
                        help="synthetic scene seed (default: the workflow's held-out scene)")
    parser.add_argument("--model-folder", default="",
                        help="a model/ folder from a demo_*.yaml training run instead of the shipped demo model")
    parser.add_argument("--workflow", type=Path, default=WORKFLOW, help="the demo workflow (UI or API form)")


def nodes_of(prompt: Prompt, class_type: str) -> list[str]:
    """Ids of the nodes of ``class_type``, in id order (the demo finds its nodes by type, not by id)."""
    ids = [node_id for node_id, node in prompt.items() if node["class_type"] == class_type]
    return sorted(ids, key=lambda i: (len(i), i))


def demo_prompt(workflow: Path, seed: int | None = None, model_folder: str = "") -> Prompt:
    """The demo workflow in API form with the scene seed and model folder set; raises ``InputError`` if invalid."""
    object_info = local_object_info()
    try:
        prompt = to_api(load_workflow(workflow), object_info)
    except WorkflowFormatError as exc:
        raise InputError("workflow", str(exc), "use workflows/main_demo.json from the pack") from exc
    for name, value, class_type in (("seed", seed, "ChoreoSyntheticScene"),
                                    ("model_folder", model_folder, "ChoreoDemoModelLoader")):
        for node_id in nodes_of(prompt, class_type):
            if value not in (None, ""):
                prompt[node_id]["inputs"][name] = value
    from ...nodes import NODE_CLASS_MAPPINGS

    problems = validate(prompt, object_info, NODE_CLASS_MAPPINGS)
    if problems:
        raise InputError("workflow", f"is not valid: {'; '.join(str(p) for p in problems)}",
                         "use workflows/main_demo.json from the pack")
    return prompt


def _saved_path(result: RunResult, node_id: str, output_dir: Path) -> Path:
    """The file a save node wrote (its STRING output; relative paths are inside ``output_dir``)."""
    path = Path(result.outputs[node_id][0])
    return path if path.is_absolute() else output_dir / path


def _first(prompt: Prompt, class_type: str) -> str:
    ids = nodes_of(prompt, class_type)
    if not ids:
        raise InputError("workflow", f"has no {class_type} node", "use workflows/main_demo.json from the pack")
    return ids[0]


def comparison_panels(prompt: Prompt, result: RunResult) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Reference | identity skeletons | generated | ground-truth render (uint8, each identity outlined in its
    slot colour), and the generated and ground-truth frames as float arrays for PSNR / SSIM."""
    out = result.outputs
    scene = out[_first(prompt, "ChoreoSyntheticScene")]
    truth, reference = np.asarray(scene[0], np.float32), np.asarray(scene[4], np.float32)
    skeletons = np.asarray(out[_first(prompt, "ChoreoRenderSkeletons")][0], np.float32)
    generated = np.asarray(out[_first(prompt, "ChoreoSCAIL2Sampler")][0], np.float32)[:len(truth)]
    poses = out[_first(prompt, "ChoreoPoseTrack")][0]
    identity_map = out[_first(prompt, "ChoreoIdentityMap")][0]
    masks = out[_first(prompt, "ChoreoIdentityMasks")][0].select(poses.track_ids).masks
    colours = np.stack([slot_rgb(s) for s in identity_map.slots_for(poses)])
    characters = out[_first(prompt, "ChoreoCharacters")][0]
    ref_colours = np.stack([slot_rgb(c.slot) for c in characters.characters])
    panels = [outline_identities(to_uint8_rgb(reference), characters.reference_masks[None], ref_colours),
              to_uint8_rgb(skeletons),
              outline_identities(to_uint8_rgb(generated), masks[:len(generated)], colours),
              outline_identities(to_uint8_rgb(truth), masks, colours)]
    return panels, generated, truth[:len(generated)]


def run_demo(prompt: Prompt, output_dir: Path) -> DemoResult:
    """Execute the demo prompt with outputs under ``output_dir``; the first save node is the generated video.
    The side-by-side comparison is written next to it."""
    from ...nodes import NODE_CLASS_MAPPINGS
    from ...nodes._host import set_headless_directory

    set_headless_directory("output", output_dir)
    set_headless_directory("input", Path.cwd())
    began, cpu = time.perf_counter(), time.process_time()
    result = execute(prompt, local_object_info(), NODE_CLASS_MAPPINGS)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    saves, qa = nodes_of(prompt, "ChoreoSaveVideo"), nodes_of(prompt, "ChoreoIdentityQA")
    if not saves or not qa:
        raise InputError("workflow", "has no Save Video or Identity QA node", "use workflows/main_demo.json")
    for node_id, spent in sorted(result.seconds.items(), key=lambda kv: -kv[1])[:4]:
        LOG.debug("node %s (%s): %.1f s", node_id, prompt[node_id]["class_type"], spent)
    report = json.loads(result.outputs[qa[0]][1])
    overlay = _saved_path(result, saves[1], output_dir) if len(saves) > 1 else None
    video = _saved_path(result, saves[0], output_dir)
    panels, generated, truth = comparison_panels(prompt, result)
    fps = float(prompt[saves[0]]["inputs"].get("frame_rate", 16.0))
    comparison = write_mp4(side_by_side(panels), video.with_name(f"{video.stem}_side_by_side.mp4"), fps,
                           crf=17, overwrite=True)
    return DemoResult(video, overlay, report, seconds, comparison, cpu, psnr(generated, truth), ssim(generated, truth))


def main(args: argparse.Namespace) -> int:
    try:
        result = run_demo(demo_prompt(args.workflow, args.seed, args.model_folder), args.output_dir)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except NodeFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"video: {result.video.resolve()}")
    if result.overlay is not None:
        print(f"identity QA overlay: {result.overlay.resolve()}")
    if result.comparison is not None:
        print(f"side by side (reference | skeletons | generated | ground truth): {result.comparison.resolve()}")
        print(f"vs ground-truth render: PSNR {result.psnr_db:.2f} dB, SSIM {result.ssim:.3f}")
    held = "every identity held" if result.report["ok"] else f"{len(result.report['swaps'])} swap window(s)"
    print(f"IC accuracy: {result.ic_accuracy:.3f} (character), {result.ic_frame_accuracy:.3f} (frame); {held}; "
          f"{result.seconds:.0f} s wall, {result.cpu_seconds:.0f} s CPU")
    return 0
