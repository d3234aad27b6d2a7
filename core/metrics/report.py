"""Evaluation results as strict JSON and as a terminal table: NaN becomes ``null`` (its reason is in ``notes``)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..video.output_files import atomic_file


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain and NaN/inf replaced by ``None`` (strict JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def write_report(report: dict, path: str | Path) -> Path:
    """Write ``report`` as indented strict JSON, atomically (a crash leaves the old file or none)."""
    path = Path(path)
    with atomic_file(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False), encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "n/a" if not math.isfinite(float(value)) else f"{float(value):.4f}"
    return str(value)


def format_table(sections: dict[str, dict[str, Any]]) -> str:
    """Scalar scores of each section as ``section  metric  value`` rows (lists and dicts are left to the JSON)."""
    rows = [(section, name, _cell(value)) for section, scores in sections.items()
            for name, value in scores.items() if not isinstance(value, (list, tuple, dict, np.ndarray))]
    if not rows:
        return "(no scores)"
    widths = [max(len(r[k]) for r in rows + [("section", "metric", "value")]) for k in range(3)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("section", "metric", "value"), widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)
