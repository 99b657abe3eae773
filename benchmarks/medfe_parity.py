"""``tsgl_medfe`` beside the official TSGL(MEDFE) generator: outputs, time and peak memory (issue 27, item 6).

    git clone https://github.com/htyjers/ConvInpaint-TSGL            # the official code (Apache-2.0)
    python benchmarks/medfe_parity.py --official ConvInpaint-TSGL [--checkpoint G_14.pth] [--threads 2]

The same comparison as ``tsgl-speed --official PATH --official-generator`` (the method is described in
:mod:`tsgl_encoder.bench.speed.generator`), alone: 256x256, batch 1, each run in a fresh process. Prints the
table and writes ``--out`` (JSON, with the machine and torch version).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tsgl_encoder.bench.machine import machine_line
from tsgl_encoder.bench.speed.generator import GeneratorComparison, compare, markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="local clone of htyjers/ConvInpaint-TSGL")
    parser.add_argument("--checkpoint", default=None, help="official generator state_dict (.pth), optional")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/medfe_parity.json")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    inputs = [Path(args.official).resolve(), *([Path(args.checkpoint).resolve()] if args.checkpoint else [])]
    if any(out == path or path in out.parents for path in inputs):
        parser.error(f"--out {args.out!r} would write into or over an input (--official / --checkpoint)")
    report = compare(GeneratorComparison(args.official, args.checkpoint, repeats=args.repeats, threads=args.threads,
                                         seed=args.seed))
    report["machine"] = machine_line()
    print(report["machine"])
    print(markdown(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
