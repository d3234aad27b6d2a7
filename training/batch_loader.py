"""Batches built ahead of the training step, in worker processes that do not contend with it.

Every batch is a pure function of ``(seed, step, process)``: the step's generators come from ``step_generators``
and the objective's batch maker draws everything from them. That is what lets batches be built anywhere, in any
order, by any number of workers, and still be exactly the batches an unthreaded run would use; a resumed run
starts at its step and gets the same batches too.

Where batches are built:

* ``workers > 0`` and the objective offers a ``batch_maker()`` (a picklable callable ``(clips, rng) -> batch``
  that needs no network on the training device): that many spawned processes, each with one thread and a lower
  scheduling priority, so building never holds the training process's interpreter lock or its cores' threads.
  Each worker opens the clips itself once. ``workers`` batches are in flight at a time (no more workers than
  steps left).
* otherwise (``workers = 0``, or batches that encode with a VAE on the training device): one loader thread in the
  training process, one step ahead.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

BatchMaker = Callable[[list, np.random.Generator], object]
WORKER_NICENESS = 5  # workers yield the CPU to the training step when both want it


def step_generators(seed: int, step: int, rank: int) -> tuple[np.random.Generator, torch.Generator]:
    """The numpy generator a step's batch is drawn from and the torch generator its noise is drawn from."""
    rng = np.random.default_rng([seed, step, rank])
    return rng, torch.Generator().manual_seed(int(rng.integers(2**62)))


_worker: dict = {}


def _start_worker(maker: BatchMaker, clip_paths: Sequence[Path], niceness: int) -> None:
    """Process initializer: one thread, lower priority, the clips opened once."""
    from .dataset import Clip

    torch.set_num_threads(1)
    if niceness:
        try:
            os.nice(niceness)
        except OSError:  # not permitted here: run at the same priority
            pass
    _worker["maker"], _worker["clips"] = maker, [Clip(path) for path in clip_paths]


def _build_in_worker(seed: int, step: int, rank: int) -> object:
    rng, _ = step_generators(seed, step, rank)
    return _worker["maker"](_worker["clips"], rng)


class StepBatches:
    """``get(step)`` → ``(batch, generator)`` for consecutive steps, built ahead; use as a context manager."""

    def __init__(self, make_batch: BatchMaker, clips: list, seed: int, rank: int, first: int, last: int,
                 workers: int = 0, maker: BatchMaker | None = None) -> None:
        self.seed, self.rank, self.last = seed, rank, last
        self.processes = min(workers, max(last - first, 1)) if maker is not None else 0
        self._pending: deque[tuple[int, Future]] = deque()
        self._next = first
        if self.processes:
            context = multiprocessing.get_context("spawn")  # no forked copies of CUDA state or the model
            paths = [clip.meta.path for clip in clips]
            self._executor: Executor = ProcessPoolExecutor(self.processes, mp_context=context,
                                                           initializer=_start_worker,
                                                           initargs=(maker, paths, WORKER_NICENESS))
            self._submit: Callable[[int], Future] = lambda step: self._executor.submit(
                _build_in_worker, seed, step, rank)
        else:
            self._executor = ThreadPoolExecutor(max_workers=1)
            self._submit = lambda step: self._executor.submit(
                lambda: make_batch(clips, step_generators(seed, step, rank)[0]))
        self._fill()

    def _fill(self) -> None:
        while len(self._pending) < max(1, self.processes) and self._next < self.last:
            self._pending.append((self._next, self._submit(self._next)))
            self._next += 1

    def get(self, step: int) -> tuple[object, torch.Generator]:
        """The batch of ``step`` (the next one in order) and the step's noise generator."""
        expected, future = self._pending.popleft()
        if expected != step:
            raise RuntimeError(f"batches are built in step order: asked for step {step}, next is {expected}")
        batch = future.result()
        self._fill()
        return batch, step_generators(self.seed, step, self.rank)[1]

    def close(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> StepBatches:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
