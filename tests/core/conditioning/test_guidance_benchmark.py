"""The preprocessing-chain benchmark runs end to end; at full size it must reach the issue's throughput."""
import pytest
from choreograph.core.conditioning.guidance_benchmark import STAGES, fastest, main, report, run_chain


def test_chain_reports_every_stage(capsys):
    times = run_chain(frames=9, size=128, people=3)
    assert set(STAGES) <= set(times) and times["total"] == pytest.approx(sum(times[s] for s in STAGES))
    slower = {k: v * 2 for k, v in times.items()}
    assert fastest([slower, times]) == pytest.approx(times)
    text = report(times, 9)
    assert all(stage in text for stage in STAGES) and "total" in text
    assert main(["--frames", "5", "--size", "64", "--people", "2", "--repeats", "1"]) == 0
    assert "wall fps" in capsys.readouterr().out


@pytest.mark.slow
def test_full_chain_reaches_200_frames_per_cpu_second():
    """81 frames at 512² with 4 people; CPU time is used because the test machine is shared."""
    best = run_chain(frames=81, size=512, people=4, repeats=5)
    print("\n" + report(best, 81))
    assert 81 / best["cpu total"] >= 200
