"""Training metrics: one JSON line and one CSV row per logged step, and a plot of the losses at the end."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..core.video.output_files import atomic_file
from .files import append_line

log = logging.getLogger(__name__)


class MetricsLog:
    """Append-only ``metrics.jsonl`` / ``metrics.csv`` in ``folder`` (a resumed run keeps appending)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "metrics.jsonl"
        self.csv = self.folder / "metrics.csv"
        self._columns: list[str] | None = self._existing_columns()

    def _existing_columns(self) -> list[str] | None:
        if not self.csv.is_file():
            return None
        first = self.csv.read_text().split("\n", 1)[0]
        return first.split(",") if first else None

    def write(self, row: dict[str, float]) -> None:
        append_line(self.jsonl, json.dumps(row))
        if self._columns is None:
            self._columns = list(row)
            append_line(self.csv, ",".join(self._columns))
        append_line(self.csv, ",".join(f"{row.get(c, '')}" for c in self._columns))

    def rows(self) -> list[dict[str, float]]:
        if not self.jsonl.is_file():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def plot(self, keys: tuple[str, ...] = ("loss", "flow", "img")) -> Path | None:
        """``losses.png``: each logged loss against the step; skipped (with a note) without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log.info("matplotlib is not installed; skipping the loss plot (metrics.csv has the numbers)")
            return None
        rows = self.rows()
        figure, axis = plt.subplots(figsize=(7, 4))
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if key in r]
            if points:
                axis.plot(*zip(*points), label=key)
        axis.set_xlabel("step")
        axis.set_ylabel("loss")
        axis.set_yscale("log")
        axis.legend()
        path = self.folder / "losses.png"
        with atomic_file(path, overwrite=True) as temp:
            figure.savefig(temp, dpi=90, format="png")
        plt.close(figure)
        return path
