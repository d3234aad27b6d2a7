"""The `choreograph` command line: one sub-command per module in `headless/commands/`.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``; adding a
command is adding a file, so stages never edit each other's code to be reachable from the shell.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from .core.errors import InputError, MissingModelError
from .core.signals import Terminated, raise_on_sigterm
from .headless import commands as _commands


def _command_modules() -> dict[str, object]:
    found = {}
    for info in pkgutil.iter_modules(_commands.__path__):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f".{info.name}", _commands.__name__)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m choreograph",
                                     description="Choreograph: multi-character animation, headless.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _command_modules().items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        with raise_on_sigterm():
            return int(args._main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated; nothing half-written was left behind", file=sys.stderr)
        return 143
    except (InputError, MissingModelError) as exc:  # a command that let a clear input error through
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a raw traceback (-v shows it)
        logging.getLogger("choreograph").debug("traceback", exc_info=exc)
        print(f"error: unexpected {type(exc).__name__}: {exc} (this is a bug in Choreograph; please report it "
              "with the output of -v)", file=sys.stderr)
        return 1
