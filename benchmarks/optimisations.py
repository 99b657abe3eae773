"""Before / after of each optimisation of the TSGL encoder, measured side by side in one run.

    python benchmarks/optimisations.py                    # tsgl_base, 256x256, batch 1, fp32
    python benchmarks/optimisations.py --size 128 --repeats 3 --out outputs/optimisations.md
    python benchmarks/optimisations.py --winograd         # tried and not kept: Winograd convolutions
    python benchmarks/optimisations.py --allocator --sizes 256 512   # the process's allocator, not the library

"Before" swaps one optimised layer back to its straightforward reference (``tsgl_encoder.reference``,
which the tests compare the library against); "after" is the library as it is. Configurations
are timed in interleaved rounds (median per configuration), so machine noise hits all of them alike;
the table gives each step's time ratio and checks that the outputs agree within 1e-5.

``--winograd`` probes an optimisation that was tried and not kept. tsgl_base is ~80% 3x3
convolutions, which oneDNN runs as direct convolutions; Winograd's F(2x2, 3x3) (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016) computes the same outputs with 2.25x fewer
multiplications: 16 GEMMs of (C_out x C_in) @ (C_in x tiles) between an input and an output
transform of 4x4 tiles. It pays off only if those GEMMs run about as fast as the direct convolution;
the probe times both, side by side, on the 3x3 stride-1 convolutions the encoder runs.

``--allocator`` measures what the library cannot set: glibc's malloc serves blocks over its mmap
threshold (128 KB, rising with use to at most 32 MB; a 180-channel map at 256x256 is 47 MB) with a
fresh ``mmap`` and returns them on free, so each forward pays a page fault per 4 KB of every large
map. The probe times the forward in child processes, interleaved, under the default and with
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2**40`` (freed memory stays in the heap and is reused),
plus any ``--preload`` allocator (e.g. tcmalloc).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from tsgl_encoder import create_encoder
from tsgl_encoder.reference import REFERENCES, reference_key

STEPS = {  # step -> the references (``owner.attribute`` in tsgl_encoder.reference) that "before" switches back to
    "equalized conv / linear: leaky-ReLU gain and bias folded in, the blur pads inside its conv": (
        "EqualizedConv2d.forward", "EqualizedLinear.forward"),
    "SPADE gamma + beta as one conv, '1 +' in its bias": ("SPADE.forward", "GlobalReconstruction.forward"),
    "window attention through scaled_dot_product_attention": ("MaskAwareWindowAttention.forward",),
    "priors: box and 3x3 max filters as shifted sums / maxima": ("priors.dilate3x3", "priors.guided_smooth"),
    "channels_last inside the encoder": ("TSGLEncoder.memory_format",),
}


class Reverted:
    """Context manager: the named optimisations use their straightforward reference inside the block."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.swaps = [(owner, attribute, value) for owner, attribute, value in REFERENCES
                      if reference_key(owner, attribute) in keys]
        if len(self.swaps) != len(keys):
            raise ValueError(f"not all of {keys} are in tsgl_encoder.reference.REFERENCES")
        self.saved = []

    def __enter__(self) -> None:
        self.saved = [(owner, attribute, getattr(owner, attribute)) for owner, attribute, _ in self.swaps]
        for owner, attribute, value in self.swaps:
            setattr(owner, attribute, value)

    def __exit__(self, *exc: object) -> None:
        for owner, attribute, value in self.saved:
            setattr(owner, attribute, value)


