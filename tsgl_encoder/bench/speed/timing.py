"""Timing one subject: median seconds per call after warm-up, FLOPs, peak memory; a whole schedule of
sizes, batches and modes, skipping what would not fit in memory."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from .subjects import Subject


def _tensors(output: object) -> list[Tensor]:
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    return []


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory the block adds: CUDA max allocated, or the rise of the process's RSS (sampled every
    millisecond) above its level on entry. On CPU this is a lower bound: memory the allocator freed earlier
    and reuses is not counted again."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak, self.start, self._running = device, 0, 0, False

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.001)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif sys.platform.startswith("linux"):
            self.start = self.peak = self.rss()
            self._running = True
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        elif self._running:
            self._running = False
            self._thread.join()
            self.peak = max(self.peak, self.rss())
        self.added = self.peak - self.start


def available_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with open("/proc/meminfo") as meminfo:
        fields = dict(line.split(":", 1) for line in meminfo)
    return int(fields["MemAvailable"].split()[0]) * 1024


@dataclass(frozen=True)
class Settings:
    device: torch.device
    warmup: int
    repeats: int
    bf16: bool
    channels_last: bool
    compile: bool


def measure(subject: Subject, size: int, batch: int, train: bool, settings: Settings) -> dict:
    """Median seconds per call, FLOPs and peak memory of one subject at one size, batch and mode."""
    device = settings.device
    module = subject.module.to(device).train(train)
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    module = module.to(memory_format=memory_format)
    runner = torch.compile(module) if settings.compile else module
    inputs = tuple(x.contiguous(memory_format=memory_format) if isinstance(x, Tensor) and x.ndim == 4 else x
                   for x in subject.inputs(batch, size, device))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if settings.bf16 else nullcontext()

    def step() -> None:
        with autocast, (nullcontext() if train else torch.no_grad()):
            outputs = _tensors(subject.call(runner, *inputs))
        if train:
            sum(t.float().mean() for t in outputs).backward()
            module.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        step()
    times = []
    with PeakMemory(device) as memory:
        for index in range(settings.warmup + settings.repeats):
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            if index >= settings.warmup:
                times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"subject": subject.name, "group": subject.group, "part": subject.part, "variant": subject.variant,
            "size": size, "batch": batch, "mode": "train" if train else "forward",
            "parameters": subject.parameters or sum(p.numel() for p in subject.module.parameters()),
            "gflops_per_image": counter.get_total_flops() / batch / 1e9,
            "ms_per_image": seconds / batch * 1e3, "images_per_s": batch / seconds,
            "peak_memory_mb": (memory.added + _bytes(subject.module)) / 2**20}  # weights + what running added


def _bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def run(subjects: list[Subject], sizes: list[int], train_batch: int, settings: Settings, progress: bool,
        host_sizes: list[int] | None = None, train_sizes: list[int] | None = None,
        forward_batches: tuple[int, ...] = (1,)) -> list[dict]:
    """Forward at every size (hosts: ``host_sizes``) and batch of ``forward_batches``, batch-1 forward +
    backward at ``train_sizes`` among them, and the training batch at the first size; a configuration whose
    memory (extrapolated from the previous size, x4 per doubling) would not fit is skipped."""
    jobs = []
    for s in subjects:
        own_sizes = sizes if s.group == "encoder" or host_sizes is None else host_sizes
        for size in own_sizes:
            jobs += [(s, size, batch, False) for batch in forward_batches]
            if train_sizes is None or size in train_sizes:
                jobs.append((s, size, 1, True))
    jobs += [(s, sizes[0], max(train_batch, s.min_batch_train), True) for s in subjects if train_batch > 1]
    rows, last_peak = [], {}
    for subject, size, batch, train in tqdm(jobs, disable=not progress, desc="speed"):
        batch = max(batch, subject.min_batch_train) if train else batch
        key = (subject.name, subject.variant, train, batch)
        expected = last_peak.get(key, (0, size))
        needed = expected[0] * (size / expected[1]) ** 2
        if needed > 0.7 * available_memory(settings.device):
            rows.append({"subject": subject.name, "group": subject.group, "part": subject.part,
                         "variant": subject.variant, "size": size, "batch": batch,
                         "mode": "train" if train else "forward", "skipped": f"memory: needs ~{needed / 2**30:.1f} GB"})
            continue
        row = measure(subject, size, batch, train, settings)
        last_peak[key] = (row["peak_memory_mb"] * 2**20, size)
        rows.append(row)
    return rows
