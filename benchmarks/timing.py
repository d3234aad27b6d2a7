"""How every benchmark here measures: CPU and wall time, one thread, repeats, spread, interleaved baselines.

A benchmark that cries wolf is worse than none. On a shared machine wall time includes waiting for other jobs and
the minimum of a few runs hides how unsteady they were, so each measurement here records, per repeat, the CPU
time of this process (what the work itself costs; with one thread it is not inflated by waiting) and the wall
time, and reports min / median / max of both with the thread count. A comparison against a baseline runs the two
interleaved in one process (A B A B …, after a warm-up of each), so slow phases of the machine hit both alike,
and judges the per-repeat ratios: a verdict is printed only when every ratio lies on the same side of the target;
otherwise it says the spread does not allow one. On CUDA, CPU time does not see the GPU, so wall time (with
synchronisation) is what is judged.
"""
from __future__ import annotations

import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import torch

CPU, WALL = "cpu", "wall"


def one_thread() -> int:
    """Pin torch (and the BLAS/OpenMP pools it starts later) to one thread; returns the thread count in use."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    torch.set_num_threads(1)
    return torch.get_num_threads()


def _no_sync() -> None:
    return None


def cuda_sync(device: str | torch.device) -> Callable[[], None]:
    """A synchronisation callable for ``device`` (nothing to wait for on a CPU)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return _no_sync


@dataclass(frozen=True)
class Samples:
    """Per-repeat CPU and wall seconds of one piece of work."""

    label: str
    cpu: tuple[float, ...]
    wall: tuple[float, ...]
    threads: int

    @property
    def repeats(self) -> int:
        return len(self.cpu)

    def seconds(self, clock: str = CPU) -> tuple[float, ...]:
        return self.cpu if clock == CPU else self.wall

    def stats(self, clock: str = CPU) -> tuple[float, float, float]:
        """(min, median, max) seconds on ``clock``."""
        values = self.seconds(clock)
        return min(values), statistics.median(values), max(values)

    def spread(self, clock: str = CPU) -> float:
        """(max − min) / median: 0.05 means the repeats lie within 5 % of each other."""
        low, mid, high = self.stats(clock)
        return (high - low) / max(mid, 1e-12)

    def line(self, units: float | None = None, unit: str = "frames") -> str:
        """One report line: the label, then ``cells``."""
        return f"{self.label:<26}  {self.cells(units, unit)}"

    def cells(self, units: float | None = None, unit: str = "frames") -> str:
        """min / median / max of CPU and wall seconds (and units per second at the median when given), the
        CPU-time spread, repeats and threads."""
        parts = []
        for clock in (CPU, WALL):
            low, mid, high = self.stats(clock)
            parts.append(f"{clock} {_ms(low)} / {_ms(mid)} / {_ms(high)}")
            if units:
                parts.append(f"({units / max(mid, 1e-12):.0f} {unit}/s)")
        parts.append(f"spread {100 * self.spread(CPU):.0f} %, {self.repeats}x, {self.threads} thread(s)")
        return "  ".join(parts)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms" if seconds < 10 else f"{seconds:8.2f} s "


def _once(work: Callable[[], object], sync: Callable[[], None]) -> tuple[float, float]:
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    sync()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(label: str, work: Callable[[], object], repeats: int = 5, warmup: int = 1,
            sync: Callable[[], None] = _no_sync) -> Samples:
    """Run ``work`` ``warmup`` times unmeasured, then ``repeats`` times measured."""
    for _ in range(warmup):
        work()
    cpu, wall = zip(*(_once(work, sync) for _ in range(max(1, repeats))))
    return Samples(label, tuple(cpu), tuple(wall), torch.get_num_threads())


@dataclass(frozen=True)
class Comparison:
    """A candidate against its baseline, measured interleaved; ratios are candidate / baseline per repeat."""

    baseline: Samples
    candidate: Samples
    clock: str = CPU

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(c / max(b, 1e-12) for c, b in zip(self.candidate.seconds(self.clock),
                                                        self.baseline.seconds(self.clock)))

    @property
    def ratio(self) -> float:
        """Median candidate time over median baseline time."""
        return self.candidate.stats(self.clock)[1] / max(self.baseline.stats(self.clock)[1], 1e-12)

    def verdict(self, limit: float) -> str:
        """``"meets"`` when every per-repeat ratio is ≤ ``limit``, ``"misses"`` when every one is above it,
        else ``"no verdict"``: the spread straddles the limit, and more repeats (or a quieter machine) are needed."""
        ratios = self.ratios
        if len(ratios) >= 3 and max(ratios) <= limit:
            return "meets"
        if len(ratios) >= 3 and min(ratios) > limit:
            return "misses"
        return "no verdict"

    def report(self, what: str, limit: float | None = None) -> str:
        """Both sample lines and the ratio with its spread, plus the verdict against ``limit`` if given."""
        ratios = self.ratios
        text = [self.baseline.line(), self.candidate.line(),
                f"{what}: {self.ratio:.3f}x on {self.clock} time (per-repeat {min(ratios):.3f} .. {max(ratios):.3f})"]
        if limit is not None:
            text[-1] += f"; target <= {limit:.3f}x: {self.verdict(limit)}"
        return "\n".join(text)


def compare(baseline: tuple[str, Callable[[], object]], candidate: tuple[str, Callable[[], object]],
            repeats: int = 5, warmup: int = 1, sync: Callable[[], None] = _no_sync, clock: str = CPU
            ) -> Comparison:
    """Measure ``candidate`` against ``baseline`` interleaved (baseline first in odd repeats, candidate first in
    even ones, so neither always runs after the other)."""
    for _ in range(warmup):
        baseline[1]()
        candidate[1]()
    runs: dict[str, list[tuple[float, float]]] = {"b": [], "c": []}
    for index in range(max(1, repeats)):
        order = (("b", baseline[1]), ("c", candidate[1])) if index % 2 == 0 else (("c", candidate[1]),
                                                                                  ("b", baseline[1]))
        for key, work in order:
            runs[key].append(_once(work, sync))
    threads = torch.get_num_threads()

    def samples(label: str, values: list[tuple[float, float]]) -> Samples:
        return Samples(label, tuple(v[0] for v in values), tuple(v[1] for v in values), threads)

    return Comparison(samples(baseline[0], runs["b"]), samples(candidate[0], runs["c"]), clock)


def traced_peak(work: Callable[[], object]) -> tuple[int, object]:
    """Peak bytes that Python and numpy allocated while ``work`` ran (tracemalloc: exact and independent of
    other processes, but blind to torch tensors and library-internal buffers), and ``work``'s result."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = work()
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return peak, result


def max_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(count: float) -> str:
    return f"{count / 2**20:.1f} MiB"


def _call_into(queue, fn, args) -> None:
    queue.put(fn(*args))


# glibc's malloc raises its mmap threshold as large blocks are freed, after which freed tensors stay in the heap
# and peak RSS depends on allocation history (runs of one setting varied by ±15 %). A fixed threshold makes every
# block over 128 KiB its own mapping, returned on free: peak RSS then tracks the live peak, identically each run.
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def in_fresh_process(fn: Callable, *args):
    """``fn(*args)`` in a newly spawned process (a clean memory peak, with ``STEADY_MALLOC``); ``fn`` must be a
    module-level function and its result picklable."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_call_into, args=(queue, fn, args))
    saved = {name: os.environ.get(name) for name in STEADY_MALLOC}
    os.environ.update(STEADY_MALLOC)  # the child reads its environment when it starts
    try:
        process.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    result = queue.get()
    process.join()
    return result
