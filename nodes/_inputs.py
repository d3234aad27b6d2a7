"""Builders for ``INPUT_TYPES`` entries: a tooltip is a required argument, so no input can ship without one."""
from __future__ import annotations

from typing import Any

InputSpec = tuple[Any, dict[str, Any]]


def _spec(kind: Any, tooltip: str, **options: Any) -> InputSpec:
    if not tooltip or not tooltip.strip():
        raise ValueError("every node input needs a tooltip")
    options = {k: v for k, v in options.items() if v is not None}
    return (kind, {"tooltip": tooltip, **options})


def image(tooltip: str) -> InputSpec:
    return _spec("IMAGE", tooltip)


def mask(tooltip: str) -> InputSpec:
    return _spec("MASK", tooltip)


def latent(tooltip: str) -> InputSpec:
    return _spec("LATENT", tooltip)


def custom(type_name: str, tooltip: str) -> InputSpec:
    return _spec(type_name, tooltip)


def integer(tooltip: str, default: int, min: int, max: int, step: int = 1, seed: bool = False) -> InputSpec:
    return _spec("INT", tooltip, default=default, min=min, max=max, step=step,
                 control_after_generate=True if seed else None)


def number(tooltip: str, default: float, min: float, max: float, step: float = 0.01) -> InputSpec:
    return _spec("FLOAT", tooltip, default=default, min=min, max=max, step=step)


def text(tooltip: str, default: str = "", multiline: bool = False) -> InputSpec:
    return _spec("STRING", tooltip, default=default, multiline=multiline)


def boolean(tooltip: str, default: bool) -> InputSpec:
    return _spec("BOOLEAN", tooltip, default=default)


def choice(tooltip: str, options: list[str] | tuple[str, ...], default: str | None = None) -> InputSpec:
    options = list(options)
    if default is not None and default not in options:
        raise ValueError(f"default {default!r} is not one of {options}")
    return (options, {"tooltip": tooltip, "default": default if default is not None else options[0]})
