"""Does memory stay flat as the clip grows? Peak memory of AnimateAnyone sampling, short clip vs long clip.

With context windows every network call sees at most ``context_frames`` frames and the pose features are computed
per window, so only the latents (4 × h × w per frame) grow with the clip. Each run happens in a fresh process
(CUDA: allocator peak; CPU: max RSS) with random weights — memory does not depend on their values.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass

import torch

from ..core.models.animate_anyone.config import SD15, TINY, AnimateAnyoneConfig
from ..core.models.animate_anyone.loader import new_models
from ..core.models.animate_anyone.sampler import encode_reference, sample_video
from ..core.sampling.context_windows import ContextSchedule
from ..core.sampling.ddim import DdimSettings
from .timing import max_rss, mib, one_thread

CONFIGS = {"tiny": TINY, "sd15": SD15}


@dataclass(frozen=True)
class MemoryBench:
    """One benchmark setting: network size, pixel size, steps, window, device and dtype."""

    config: str = "tiny"
    height: int = 64
    width: int = 64
    steps: int = 1
    context_frames: int = 8
    context_overlap: int = 2
    device: str = "cpu"
    dtype: str = "float32"


def _peak(bench: MemoryBench, frames: int, queue) -> None:
    one_thread()
    torch.manual_seed(0)
    config: AnimateAnyoneConfig = CONFIGS[bench.config]
    models = new_models(config, getattr(torch, bench.dtype), bench.device)
    reference = encode_reference(models, torch.rand(bench.height, bench.width, 3),
                                 torch.rand(bench.height, bench.width, 3))
    poses = torch.rand(frames, bench.height, bench.width, 3)
    if bench.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    sample_video(models, reference, poses, DdimSettings(bench.steps, 3.5, 0),
                 ContextSchedule(bench.context_frames, bench.context_overlap))
    if bench.device.startswith("cuda"):
        queue.put(torch.cuda.max_memory_allocated())
    else:
        queue.put(max_rss())


def long_video_memory(bench: MemoryBench = MemoryBench(), short: int = 8, long: int = 32) -> dict:
    """Peak bytes for ``short`` and ``long`` frames, each in a fresh process, and their ratio."""
    ctx = multiprocessing.get_context("spawn")
    peaks = {}
    for frames in (short, long):
        queue = ctx.Queue()
        process = ctx.Process(target=_peak, args=(bench, frames, queue))
        process.start()
        peaks[frames] = queue.get()
        process.join()
    return {"peak_short": peaks[short], "peak_long": peaks[long], "ratio": peaks[long] / peaks[short]}


def main(argv: list[str] | None = None) -> int:
    """``python -m choreograph.benchmarks.referencenet_memory [config device dtype H W]``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    names = ("config", "device", "dtype", "height", "width")
    values = {n: (int(v) if n in ("height", "width") else v) for n, v in zip(names, args)}
    result = long_video_memory(MemoryBench(**values))
    print(f"peak memory short {mib(result['peak_short'])}, long {mib(result['peak_long'])}, "
          f"ratio {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":  # the measurement spawns fresh processes, which re-import this module
    raise SystemExit(main())
