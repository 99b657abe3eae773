"""``tsgl-speed --official PATH --official-generator``: the whole ``tsgl_medfe`` beside the official TSGL(MEDFE)
``Generator`` (issue 27, item 6): outputs, time and peak memory.

The official generator gets random weights and randomised BatchNorm / InstanceNorm parameters (or
``--official-checkpoint``'s), written to a temporary official-format file. Then, each in a fresh process so
that its peak memory is its own: the official ``forward`` (its ``TSGL_MEDFE/test`` ``Generator``, float32 only:
its StyleGAN2 ops refuse bfloat16) and ``adapters.medfe.load_checkpoint`` of the same file in float32, with
bfloat16 weights and under ``torch.autocast(bfloat16)``; batch 1, the same inputs (:func:`~..parity.make_inputs`).
A last process holds both and alternates their float32 forwards: the fair time ratio on a shared machine.
Each run reports the median seconds per forward (after one warm-up), the resident memory its forwards added
at their peak, the weights' size, and the largest difference from the official output relative to the
largest official magnitude. Nothing of the official code is part of this library: it is imported from the
path the user gives.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from ...checkpoints import load_file, select_state_dict, strip_prefix
from ..hosts import create_host
from ..parity import build_generator, import_official, make_inputs
from .timing import PeakMemory

# the official code runs in float32 only (its StyleGAN2 ops assert equal dtypes, so bfloat16 weights and bfloat16
# autocast both fail there); tsgl_medfe runs in all three
RUNS = (("official", "float32"), ("tsgl_medfe", "float32"), ("tsgl_medfe", "bfloat16"), ("tsgl_medfe", "autocast"))
PRECISIONS = ("float32", "bfloat16", "autocast")
ENVELOPES = ("state_dict", "generator", "netG")


@dataclass(frozen=True)
class GeneratorComparison:
    """What to compare: ``code`` a clone of htyjers/ConvInpaint-TSGL; ``overrides`` are passed to
    ``adapters.medfe.load_checkpoint`` (only for a reduced stand-in of the official model)."""

    code: str
    checkpoint: str | None = None
    size: int = 256
    repeats: int = 3
    threads: int = 2
    seed: int = 0
    overrides: dict = field(default_factory=dict)


def _without_cuda_calls(fn: Callable[[], object]) -> object:
    """Runs ``fn`` with ``Tensor.cuda`` as the identity (the official PCconv calls ``.cuda()`` as it runs)."""
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda t, *a, **k: t
    try:
        return fn()
    finally:
        torch.Tensor.cuda = cuda


def _official(code: str, weights: str, inputs: tuple[Tensor, ...]) -> tuple[Callable[[], Tensor], nn.Module]:
    image, mask, edge, smooth, gray = inputs
    model, _ = import_official(Path(code) / "TSGL_MEDFE" / "test")  # the inference forward (no structure decoder)
    generator = _without_cuda_calls(model.Generator)
    state = select_state_dict(load_file(weights), weights, ENVELOPES)
    generator.load_state_dict(strip_prefix(state), strict=True)
    generator.eval()

    def run() -> Tensor:
        output = _without_cuda_calls(lambda: generator(image, edge, smooth, gray, mask))
        return output[0] if isinstance(output, tuple) else output

    return run, generator


def _library(weights: str, inputs: tuple[Tensor, ...], dtype: torch.dtype, overrides: dict
             ) -> tuple[Callable[[], Tensor], nn.Module]:
    ours = create_host("medfe", overrides=overrides).load_pretrained(weights).to(dtype)
    image, mask, edge, smooth, gray = (t.to(dtype) for t in inputs)
    return (lambda: ours(image, mask, edge=edge, gray=gray, smooth=smooth)), ours


def _forward(implementation: str, job: dict, inputs: tuple[Tensor, ...], dtype: torch.dtype):
    if implementation == "official":
        return _official(job["code"], job["weights"], inputs)
    return _library(job["weights"], inputs, dtype, job["overrides"])


def _timed(runs: dict[str, Callable[[], Tensor]], repeats: int) -> dict[str, float]:
    """Median seconds per forward of each run, alternating between them."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def worker(job: dict) -> dict:
    """One run in this (fresh) process: ``job["implementation"]`` at ``job["precision"]``, or ``"interleaved"``."""
    torch.set_num_threads(job["threads"])
    inputs = make_inputs(1, job["size"], job["seed"] + 1)
    with torch.no_grad():
        if job["precision"] == "interleaved":
            runs = {name: _forward(name, job, inputs, torch.float32)[0] for name in ("official", "tsgl_medfe")}
            for run in runs.values():
                run()  # warm-up
            return _timed(runs, job["repeats"])
        dtype = torch.bfloat16 if job["precision"] == "bfloat16" else torch.float32
        run, module = _forward(job["implementation"], job, inputs, dtype)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=job["precision"] == "autocast"):
            output = run()  # warm-up (and the inference caches)
            with PeakMemory(torch.device("cpu")) as memory:
                seconds = _timed({"run": run}, job["repeats"])["run"]
    torch.save(output.float(), job["result"])
    weights = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    return {"seconds": seconds, "forward_peak_mb": memory.added / 2**20, "weights_mb": weights / 2**20}


