"""The preprocessing-chain benchmark runs end to end and reports spread and CPU time per stage."""
from choreograph.benchmarks.guidance_chain import STAGES, goal_verdict, main, report, run_chain
from choreograph.benchmarks.timing import Samples


def test_chain_reports_every_stage(capsys):
    times = run_chain(frames=9, size=128, people=3, repeats=2)
    assert set(STAGES) <= set(times) and all(times[s].repeats == 2 for s in STAGES)
    for i in range(2):
        assert abs(times["total"].cpu[i] - sum(times[s].cpu[i] for s in STAGES)) < 1e-9
    text = report(times, 9)
    assert all(stage in text for stage in STAGES) and "total" in text
    assert main(["--frames", "5", "--size", "64", "--people", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "cpu fps" in out and "wall fps" in out and "no verdict" in out  # one pass never earns a verdict


def test_goal_verdict_needs_every_pass_on_one_side():
    def total(*seconds):
        return Samples("total", seconds, seconds, 1)

    assert goal_verdict(total(0.3, 0.35, 0.4), 81) == "meets"  # ≥ 202 frames/s in every pass
    assert goal_verdict(total(0.5, 0.6, 0.55), 81) == "misses"
    assert goal_verdict(total(0.3, 0.5, 0.35), 81) == "no verdict"


def test_memory_table_covers_frames_and_people():
    from choreograph.benchmarks.guidance_chain import memory_report, memory_rows

    rows = memory_rows(64, frames=(5, 9), people=(1, 3), base_people=2, base_frames=5)
    assert [(r["frames"], r["people"]) for r in rows] == [(5, 2), (9, 2), (5, 1), (5, 3)]
    assert all(r["whole"] >= r["masks"] > 0 and r["streamed"] > 0 for r in rows)
    assert "streamed working memory" in memory_report(rows, 64)
