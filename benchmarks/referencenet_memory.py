"""AnimateAnyone sampler peak memory for a long vs a short clip: `python benchmarks/referencenet_memory.py`."""
from choreograph.core.models.animate_anyone.benchmark import long_video_memory

if __name__ == "__main__":  # the measurement spawns fresh processes, which re-import this file
    result = long_video_memory()
    print(f"peak memory short {result['peak_short'] / 2**20:.0f} MiB, long {result['peak_long'] / 2**20:.0f} MiB, "
          f"ratio {result['ratio']:.2f}")