def _spawn(job: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", __name__, json.dumps(job)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{job['implementation']} {job['precision']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _random_weights(code: str, seed: int, path: Path) -> None:
    """The official generator's random weights (every BatchNorm / InstanceNorm parameter randomised) in ``path``."""
    model, trans = import_official(Path(code))
    generator, _ = build_generator(model, trans, None, seed)
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, nn.InstanceNorm2d) and module.affine:
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    torch.save(generator.state_dict(), path)


def compare(comparison: GeneratorComparison) -> dict:
    """Every run of :data:`RUNS` in its own process, then the interleaved float32 pair; the report."""
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        weights = comparison.checkpoint
        if weights is None:
            weights = str(Path(folder) / "G.pth")
            _random_weights(comparison.code, comparison.seed, Path(weights))
        job = {**asdict(comparison), "weights": weights}
        for implementation, precision in RUNS:
            result = str(Path(folder) / f"{implementation}_{precision}.pt")
            row = _spawn({**job, "implementation": implementation, "precision": precision, "result": result})
            rows[f"{implementation} {precision}"] = {**row, "output": result}
        interleaved = _spawn({**job, "implementation": "both", "precision": "interleaved"})
        reference = load_file(rows["official float32"]["output"])
        for row in rows.values():
            output = load_file(row.pop("output"))
            row["max_rel_diff"] = ((output - reference).abs().max() / reference.abs().max()).item()
    return {"size": comparison.size, "threads": comparison.threads, "repeats": comparison.repeats,
            "checkpoint": comparison.checkpoint, "rows": rows, "interleaved_float32_seconds": interleaved}


def _total(row: dict) -> float:
    return row["forward_peak_mb"] + row["weights_mb"]


def markdown(report: dict) -> str:
    rows, official = report["rows"], report["rows"]["official float32"]
    size, weights = report["size"], report["checkpoint"] or "random weights, randomised norm statistics"
    lines = ["## tsgl_medfe beside the official TSGL(MEDFE) generator", "",
             f"{size}x{size}, batch 1, {report['threads']} threads, {weights}; medians of {report['repeats']} "
             "forwards, each implementation and precision in its own process (peak memory: the resident memory "
             "its forwards added).", "",
             "| run | s / forward | vs official | forward peak MB | vs official | weights MB | "
             "weights + peak vs official | max rel diff to official |", "|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        peak_ratio = row["forward_peak_mb"] / max(official["forward_peak_mb"], 1e-9)
        lines.append(f"| {name} | {row['seconds']:.3f} | {row['seconds'] / official['seconds']:.2f}x | "
                     f"{row['forward_peak_mb']:.0f} | {peak_ratio:.2f}x | {row['weights_mb']:.0f} | "
                     f"{_total(row) / _total(official):.2f}x | {row['max_rel_diff']:.1e} |")
    alternating = report["interleaved_float32_seconds"]
    ratio = alternating["tsgl_medfe"] / alternating["official"]
    lines += ["", f"Interleaved float32 (one process, alternating): official {alternating['official']:.3f} s, "
              f"tsgl_medfe {alternating['tsgl_medfe']:.3f} s: {ratio:.2f}x (targets: <= 0.5x the time, <= 0.25x "
              "the peak memory, outputs within 1e-4).", ""]
    return "\n".join(lines)


def _main() -> None:
    parser = argparse.ArgumentParser(description="one run of tsgl-speed --official-generator (internal)")
    parser.add_argument("job", help="the run, as JSON")
    print(json.dumps(worker(json.loads(parser.parse_args().job))))


if __name__ == "__main__":
    _main()
