"""Export a host with TSGL's encoder as one ONNX file for inference without torch.

    python examples/export_onnx.py --checkpoint outputs/quick/lama/tsgl/seed0/checkpoint.pt --out lama_tsgl.onnx
    python examples/export_onnx.py --host smp_unet --out smp_unet_tsgl.onnx      # the smoke preset's, untrained

A training checkpoint of the benchmark (any host and variant) is read with its own settings; without one,
the smoke preset's host is built with TSGL's encoder and random weights (the plumbing only). The file takes
``image`` (B, 3, H, W) in [-1, 1] and ``mask`` (B, 1, H, W) with 1 = known and returns the inpainted image
(``tsgl_encoder.bench.deploy``): any batch and any multiple of the host's size for LaMa, MEDFE and smp_unet,
any size at batch 1 for CTSDG, the example's size for MAT. Run it with ``examples/onnx_inpaint.py`` (onnxruntime only).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tsgl_encoder.bench.benchmark.presets import PRESETS
from tsgl_encoder.bench.deploy import ANY_BATCH, ANY_SIZE, export_inpainting_onnx
from tsgl_encoder.bench.hosts import HOSTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="lama", choices=sorted(HOSTS))
    parser.add_argument("--checkpoint", default=None, help="a training checkpoint.pt of the benchmark")
    parser.add_argument("--size", type=int, default=256, help="the example's size (the only one for fixed files)")
    parser.add_argument("--out", default="outputs/tsgl_host.onnx")
    parser.add_argument("--no-optimize", action="store_true",
                        help="skip onnxscript's graph optimiser (about 3x faster export, a larger file)")
    args = parser.parse_args(argv)
    if args.checkpoint and Path(args.out).resolve() == Path(args.checkpoint).resolve():
        parser.error(f"--out {args.out!r} is the checkpoint: choose another file")

    if args.checkpoint:
        model, host = HOSTS[args.host].from_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(0)
        host = PRESETS["smoke"].hosts[args.host].host
        model = host.build("tsgl")
    start = time.perf_counter()
    path = export_inpainting_onnx(host, model, args.out, size=args.size, optimize=not args.no_optimize)
    sizes = "any batch and size" if host.name in ANY_BATCH else (
        "any size, the example's batch" if host.name in ANY_SIZE else f"{args.size}x{args.size} only")
    print(f"wrote {path} ({host.name}, {sizes}) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
