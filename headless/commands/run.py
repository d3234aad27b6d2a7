"""`python -m choreograph run WORKFLOW.json`: validate, then execute locally or on a ComfyUI server."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ...core.errors import InputError
from ..execute import NodeFailed, execute
from ..schema import local_object_info
from ..validate import validate
from ..workflow import WorkflowFormatError, apply_overrides, load_workflow, to_api

HELP = "run an API- or UI-format workflow of Choreograph nodes headless (or on a ComfyUI server)"
LOG = logging.getLogger("choreograph")

EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON (API format, or UI format as saved by ComfyUI)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE_ID.INPUT=VALUE",
                        help="override an input value (JSON, or a plain string); repeatable")
    parser.add_argument("--output-dir", type=Path, default=Path("output"), help="where output nodes write")
    parser.add_argument("--input-dir", type=Path, default=None,
                        help="the input folder: file inputs must lie inside it, like ComfyUI's input folder "
                             "(default: the working folder)")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="the models folder (default: $CHOREOGRAPH_MODELS_DIR, then ./models)")
    parser.add_argument("--allow-any-path", action="store_true",
                        help="let file inputs name any readable path, absolute or outside the input and models "
                             "folders (local runs only; never with --server)")
    parser.add_argument("--server", default=None, metavar="URL",
                        help="submit to a running ComfyUI (e.g. http://127.0.0.1:8188) instead of running here")
    parser.add_argument("--timeout", type=float, default=3600.0, help="--server: give up after this many seconds")


def _prepare(args: argparse.Namespace, object_info: dict) -> dict | None:
    """The API-form prompt with overrides applied, or None after printing every problem."""
    try:
        prompt = to_api(load_workflow(args.workflow), object_info)
        problems = apply_overrides(prompt, args.overrides, object_info)
    except WorkflowFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    from ...nodes import NODE_CLASS_MAPPINGS

    classes = NODE_CLASS_MAPPINGS if args.server is None else None
    problems = problems + [str(p) for p in validate(prompt, object_info, classes)]
    if problems:
        print(f"error: {args.workflow} is not valid ({len(problems)} problem(s)):", file=sys.stderr)
        for line in problems:
            print(f"  - {line}", file=sys.stderr)
        return None
    return prompt


def _report_outputs(ui: dict) -> None:
    for node_id, payload in ui.items():
        for key in ("gifs", "images", "text", "reports"):
            for item in payload.get(key, []) if isinstance(payload, dict) else []:
                if isinstance(item, dict) and "filename" in item:
                    print(f"node {node_id}: {Path(item.get('subfolder', '')) / item['filename']}")
                else:
                    print(f"node {node_id}: {item}")


def _run_local(args: argparse.Namespace) -> int:
    from ...nodes import NODE_CLASS_MAPPINGS
    from ...nodes._host import allow_paths_outside, set_headless_directory

    object_info = local_object_info()
    prompt = _prepare(args, object_info)
    if prompt is None:
        return EXIT_INVALID
    set_headless_directory("output", args.output_dir)
    set_headless_directory("input", args.input_dir or Path.cwd())
    if args.models_dir is not None:
        set_headless_directory("models", args.models_dir)
    allow_paths_outside(args.allow_any_path)
    try:
        result = execute(prompt, object_info, NODE_CLASS_MAPPINGS)
    except NodeFailed as exc:
        hint = "" if isinstance(exc.error, InputError) else " (run with -v for the traceback)"
        LOG.debug("traceback", exc_info=exc.error)
        print(f"error: {exc}{hint}", file=sys.stderr)
        return EXIT_FAILED
    print(f"done: {len(result.outputs)} node(s) ran; outputs in {args.output_dir.resolve()}")
    _report_outputs(result.ui)
    return 0


def _run_remote(args: argparse.Namespace) -> int:
    from ..remote import ComfyServer, ServerError, ServerRejected

    if args.allow_any_path or args.input_dir or args.models_dir:
        print("error: --allow-any-path, --input-dir and --models-dir apply to local runs; a server reads only its "
              "own input and models folders. Fix: drop them, or drop --server", file=sys.stderr)
        return EXIT_INVALID

    try:
        server = ComfyServer(args.server)
        prompt = _prepare(args, server.object_info())
        if prompt is None:
            return EXIT_INVALID
        outcome = _submit_and_follow(server, prompt, args)
    except ServerRejected as exc:
        print("error: the server rejected the workflow:", file=sys.stderr)
        for line in exc.lines():
            print(f"  - {line}", file=sys.stderr)
        return EXIT_INVALID
    except (ServerError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.status != "success":
        err = outcome.error or {}
        print(f"error: {outcome.status}: node {err.get('node_id')} ({err.get('node_type')}): "
              f"{err.get('exception_type')}: {err.get('exception_message')}", file=sys.stderr)
        return EXIT_INTERRUPTED if outcome.status == "interrupted" else EXIT_FAILED
    missing = _missing_outputs(prompt, outcome.outputs)
    if missing:
        print(f"error: the server reported success but returned no outputs for output node(s) "
              f"{', '.join(missing)}. Fix: check the server's log and rerun", file=sys.stderr)
        return EXIT_FAILED
    print(f"done on {args.server}")
    _report_outputs(outcome.outputs)
    return 0


def _submit_and_follow(server, prompt: dict, args: argparse.Namespace):
    socket = server.open_events()
    try:
        prompt_id = server.submit(prompt)
        print(f"queued as {prompt_id} on {args.server}")
        return server.follow(socket, prompt_id, _print_event, args.timeout)
    except KeyboardInterrupt:
        server.interrupt()
        raise
    finally:
        socket.close()


def _missing_outputs(prompt: dict, outputs: dict) -> list[str]:
    """This pack's output nodes (each returns a ui result) that the server's outputs lack."""
    from ...nodes import NODE_CLASS_MAPPINGS

    ours = [node_id for node_id, node in prompt.items()
            if getattr(NODE_CLASS_MAPPINGS.get(node["class_type"]), "OUTPUT_NODE", False)]
    return sorted((node_id for node_id in ours if not outputs.get(node_id)), key=lambda i: (len(i), i))


def _print_event(kind: str, data: dict) -> None:
    if kind == "executing" and data.get("node") is not None:
        LOG.info("node %s", data["node"])
    elif kind == "progress":
        LOG.debug("  %s/%s", data.get("value"), data.get("max"))


def main(args: argparse.Namespace) -> int:
    return _run_remote(args) if args.server else _run_local(args)
