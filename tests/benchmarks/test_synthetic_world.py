from choreograph.benchmarks.synthetic_world import dataset_timing, generation_timings


def test_benchmark_reports_each_setting_and_the_dataset():
    timings = generation_timings(sides=(64, 128), casts=(2,), frames=3, repeats=2)
    assert [t.label for t in timings] == ["generate 64x64, 2 characters", "generate 128x128, 2 characters"]
    assert all(t.frames == 3 and t.fps > 0 and t.cpu_fps > 0 and t.samples.repeats == 2 for t in timings)
    line = timings[0].line()
    assert "frames/s" in line and "cpu" in line and "wall" in line and "spread" in line and "thread" in line
    data = dataset_timing(total_frames=5, frames_per_scene=2, side=64)
    assert data.frames == 6 and data.label == "dataset 3 scenes at 64x64"
