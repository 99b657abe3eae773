"""Local multi-process runs (what ``torchrun --nproc_per_node N`` does on one machine), with each rank's
exit status.

``torchrun`` reports a job as failed when any rank dies, but it folds the ranks into one status and
kills the others; checking that a distributed job *exits cleanly* (no SIGABRT after the work is done)
needs each rank's own status. :func:`run_local_ranks` starts the ranks itself, with the environment
``torch.distributed.init_process_group`` reads (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) and a free port, and returns every rank's exit code and output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RankResult:
    rank: int
    returncode: int  # negative: killed by that signal (-6: SIGABRT)
    stdout: str
    stderr: str


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_local_ranks(script: str | Path, args: list[str], world_size: int = 2, timeout: float = 600,
                    env: dict[str, str] | None = None, cwd: str | Path | None = None) -> list[RankResult]:
    """Runs ``python script *args`` as ``world_size`` ranks of one job on this machine; returns each rank's
    exit code, stdout and stderr, in rank order. A rank still running after ``timeout`` seconds is killed
    (its code is then the kill's negative signal)."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size!r}")
    base = {**os.environ, **(env or {}), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": str(world_size), "LOCAL_WORLD_SIZE": str(world_size)}
    ranks = [subprocess.Popen([sys.executable, str(script), *args], cwd=cwd, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**base, "RANK": str(rank), "LOCAL_RANK": str(rank)})
             for rank in range(world_size)]
    results = []
    for rank, process in enumerate(ranks):
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in ranks:
                other.kill()
            stdout, stderr = process.communicate()
        results.append(RankResult(rank, process.returncode, stdout, stderr))
    return results
