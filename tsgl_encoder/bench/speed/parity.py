"""``tsgl-speed --official PATH``: the official TSGL(MEDFE) encoder beside ``tsgl_base`` in fp32 and bf16.

Both run the same converted weights on the same inputs and the same priors (computed once, in fp32,
by the library). Per size, the variants are timed in interleaved rounds (official fp32, tsgl_base
fp32, tsgl_base with bf16 weights, tsgl_base under bf16 autocast: one call each per round), so a
noisy moment of a shared machine hits all of them alike; each row is the median over rounds. Each row
gives its time relative to the official fp32 time, the max relative difference of its pyramid to the
official one (``max |a - b| / max |a|`` per level, the worst level) and the fraction of this run's
GEMM rate in its dtype that its FLOPs reach. Where that fraction is low, one profiled forward per row
(:mod:`.op_profile`, after the timing) says why: the share of the time spent in convolutions, matrix
products and attention, and the rate those reach on their own; the rest of the time does no GEMM work
(element-wise operations, normalisation, copies), and a missed target's line names both.
"""

from __future__ import annotations

import copy
import itertools
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from ...export import max_relative_difference
from ..parity import OfficialEncoder
from . import op_profile

#: The issue's targets (2 CPU cores, batch 1, 256x256): fraction of the official fp32 time, GEMM share, growth
FP32_TARGET, BF16_TARGET, BF16_GEMM_TARGET, GROWTH_TARGET = 0.75, 0.45, 0.75, 4.3


def inputs_for(library, batch: int, size: int, seed: int = 0) -> tuple[Tensor, ...]:
    """``(masked image, mask, edge, smooth, gray)`` with a large hole; the priors from the library's own priors."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 8: 5 * size // 8] = 0
    image = (torch.rand(batch, 3, size, size, generator=generator) * 2 - 1) * mask
    edge, gray, smooth = library.priors(image, mask)
    if smooth is None:
        smooth = torch.zeros_like(image)
    return image, mask, edge, smooth, gray


def run_encoder(model, image: Tensor, mask: Tensor, edge: Tensor, smooth: Tensor, gray: Tensor) -> list[Tensor]:
    """The library's encoder on given priors, inputs cast to its weights' dtype."""
    dtype = next(model.parameters()).dtype
    image, mask, edge, smooth, gray = (t.to(dtype) for t in (image, mask, edge, smooth, gray))
    return model(image, mask, edge=edge, gray=gray, smooth=smooth if model.config.smooth_input else None)


def variants(official: OfficialEncoder) -> dict[str, tuple[str, Callable[..., list[Tensor]]]]:
    """``{name: (dtype name, fn(image, mask, edge, smooth, gray) -> pyramid)}``."""
    library = official.library.eval()
    bf16 = copy.deepcopy(library).to(torch.bfloat16)

    def autocast(*inputs: Tensor) -> list[Tensor]:
        with torch.autocast("cpu", torch.bfloat16):
            return run_encoder(library, *inputs)

    return {"official fp32": ("fp32", official.encode),
            "tsgl_base fp32": ("fp32", lambda *inputs: run_encoder(library, *inputs)),
            "tsgl_base bf16 weights": ("bf16", lambda *inputs: run_encoder(bf16, *inputs)),
            "tsgl_base bf16 autocast": ("bf16", autocast)}


def compare(official: OfficialEncoder, sizes: list[int], rounds: int, warmup: int,
            gemm: dict[str, float]) -> list[dict]:
    """One row per (size, variant); ``gemm`` maps "fp32" / "bf16" to this run's GEMM GFLOP/s."""
    rows = []
    runs = variants(official)
    for size in sizes:
        inputs = inputs_for(official.library, 1, size)
        with torch.no_grad():
            reference = official.encode(*inputs)
            flops, outputs = {}, {}
            for name, (_, fn) in runs.items():
                with FlopCounterMode(display=False) as counter:
                    outputs[name] = fn(*inputs)
                flops[name] = counter.get_total_flops()
            times: dict[str, list[float]] = {name: [] for name in runs}
            for index in range(warmup + rounds):
                for name, (_, fn) in runs.items():
                    start = time.perf_counter()
                    fn(*inputs)
                    if index >= warmup:
                        times[name].append(time.perf_counter() - start)
        official_ms = statistics.median(times["official fp32"]) * 1e3
        for name, (dtype, fn) in runs.items():
            ms = statistics.median(times[name]) * 1e3
            rate = gemm[dtype] * 1e9
            found = op_profile.profile_forward(fn, inputs, repeats=1)
            rows.append({"size": size, "variant": name, "dtype": dtype, "ms": ms, "vs_official": ms / official_ms,
                         "gflops": flops[name] / 1e9, "gemm_fraction": flops[name] / (ms / 1e3) / rate,
                         "max_rel_diff": max_relative_difference(outputs[name], reference),
                         "gemm_time_share": found.gemm_milliseconds / found.milliseconds,
                         "gemm_kinds_fraction": flops[name] / (found.gemm_milliseconds / 1e3) / rate})
    return rows


