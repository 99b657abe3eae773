"""The machine a measurement ran on, as every report of the harness prints it (benchmark, evaluation, speed)."""

from __future__ import annotations

import contextlib
import os
import platform
import sys

import torch

# the instruction-set extensions that change which kernels torch runs on a CPU (and so the float rounding)
ISA_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


def cpu() -> tuple[str, list[str]]:
    """The CPU's model name and its :data:`ISA_FLAGS` (from ``/proc/cpuinfo`` where there is one)."""
    model, flags = platform.processor() or platform.machine(), []
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                present = set(value.split())
                flags = [flag for flag in ISA_FLAGS if flag in present]
    return model, flags


def machine(device: torch.device | str | None = None) -> dict[str, object]:
    """torch version, device (the GPU's name on CUDA, else the CPU's), the CPU's model and ISA flags, threads,
    CPUs and Python version: runs on CPUs with other kernels (other ISA flags) round differently."""
    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    model, flags = cpu()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else model
    return {"torch": torch.__version__, "device": name, "cpu": model, "isa": flags, "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def machine_line(device: torch.device | str | None = None) -> str:
    """:func:`machine` as one line: ``torch 2.x | device | ISA flags | N CPUs, T threads | python 3.x``."""
    info = machine(device)
    isa = " ".join(info["isa"]) or "ISA flags unknown"
    return (f"torch {info['torch']} | {info['device']} | {isa} | {info['cpus']} CPUs, {info['threads']} threads | "
            f"python {info['python']}")
