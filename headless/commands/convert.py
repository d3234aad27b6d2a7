"""`python -m choreograph convert`: turn a workflow into the editor's UI form or the API form."""
from __future__ import annotations

import argparse
import sys
import json
from pathlib import Path

from ...core.video.output_files import atomic_file
from ..schema import local_object_info
from ..ui_layout import api_to_ui
from ..workflow import WorkflowFormatError, load_workflow, to_api

HELP = "convert a workflow between ComfyUI's API form and the editor's UI form"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON in either form")
    parser.add_argument("output", type=Path, help="where to write the converted workflow")
    parser.add_argument("--to", choices=("ui", "api"), default="ui", help="target form (default: ui)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def main(args: argparse.Namespace) -> int:
    info = local_object_info()
    try:
        prompt = to_api(load_workflow(args.workflow), info)
    except WorkflowFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output.exists() and not args.overwrite:
        print(f"error: {args.output} exists. Fix: pass --overwrite to replace it, or choose another name",
              file=sys.stderr)
        return 2
    if args.output.resolve() == args.workflow.resolve():
        print("error: OUTPUT is the input workflow itself. Fix: write the converted form to another file",
              file=sys.stderr)
        return 2
    converted = api_to_ui(prompt, info) if args.to == "ui" else prompt
    try:
        with atomic_file(args.output, overwrite=args.overwrite) as tmp:
            tmp.write_text(json.dumps(converted, indent=2) + "\n")
    except (FileExistsError, OSError) as exc:
        print(f"error: cannot write {args.output} ({exc}). Fix: choose a writable path", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({args.to} form, {len(prompt)} nodes)")
    return 0
