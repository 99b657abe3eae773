"""Runs the two-rank DDP training job of ``tests/ddp_worker.py`` many times and counts how each rank
exited (issue 31: a rank that outlived its process group's DDP wrappers aborted at interpreter exit in
about one run in six). Prints the machine and torch version, one line per failed run and the totals;
exit status 1 when any rank of any run failed.

    python benchmarks/ddp_exit_stress.py --runs 30
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from tqdm.auto import tqdm

from tsgl_encoder.bench.launch import run_local_ranks
from tsgl_encoder.bench.machine import machine_line

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="how many times to run the job (>= 1)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")
    print(machine_line())
    exits: collections.Counter[int] = collections.Counter()
    failed_runs = 0
    started = time.perf_counter()
    for run in tqdm(range(args.runs), desc="DDP runs"):
        with tempfile.TemporaryDirectory() as out:
            ranks = run_local_ranks(ROOT / "tests" / "ddp_worker.py", [out], world_size=2,
                                    env={"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        exits.update(rank.returncode for rank in ranks)
        bad = [rank for rank in ranks if rank.returncode != 0]
        if bad:
            failed_runs += 1
            tqdm.write(f"run {run}: " + ", ".join(f"rank {r.rank} exited {r.returncode}" for r in bad))
    print(f"{failed_runs} of {args.runs} runs failed in {time.perf_counter() - started:.0f} s; rank exit codes: "
          + ", ".join(f"{code}: {count}" for code, count in sorted(exits.items())))
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
