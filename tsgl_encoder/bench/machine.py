"""The machine a measurement ran on, as every report of the harness prints it (benchmark, evaluation, speed)."""

from __future__ import annotations

import os
import platform
import sys

import torch


def machine(device: torch.device | str | None = None) -> dict[str, object]:
    """torch version, device (the GPU's name on CUDA, else the CPU's), threads, CPUs and Python version."""
    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"torch": torch.__version__, "device": name, "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def machine_line(device: torch.device | str | None = None) -> str:
    """:func:`machine` as one line: ``torch 2.x | device | N CPUs, T threads | python 3.x``."""
    info = machine(device)
    return (f"torch {info['torch']} | {info['device']} | {info['cpus']} CPUs, {info['threads']} threads | "
            f"python {info['python']}")
