"""``tsgl_medfe`` beside the official TSGL(MEDFE) generator: outputs, time and peak memory (issue 27, item 6).

    git clone https://github.com/htyjers/ConvInpaint-TSGL            # the official code (Apache-2.0)
    python benchmarks/medfe_parity.py --official ConvInpaint-TSGL [--checkpoint G_14.pth] [--threads 2]

Builds the official ``Generator`` on the CPU with random weights and randomised BatchNorm / InstanceNorm
parameters (or loads ``--checkpoint``), writes its state_dict to a temporary official-format file, and then,
each in a fresh process so that peak memory is that run's own: the official ``forward`` (its test
``Generator``, float32 only: its StyleGAN2 ops refuse bfloat16) and ``adapters.medfe.load_checkpoint`` of the
file in float32, with bfloat16 weights and under ``torch.autocast(bfloat16)``; 256x256, batch 1, same inputs.
A last process holds both and alternates their float32 forwards (the fair time ratio on a shared machine).
Reports the median seconds per forward (after one warm-up), the peak resident memory the forward added, the
weights, and the largest difference from the official output relative to its largest magnitude. Writes
``--out`` (JSON). Nothing of the official code is part of this library; it is imported from the path you give.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from tsgl_encoder.bench.parity import build_generator, import_official, make_inputs
from tsgl_encoder.bench.speed.timing import PeakMemory
from tsgl_encoder.checkpoints import load_file

# the official code runs in float32 only (its StyleGAN2 ops assert equal dtypes, so bfloat16 weights and
# bfloat16 autocast both fail there); tsgl_medfe runs in all three
RUNS = (("official", "float32"), ("tsgl_medfe", "float32"), ("tsgl_medfe", "bfloat16"), ("tsgl_medfe", "autocast"))
IMPLEMENTATIONS = ("official", "tsgl_medfe")
PRECISIONS = ("float32", "bfloat16", "autocast")
INTERLEAVED = ("tsgl_medfe", "interleaved")  # both models in one process, float32, alternating


def _forward(implementation: str, root: str, weights: str, inputs: tuple, dtype: torch.dtype):
    """A function running one forward of ``implementation`` on ``inputs`` and the module (for its weights)."""
    image, mask, edge, smooth, gray = inputs
    if implementation == "official":
        model, _ = import_official(Path(root) / "TSGL_MEDFE" / "test")  # the inference forward (no edge head)
        cuda = torch.Tensor.cuda
        torch.Tensor.cuda = lambda t, *a, **k: t  # the official PCconv calls .cuda() while it runs
        try:
            generator = model.Generator()
        finally:
            torch.Tensor.cuda = cuda
        generator.load_state_dict(load_file(weights), strict=True)
        generator.eval()

        def run():
            torch.Tensor.cuda = lambda t, *a, **k: t
            try:
                output = generator(image, edge, smooth, gray, mask)
            finally:
                torch.Tensor.cuda = cuda
            return output[0] if isinstance(output, tuple) else output

        return run, generator
    import adapters.medfe as medfe

    ours = medfe.load_checkpoint(weights).to(dtype)
    image, mask, edge, smooth, gray = (t.to(dtype) for t in inputs)
    return (lambda: ours(image, mask, edge=edge, gray=gray, smooth=smooth)), ours


def interleaved(args: argparse.Namespace, inputs: tuple) -> None:
    """float32 forwards of the two, alternating, so that a shared machine's load hits both alike."""
    runs = {name: _forward(name, args.official, args.weights, inputs, torch.float32)[0] for name in IMPLEMENTATIONS}
    times: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    with torch.no_grad():
        for run in runs.values():
            run()  # warm-up
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    print(json.dumps({name: statistics.median(values) for name, values in times.items()}))


def worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    inputs = make_inputs(1, 256, args.seed + 1)
    if args.precision == "interleaved":
        return interleaved(args, inputs)
    dtype = torch.bfloat16 if args.precision == "bfloat16" else torch.float32
    run, module = _forward(args.worker, args.official, args.weights, inputs, dtype)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "autocast")
    times = []
    with torch.no_grad(), autocast:
        run()  # warm-up (and the inference caches)
        with PeakMemory(torch.device("cpu")) as memory:
            for _ in range(args.repeats):
                start = time.perf_counter()
                output = run()
                times.append(time.perf_counter() - start)
    torch.save(output.float(), args.result)
    weights = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    print(json.dumps({"seconds": statistics.median(times), "forward_peak_mb": memory.added / 2**20,
                      "weights_mb": weights / 2**20}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="local clone of htyjers/ConvInpaint-TSGL")
    parser.add_argument("--checkpoint", default=None, help="official generator state_dict (.pth), optional")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/medfe_parity.json")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--precision", choices=(*PRECISIONS, "interleaved"), default="float32",
                        help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    out = Path(args.out).resolve()
    inputs = [Path(args.official).resolve(), *([Path(args.checkpoint).resolve()] if args.checkpoint else [])]
    if any(out == path or path in out.parents for path in inputs):
        parser.error(f"--out {args.out!r} would write into or over an input (--official / --checkpoint)")

    model, trans = import_official(Path(args.official))
    generator, state = build_generator(model, trans, args.checkpoint, args.seed)
    if not args.checkpoint:
        with torch.no_grad():
            for module in generator.modules():
                if isinstance(module, torch.nn.InstanceNorm2d) and module.affine:
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.normal_(0, 0.1)
        state = generator.state_dict()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "G.pth"
        torch.save(state, weights)
        del generator, state
        for implementation, precision in (*RUNS, INTERLEAVED):
                result = Path(folder) / f"{implementation}_{precision}.pt"
                command = [sys.executable, __file__, "--official", args.official, "--worker", implementation,
                           "--precision", precision, "--weights", str(weights), "--result", str(result),
                           "--threads", str(args.threads), "--repeats", str(args.repeats), "--seed", str(args.seed)]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(f"{implementation} {precision} failed:\n{done.stderr[-3000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                if precision == "interleaved":
                    alternating = row
                    continue
                rows[f"{implementation} {precision}"] = {**row, "output": str(result)}
        reference = load_file(rows["official float32"].pop("output"))
        for key, row in rows.items():
            output = reference if key == "official float32" else load_file(row.pop("output"))
            row["max_rel_diff_vs_official_fp32"] = ((output - reference).abs().max() / reference.abs().max()).item()
    print(f"torch {torch.__version__} | {platform.machine()} | {args.threads} threads | 256x256, batch 1")
    print(f"{'':>22} {'s / forward':>12} {'forward peak MB':>16} {'weights MB':>11} {'rel. diff':>10}")
    for key, row in rows.items():
        print(f"{key:>22} {row['seconds']:>12.3f} {row['forward_peak_mb']:>16.0f} {row['weights_mb']:>11.0f} "
              f"{row['max_rel_diff_vs_official_fp32']:>10.1e}")
    official = rows["official float32"]

    def total(row: dict) -> float:
        return row["forward_peak_mb"] + row["weights_mb"]

    for precision in PRECISIONS:
        ours = rows[f"tsgl_medfe {precision}"]
        print(f"tsgl_medfe {precision} / official float32: time {ours['seconds'] / official['seconds']:.2f}x, "
              f"forward peak memory {ours['forward_peak_mb'] / max(official['forward_peak_mb'], 1e-9):.2f}x, "
              f"weights + forward peak {total(ours) / total(official):.2f}x")
    print(f"interleaved float32 (one process, alternating, median of {args.repeats}): official "
          f"{alternating['official']:.3f} s, tsgl_medfe {alternating['tsgl_medfe']:.3f} s: "
          f"{alternating['tsgl_medfe'] / alternating['official']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"torch": torch.__version__, "threads": args.threads, "rows": rows,
                                          "interleaved_float32_seconds": alternating}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
