"""Would Winograd convolutions make tsgl_base faster on this CPU? A side-by-side probe (not used by the library).

    python benchmarks/winograd_probe.py            # the 3x3 stride-1 convolutions of tsgl_base at 256x256
    python benchmarks/winograd_probe.py --out outputs/winograd.md

tsgl_base is ~80% 3x3 convolutions, which oneDNN runs as direct convolutions. Winograd's F(2x2, 3x3)
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) computes the same outputs
with 2.25x fewer multiplications: 16 GEMMs of (C_out x C_in) @ (C_in x tiles) between an input and an
output transform of 4x4 tiles. It pays off only if those GEMMs run about as fast as the direct
convolution; this script measures both, side by side in one run, on the layer shapes of tsgl_base.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from tsgl_encoder import create_encoder

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


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tsgl_base")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="outputs/winograd_probe.md")
    args = parser.parse_args(argv)
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
    table = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    print(table)
    return table


if __name__ == "__main__":
    main()
