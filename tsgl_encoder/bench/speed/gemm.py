"""This machine's GEMM throughput (the reference of every ``% matmul``) and its allocator."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from .timing import sync


def gemm_rates(device: torch.device, n: int = 2048, repeats: int = 10,
               dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """This machine's GEMM throughput in ``dtype`` in GFLOP/s: the best of ``repeats`` n x n x n products, through
    ``torch.mm`` (MKL / cuBLAS) and as a 1x1 convolution (oneDNN / cuDNN, the route the convolutions take).
    The best, not the median: a shared machine's noise only ever slows a run down."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    image = a.T.reshape(1, n, 32, n // 32).contiguous(memory_format=torch.channels_last)  # n pixels, n channels
    kernel = b.reshape(n, n, 1, 1)
    products = {"mm": lambda: a @ b, "conv1x1": lambda: torch.nn.functional.conv2d(image, kernel)}
    rates = {}
    for name, product in products.items():
        times = []
        for index in range(repeats + 2):
            sync(device)
            start = time.perf_counter()
            product()
            sync(device)
            if index >= 2:
                times.append(time.perf_counter() - start)
        rates[name] = 2 * n**3 / min(times) / 1e9
    return rates


GEMM_ROUTES = {"mm": "torch.mm", "conv1x1": "a 1x1 convolution"}


def allocator() -> str:
    """Which malloc the process runs on (the scaling of large maps depends on it: ``benchmarks/README.md``)."""
    preload = os.environ.get("LD_PRELOAD", "")
    return f"allocator: {Path(preload).name} (LD_PRELOAD)" if preload else "allocator: glibc malloc (default)"