def example_inputs(size: int) -> tuple[Tensor, Tensor]:
    """A random image in [-1, 1] and a mask with a hole over 3/16 of it."""
    image, mask = torch.rand(1, 3, size, size) * 2 - 1, torch.ones(1, 1, size, size)
    mask[..., size // 4 : size // 2, size // 8 : -size // 8] = 0
    return image, mask


def steps_table(args: argparse.Namespace) -> str:
    """Each step of STEPS reverted, against the library, in interleaved rounds."""
    torch.manual_seed(0)
    encoder = create_encoder(args.preset).eval()
    image, mask = example_inputs(args.size)
    configs = {"all optimisations (the library)": ()} | {f"before: {step}": names for step, names in STEPS.items()}
    configs["before: all of the above"] = tuple(n for names in STEPS.values() for n in names)

    def forward(names: tuple[str, ...]) -> tuple[float, list[torch.Tensor]]:
        with Reverted(names), torch.no_grad():
            start = time.perf_counter()
            out = encoder(image, mask)
            return time.perf_counter() - start, out

    outputs = {name: forward(names)[1] for name, names in configs.items()}  # warm-up + outputs
    times = {name: [] for name in configs}
    for _ in range(args.repeats):  # interleaved rounds
        for name, names in configs.items():
            times[name].append(forward(names)[0])
    base_name = next(iter(configs))
    base = statistics.median(times[base_name])
    lines = [f"# Optimisations of {args.preset}: before / after", "",
             f"torch {torch.__version__} | {platform.machine()} | {torch.get_num_threads()} threads | "
             f"{args.size}x{args.size}, batch 1, fp32, eval | median of {args.repeats} interleaved rounds", "",
             "| configuration | ms | time / library's | max abs diff of outputs vs library |", "|---|---|---|---|"]
    for name in configs:
        ms = statistics.median(times[name]) * 1e3
        diff = max((a - b).abs().max().item() for a, b in zip(outputs[name], outputs[base_name], strict=True))
        lines.append(f"| {name} | {ms:.0f} | {ms / base / 1e3:.2f}x | {diff:.1e} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- tried, not kept: Winograd

# F(2x2, 3x3): output tile = A^T [(G g G^T) * (B^T d B)] A for a 4x4 input tile d and a 3x3 filter g.
# B^T and A^T hold only 0 and +-1, so both transforms are sums of shifted views.
G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def _input_transform(x: Tensor, dim: int) -> list[Tensor]:
    """``B^T`` along ``dim`` over 4-row tiles taken every 2 rows: 4 maps, each with half the rows of ``x``."""
    every_other = (slice(None),) * dim + (slice(None, None, 2),)
    tiles = (x.shape[dim] - 2) // 2
    d0, d1, d2, d3 = (x.narrow(dim, r, 2 * tiles - 1)[every_other] for r in range(4))
    return [d0 - d2, d1 + d2, d2 - d1, d1 - d3]


def _output_transform(m: Tensor) -> list[Tensor]:
    """``A^T`` along the first dim of ``m`` (4, ...): the two output rows of each tile."""
    return [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]


def winograd_conv3x3(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.conv2d(x, weight, bias, padding=1)`` for 3x3 filters and even H, W, by Winograd F(2x2, 3x3)."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"x must have even height and width, got {tuple(x.shape[-2:])}")
    padded = F.pad(x, [1, 1, 1, 1])  # (B, C_in, H + 2, W + 2)
    inputs = torch.stack([v for rows in _input_transform(padded, 2) for v in _input_transform(rows, 3)])
    tiles = inputs.shape[-2:]  # (H/2, W/2); inputs (16, B, C_in, H/2, W/2)
    g = x.new_tensor(G)
    filters = torch.einsum("ai,ocij,dj->adoc", g, weight, g)  # G g G^T: (4, 4, C_out, C_in)
    filters = rearrange(filters, "a d o c -> (a d) 1 o c")
    products = filters @ inputs.flatten(-2)  # (16, B, C_out, tiles): the multiplications that scale with C_in
    products = products.unflatten(0, (4, 4)).unflatten(-1, tiles)  # (4, 4, B, C_out, H/2, W/2)
    # two output rows, each (B, C_out, H/2, W/2, 2 columns)
    rows = [torch.stack(_output_transform(r), dim=-1) for r in _output_transform(products)]
    out = rearrange(torch.stack(rows, dim=-3), "b o x i y j -> b o (x i) (y j)")  # (B, C_out, H, W)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def stride1_conv3x3_shapes(preset: str, size: int) -> Counter:
    """``(C_in, C_out, H, W) -> count`` of the encoder's 3x3 stride-1 convolutions for one ``size`` x ``size`` image."""
    shapes, conv2d = Counter(), F.conv2d

    def recording(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if (weight.shape[-2:] == (3, 3) and weight.shape[0] > 1  # not the 1-channel partial-conv mask rule
                and stride in (1, (1, 1)) and groups == 1 and padding in (1, (1, 1))):
            shapes[(x.shape[1], weight.shape[0], *x.shape[-2:])] += 1
        return conv2d(x, weight, bias, stride, padding, dilation, groups)

    encoder = create_encoder(preset).eval()
    image, mask = torch.zeros(1, 3, size, size), torch.ones(1, 1, size, size)
    F.conv2d = recording
    try:
        with torch.no_grad():
            encoder(image, mask)
    finally:
        F.conv2d = conv2d
    return shapes


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def winograd_table(args: argparse.Namespace) -> str:
    """Winograd F(2x2, 3x3) against the direct convolution on every 3x3 stride-1 conv shape the encoder runs."""
    torch.manual_seed(0)
    shapes = stride1_conv3x3_shapes(args.preset, args.size)
    lines = ["# Winograd F(2x2, 3x3) against oneDNN's direct convolution", "",
             f"torch {torch.__version__} | {platform.machine()} | {torch.get_num_threads()} threads | fp32, batch 1 | "
             f"the 3x3 stride-1 convs of {args.preset} at {args.size}x{args.size}; the direct conv in channels_last "
             f"(the encoder's layout) | median of {args.repeats}", "",
             "| C_in -> C_out | H x W | convs | direct ms | Winograd ms | Winograd / direct | its GEMMs alone ms "
             "| GEMMs GFLOP/s | direct GFLOP/s | max abs diff |", "|---|---|---|---|---|---|---|---|---|---|"]
    total = Counter()
    with torch.no_grad():
        for (c_in, c_out, height, width), count in sorted(shapes.items(), key=lambda kv: -kv[0][2] * kv[0][3]):
            x = torch.randn(1, c_in, height, width)
            weight, bias = torch.randn(c_out, c_in, 3, 3) / (9 * c_in) ** 0.5, torch.randn(c_out)
            x_cl = x.contiguous(memory_format=torch.channels_last)
            filters, tiles = torch.randn(16, c_out, c_in), torch.randn(16, c_in, height * width // 4)
            direct = median_ms(lambda: F.conv2d(x_cl, weight, bias, padding=1), args.repeats)  # noqa: B023
            winograd = median_ms(lambda: winograd_conv3x3(x, weight, bias), args.repeats)  # noqa: B023
            gemm = median_ms(lambda: torch.bmm(filters, tiles), args.repeats)  # noqa: B023
            diff = (winograd_conv3x3(x, weight, bias) - F.conv2d(x, weight, bias, padding=1)).abs().max().item()
            total["direct"] += direct * count
            total["winograd"] += winograd * count
            total["gemm"] += gemm * count
            gemm_gflops = 2 * 16 * c_in * c_out * height * width / 4 / 1e6 / gemm
            direct_gflops = 2 * 9 * c_in * c_out * height * width / 1e6 / direct
            lines.append(f"| {c_in} -> {c_out} | {height} x {width} | {count} | {direct:.1f} | {winograd:.1f} "
                         f"| {winograd / direct:.2f}x | {gemm:.1f} | {gemm_gflops:.0f} | {direct_gflops:.0f} "
                         f"| {diff:.1e} |")
    lines += ["", f"All of them, one image: direct {total['direct']:.0f} ms, Winograd {total['winograd']:.0f} ms "
              f"({total['winograd'] / total['direct']:.2f}x the time); its GEMMs alone {total['gemm']:.0f} ms "
              f"({total['gemm'] / total['direct']:.2f}x), the least Winograd could take with free transforms."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the allocator (not the library)
ALLOCATORS = {  # name -> environment of the child process
    "glibc default": {},
    "glibc, freed memory kept: MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2**40": {
        "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**40)},
}


def time_forward(preset: str, sizes: list[int]) -> dict:
    """In this process: per size, one warm-up then one timed forward; ms, minor page faults, peak RSS."""
    torch.manual_seed(0)
    encoder = create_encoder(preset).eval()
    result = {}
    for size in sizes:
        image, mask = example_inputs(size)
        with torch.no_grad():
            encoder(image, mask)
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            encoder(image, mask)
            ms = (time.perf_counter() - start) * 1e3
        result[str(size)] = {"ms": ms, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def allocator_table(args: argparse.Namespace) -> str:
    """The forward under each allocator, each round one child process per allocator (interleaved rounds)."""
    allocators = dict(ALLOCATORS) | {f"LD_PRELOAD={path}": {"LD_PRELOAD": path} for path in args.preload}
    command = [sys.executable, __file__, "--time-forward", "--preset", args.preset, "--sizes", *map(str, args.sizes)]
    runs = {name: [] for name in allocators}
    for _ in range(args.repeats):
        for name, env in allocators.items():
            done = subprocess.run(command, env=os.environ | env, capture_output=True, text=True, check=True)
            runs[name].append(json.loads(done.stdout.splitlines()[-1]))
    sizes = [str(s) for s in args.sizes]
    ms = {name: {s: statistics.median(r[s]["ms"] for r in results) for s in sizes} for name, results in runs.items()}
    default_ms = ms["glibc default"]
    pairs = list(itertools.pairwise(sizes))  # consecutive sizes: the growth per step
    ratio_head = "".join(f" time({large}) / time({small}) |" for small, large in pairs)
    lines = [f"# {args.preset}'s forward under each memory allocator", "",
             f"torch {torch.__version__} | {platform.machine()} | {torch.get_num_threads()} threads | batch 1, fp32, "
             f"eval | one child process per allocator and round, median of {args.repeats} interleaved rounds", "",
             "| allocator |" + "".join(f" ms at {s} | faults at {s} | time / default at {s} |" for s in sizes)
             + ratio_head + " peak RSS MB |", "|---" * (2 + 3 * len(sizes) + len(pairs)) + "|"]
    for name, results in runs.items():
        cells = "".join(f" {ms[name][s]:.0f} | {statistics.median(r[s]['faults'] for r in results):,.0f} | "
                        f"{ms[name][s] / default_ms[s]:.2f}x |" for s in sizes)
        ratios = "".join(f" {ms[name][large] / ms[name][small]:.2f} |" for small, large in pairs)
        rss = statistics.median(r["max_rss_mb"] for r in results)
        lines.append(f"| {name} |{cells}{ratios} {rss:.0f} |")
    lines += ["", "`faults`: minor page faults during the timed forward (each one a zero-filled 4 KB page)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tsgl_base")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--winograd", action="store_true", help="the Winograd probe instead of the steps")
    parser.add_argument("--allocator", action="store_true", help="the allocator probe instead of the steps")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="--allocator's image sizes")
    parser.add_argument("--preload", nargs="*", default=[], help="--allocator: allocator libraries to LD_PRELOAD")
    parser.add_argument("--time-forward", action="store_true", help=argparse.SUPPRESS)  # --allocator's child
    parser.add_argument("--out", default=None, help="default: outputs/<mode>.md")
    args = parser.parse_args(argv)
    if args.time_forward:
        print(json.dumps(time_forward(args.preset, args.sizes)))
        return ""
    mode = "winograd_probe" if args.winograd else "allocator_probe" if args.allocator else "optimisations"
    table = {"winograd_probe": winograd_table, "allocator_probe": allocator_table,
             "optimisations": steps_table}[mode](args)
    out = Path(args.out or f"outputs/{mode}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)
    return table


if __name__ == "__main__":
    main()