def rescale(row: dict, factor: float) -> dict:
    """``row`` with its shares of the GEMM rate multiplied by ``factor`` (old rate / new rate)."""
    return {**row, "gemm_fraction": row["gemm_fraction"] * factor,
            "gemm_kinds_fraction": row["gemm_kinds_fraction"] * factor}


def why(row: dict) -> str:
    """Where ``row``'s time goes (its profile): the GEMM kinds' share of the time and their own rate."""
    return (f"convolutions, matrix products and attention take {row['gemm_time_share']:.0%} of the time and run at "
            f"{row['gemm_kinds_fraction']:.0%} of the {row['dtype']} GEMM rate; the other "
            f"{1 - row['gemm_time_share']:.0%} ({(1 - row['gemm_time_share']) * row['ms']:.0f} ms: element-wise work, "
            "normalisation, copies) do no GEMM work")


def why_against(row: dict, official: dict) -> str:
    """Why ``row``'s time is what it is relative to the official's: FLOPs, GEMM-kind time, other time."""
    gemm, official_gemm = (r["gemm_time_share"] * r["ms"] for r in (row, official))
    other, official_other = row["ms"] - gemm, official["ms"] - official_gemm
    return (f"{row['gflops'] / official['gflops']:.2f}x the official's FLOPs; in convolutions, matrix products and "
            f"attention {gemm:.0f} ms against its {official_gemm:.0f} ms ({gemm / official_gemm:.2f}x, which bounds "
            f"the ratio from below), elsewhere {other:.0f} ms against {official_other:.0f} ms")


def _verdict(value: float, target: float, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    if met:
        return "met"
    factor = value / target if at_most else target / value
    return f"missed by {factor:.2f}x"


def targets(rows: list[dict]) -> list[str]:
    """The issue's targets, met or missed by how much, at the first size and per doubling of the side."""
    lines = []
    first = min(r["size"] for r in rows)
    row = {r["variant"]: r for r in rows if r["size"] == first}
    fp32, bf16 = row["tsgl_base fp32"], row["tsgl_base bf16 weights"]
    official = row["official fp32"]
    checks = [("tsgl_base fp32 / official fp32", fp32, "vs_official", FP32_TARGET, True),
              ("tsgl_base bf16 weights / official fp32", bf16, "vs_official", BF16_TARGET, True),
              ("tsgl_base bf16 weights: share of the bf16 GEMM rate", bf16, "gemm_fraction", BF16_GEMM_TARGET, False)]
    for label, subject, key, target, at_most in checks:
        reason = why_against(subject, official) if key == "vs_official" else why(subject)
        lines.append(_line(str(first), label, subject[key], target, at_most, reason))
    sizes = sorted({r["size"] for r in rows})
    for small, large in itertools.pairwise(sizes):
        if large != 2 * small:
            continue
        for variant in ("tsgl_base fp32", "tsgl_base bf16 weights"):
            a, b = (next(r for r in rows if r["size"] == s and r["variant"] == variant) for s in (small, large))
            lines.append(_line(f"{small} -> {large}", f"{variant}: time growth", b["ms"] / a["ms"], GROWTH_TARGET,
                               True, why(b)))
    return lines


def _line(size: str, label: str, value: float, target: float, at_most: bool, reason: str) -> str:
    """A row of the targets table; a missed target says why (``reason``, from the rows' profiles)."""
    verdict = _verdict(value, target, at_most)
    return f"| {size} | {label} | {value:.2f} | {'<=' if at_most else '>='} {target} | {verdict} | " + (
        f"{reason} |" if verdict != "met" else " |")


def markdown(report: dict) -> str:
    rows = report["rows"]
    lines = ["## The official encoder beside tsgl_base", "",
             f"GEMM rates of this run: fp32 {report['gemm']['fp32']:.1f} GFLOP/s, bf16 {report['gemm']['bf16']:.1f} "
             f"GFLOP/s (best of torch.mm and a 1x1 conv, n = 2048, before and after the timing; before: fp32 "
             f"{report['gemm_before']['fp32']:.1f}, bf16 {report['gemm_before']['bf16']:.1f}); batch 1; medians of "
             f"{report['rounds']} "
             f"interleaved rounds; {report['allocator']}.", "",
             "| size | variant | ms | vs official fp32 | GFLOPs | share of its dtype's GEMM rate | "
             "time in conv / matmul / attention | their rate (share of GEMM rate) | max rel diff to official |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['variant']} | {r['ms']:.1f} | {r['vs_official']:.2f}x | {r['gflops']:.1f} | "
              f"{r['gemm_fraction']:.0%} | {r['gemm_time_share']:.0%} | {r['gemm_kinds_fraction']:.0%} | "
              f"{r['max_rel_diff']:.1e} |" for r in rows]
    lines += ["", "The two profile columns come from one profiled forward per row (PyTorch's profiler, operators' own "
              "time); the FLOPs from FlopCounterMode.", "",
              "| size | target | value | wanted | verdict | why (where missed) |", "|---|---|---|---|---|---|",
              *targets(rows), ""]
    return "\n".join(lines)
