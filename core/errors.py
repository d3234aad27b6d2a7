"""The error users see when an input is wrong: it names the input and says how to fix it."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input. ``str(err)`` reads ``"<input>: <problem>. Fix: <fix>"``."""

    def __init__(self, input_name: str, problem: str, fix: str) -> None:
        self.input_name = input_name
        self.problem = problem
        self.fix = fix
        super().__init__(f"{input_name}: {problem}. Fix: {fix}")


class MissingModelError(FileNotFoundError):
    """A model file is absent and cannot be downloaded; the message lists the files and where to put them."""
