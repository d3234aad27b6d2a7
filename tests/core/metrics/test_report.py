"""Reports are strict JSON (NaN → null) and print as a table."""
import json
import math

import numpy as np
from choreograph.core.metrics.report import format_table, json_safe, write_report


def test_report_json_is_strict_and_written_whole(tmp_path):
    report = {"video": {"PSNR": np.float64(31.5), "ST-SSIM": math.nan, "frames": np.int64(3)},
              "curve": np.array([0.5, np.inf])}
    assert json_safe(report) == {"video": {"PSNR": 31.5, "ST-SSIM": None, "frames": 3}, "curve": [0.5, None]}
    path = write_report(report, tmp_path / "out" / "report.json")
    assert json.loads(path.read_text())["video"]["ST-SSIM"] is None
    write_report({"again": 1}, path)  # overwriting an old report is allowed
    assert json.loads(path.read_text()) == {"again": 1}
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_table_lists_scalars_and_marks_missing_values():
    table = format_table({"video": {"PSNR": 31.5, "ST-SSIM": math.nan}, "tracking": {"IDSW": 2, "curve": [1, 2]}})
    lines = table.splitlines()
    assert lines[0].split() == ["section", "metric", "value"]
    assert ["video", "PSNR", "31.5000"] in [line.split() for line in lines]
    assert ["video", "ST-SSIM", "n/a"] in [line.split() for line in lines]
    assert "curve" not in table
