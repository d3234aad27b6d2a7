"""The identity-QA result as one picture: the overlay frame where identity broke (else the middle frame) above a
per-identity table, so a node on the graph can show the verdict at a glance without opening the JSON."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .qa import ABSENT, DRIFTED, HELD, SWAPPED, QAReport

CARD_WIDTH = 480
ROW_HEIGHT = 22
BROKEN, FINE, TEXT = (220, 40, 40), (40, 140, 60), (30, 30, 30)


def _shown_frame(report: QAReport) -> int:
    broken = [v for v in report.verdicts if v.status not in (HELD, ABSENT)]
    return min(v.start for v in broken) if broken else report.frames // 2


def _rows(report: QAReport) -> list[tuple[str, tuple[int, int, int]]]:
    rows = [("identity   held  swapped  drifted   IC", TEXT)]
    for identity in report.identities:
        mine = [v for v in report.verdicts if v.identity == identity and v.status != ABSENT]
        counts = {status: sum(v.status == status for v in mine) for status in (HELD, SWAPPED, DRIFTED)}
        ic = report.ic.per_identity.get(identity, float("nan"))
        ic_text = "n/a" if ic is None or not math.isfinite(ic) else f"{ic:.2f}"
        broken = counts[SWAPPED] + counts[DRIFTED] > 0
        rows.append((f"{identity:>8}   {counts[HELD]:>4}  {counts[SWAPPED]:>7}  {counts[DRIFTED]:>7}  {ic_text:>5}",
                     BROKEN if broken else FINE))
    verdict = "every identity held" if report.ok else "identity broke"
    rows.append((f"{verdict}; IC {report.ic.character_accuracy:.2f} (character), "
                 f"{report.ic.frame_accuracy:.2f} (frame)", FINE if report.ok else BROKEN))
    return rows


def qa_card(overlay: np.ndarray, report: QAReport) -> np.ndarray:
    """``overlay`` (T, H, W, 3) uint8 from ``qa_overlay`` → one RGB uint8 card: a frame and the verdict table."""
    frame = np.asarray(overlay)[min(_shown_frame(report), len(overlay) - 1)]
    scale = CARD_WIDTH / frame.shape[1]
    shown = cv2.resize(frame, (CARD_WIDTH, max(1, round(frame.shape[0] * scale))), interpolation=cv2.INTER_NEAREST)
    rows = _rows(report)
    table = np.full((ROW_HEIGHT * len(rows) + 12, CARD_WIDTH, 3), 245, np.uint8)
    for k, (text, colour) in enumerate(rows):
        cv2.putText(table, text, (8, ROW_HEIGHT * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return np.ascontiguousarray(np.concatenate([shown, table], axis=0))


def write_png(image: np.ndarray, path) -> None:
    """Write an RGB uint8 image as PNG at ``path`` (the caller makes it atomic)."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path} as PNG")
    with open(path, "wb") as handle:
        handle.write(encoded.tobytes())
