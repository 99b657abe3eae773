"""``tsgl-speed --profile``: where the encoder's forward time goes, by kind of operator, in fp32 and bf16.

The GEMM share of a row of ``tsgl-speed`` (its FLOPs over its time, against this run's GEMM rate)
mixes two causes when it is low: time spent outside matrix products (normalisation, element-wise
work, copies between layouts), and matrix products that run below the GEMM rate (small or odd
shapes). This profile separates them: PyTorch's profiler records each operator's own time (self CPU
time, which on CPU is wall time of the calling thread, oneDNN's threads included) and the FLOPs of
convolutions and matrix products; operators are grouped into kinds, and each kind gets its share of
the time; the convolutions, matrix products and attention together get their FLOP rate as a fraction
of the GEMM rate in that dtype. The FLOPs are ``torch.utils.flop_counter``'s count of one forward (the
same count as ``tsgl-speed``'s rows), not the profiler's: the profiler puts a convolution's FLOPs on
every ``aten::conv2d`` / ``aten::convolution`` event it records, and autocast records each convolution
twice (before and after its cast): with its sums, the convolutions of ``tsgl_base`` at 256 read 168% of
the bf16 GEMM rate under autocast, where the counted FLOPs give 88%.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

#: operator name (as the profiler reports it, without ``aten::``) -> kind
KINDS = {
    "convolution (oneDNN)": ("mkldnn_convolution", "_convolution", "convolution", "conv2d", "conv_transpose2d",
                             "_mkldnn_convolution", "mkldnn_convolution_pointwise", "_nnpack_spatial_convolution"),
    # PyTorch's own im2col + GEMM kernel: what float32 convolutions on small maps (batch 1, at most 20480 input
    # values, 3x3 or smaller, one group) are sent to instead of oneDNN
    "convolution (slow path)": ("_slow_conv2d_forward", "slow_conv2d_forward", "thnn_conv2d", "slow_conv_dilated2d",
                                "conv_depthwise2d"),
    "matrix product": ("mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "_addmm_activation"),
    "attention (SDPA)": ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_attention_math",
                         "scaled_dot_product_attention"),
    "normalisation": ("native_layer_norm", "layer_norm", "native_batch_norm", "batch_norm",
                      "_batch_norm_impl_index", "native_group_norm", "group_norm", "_native_batch_norm_legit",
                      "_native_batch_norm_legit_no_training", "instance_norm"),
    "copies and layout": ("copy_", "_to_copy", "to", "clone", "contiguous", "cat", "constant_pad_nd", "pad",
                          "reflection_pad2d", "replication_pad2d", "roll", "index", "index_select", "gather",
                          "unfold", "im2col", "col2im", "upsample_nearest2d", "upsample_bilinear2d", "stack",
                          "_unsafe_view", "view", "reshape", "permute", "transpose", "expand", "slice", "select",
                          "empty", "empty_like", "zeros", "ones", "full", "zero_", "fill_", "as_strided",
                          "narrow", "split", "chunk", "unbind", "squeeze", "unsqueeze", "flatten", "t",
                          "resolve_conj", "resolve_neg", "alias", "detach", "lift_fresh", "new_zeros", "new_empty",
                          "set_", "resize_", "_reshape_alias", "split_with_sizes", "repeat", "flip"),
}
GEMM_KINDS = ("convolution (oneDNN)", "convolution (slow path)", "matrix product", "attention (SDPA)")
TOP_OPERATORS = 12


def kind_of(name: str) -> str:
    """The kind of operator ``name`` (``aten::`` prefix optional); element-wise and reductions otherwise."""
    short = name.removeprefix("aten::")
    for kind, names in KINDS.items():
        if short in names:
            return kind
    return "element-wise and reductions"


@dataclass(frozen=True)
class KindRow:
    kind: str
    milliseconds: float  # per forward
    share: float  # of the profiled time
    calls: int  # per forward


@dataclass(frozen=True)
class Profile:
    kinds: list[KindRow]  # by time, longest first
    operators: list[tuple[str, float, int]]  # (operator, ms per forward, calls per forward), longest first
    milliseconds: float  # profiled (the operators' own times summed) per forward
    gflops: float  # of one forward, counted by FlopCounterMode (convolutions, matrix products, attention)

    @property
    def gemm_milliseconds(self) -> float:
        """Time per forward in convolutions, matrix products and attention."""
        return sum(row.milliseconds for row in self.kinds if row.kind in GEMM_KINDS)


def profile_forward(model: Callable[..., object], inputs: tuple, repeats: int = 3, warmup: int = 1,
                    autocast: bool = False) -> Profile:
    """The operator profile of ``model(*inputs)`` under ``torch.no_grad`` (bf16 ``autocast`` optional)."""
    def forward() -> None:
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            model(*inputs)

    with FlopCounterMode(display=False) as counter:  # the first warm-up run counts the FLOPs
        forward()
    for _ in range(warmup - 1):
        forward()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(repeats):
            forward()
    events = profiler.key_averages()
    totals: dict[str, list[float]] = {}
    for event in events:
        entry = totals.setdefault(kind_of(event.key), [0.0, 0])
        entry[0] += event.self_cpu_time_total / 1e3 / repeats
        entry[1] += event.count / repeats
    profiled = sum(entry[0] for entry in totals.values())
    rows = sorted((KindRow(kind, ms, ms / profiled, round(calls)) for kind, (ms, calls) in totals.items()),
                  key=lambda row: -row.milliseconds)
    operators = sorted(((e.key, e.self_cpu_time_total / 1e3 / repeats, round(e.count / repeats)) for e in events),
                       key=lambda row: -row[1])
    return Profile(rows, operators[:TOP_OPERATORS], profiled, counter.get_total_flops() / 1e9)


def dtype_profiles(model: nn.Module, inputs: tuple, repeats: int = 3) -> dict[str, Profile]:
    """``model(*inputs)`` (float32) profiled in fp32, with bf16 weights and inputs, and under bf16 autocast."""
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    halves = tuple(x.bfloat16() if torch.is_tensor(x) and x.is_floating_point() else x for x in inputs)
    return {"fp32": profile_forward(model, inputs, repeats),
            "bf16 weights": profile_forward(bf16, halves, repeats),
            "bf16 autocast": profile_forward(model, inputs, repeats, autocast=True)}


def markdown(profiles: dict[str, Profile], gemm: dict[str, float], title: str) -> str:
    """One table per dtype: kind, ms, share of the time, GFLOPs, rate as % of the GEMM rate in that dtype; the
    GEMM kinds' share of the time and their combined rate; the longest operators."""
    lines = [f"# Operator profile: {title}", ""]
    for name, found in profiles.items():
        rows, total = found.kinds, found.milliseconds
        rate = gemm["bf16" if "bf16" in name else "fp32"]
        lines += [f"## {name} ({total:.0f} ms profiled per forward; GEMM rate {rate:.0f} GFLOP/s)", "",
                  "| kind | ms | share of time | calls |", "|---|---|---|---|"]
        lines += [f"| {row.kind} | {row.milliseconds:.1f} | {100 * row.share:.1f}% | {row.calls} |" for row in rows]
        gemm_ms = found.gemm_milliseconds
        inside = found.gflops / (gemm_ms / 1e3) / rate if gemm_ms else 0.0
        overall = found.gflops / (total / 1e3) / rate if total else 0.0
        lines += ["", f"Convolutions, matrix products and attention take {100 * gemm_ms / total:.0f}% of the time "
                  f"and run at {100 * inside:.0f}% of the GEMM rate; over the whole forward that is "
                  f"{100 * overall:.0f}% of the GEMM rate.", "",
                  f"Longest operators ({name}):", "", "| operator | kind | ms | calls |", "|---|---|---|---|"]
        lines += [f"| {op} | {kind_of(op)} | {ms:.1f} | {calls} |" for op, ms, calls in found.operators]
        lines.append("")
    return "\n".join(lines)
