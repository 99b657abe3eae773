"""Time per image of RTV smoothing (``tsgl_encoder.rtv.rtv_smooth``, MEDFE's parameters) by solver and size.

    python benchmarks/rtv_speed.py                          # 256 and 512, exact and cg, CPU, batch 1
    python benchmarks/rtv_speed.py --sizes 256 --jacobi     # also cg with the Jacobi preconditioner
    python benchmarks/rtv_speed.py --device cuda --batch 8  # the batched cg on a GPU (exact runs on the CPU)
    python benchmarks/rtv_speed.py --known                  # the mask-aware form (a centred square hole)
    python benchmarks/rtv_speed.py --threads 1              # one torch thread (steadier on a busy machine)

Each row: the median seconds per image over ``--repeats`` runs, the conjugate gradient's iterations per linear
solve (one solve per RTV iteration, all images and channels at once) and the largest difference to the exact
solution. The image is scikit-image's astronaut photograph (``tsgl-encoder[bench]``) resized to the size, or a
textured synthetic image without scikit-image.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tsgl_encoder import rtv
from tsgl_encoder.bench.machine import machine_line


def test_image(size: int, batch: int) -> torch.Tensor:
    """``(batch, 3, size, size)`` in [0, 1]: a photograph when scikit-image is installed."""
    try:
        from skimage import data
        photo = torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float() / 255.0
    except ImportError:
        rows, cols = torch.meshgrid(torch.arange(512.0), torch.arange(512.0), indexing="ij")
        photo = (0.5 + 0.3 * (cols > 256).float() + 0.1 * torch.sin(rows) * torch.sin(cols)).expand(1, 3, -1, -1)
    return F.interpolate(photo, size=(size, size), mode="area").clamp(0, 1).expand(batch, -1, -1, -1).contiguous()


def timed(run: Callable[[], torch.Tensor], device: torch.device, repeats: int) -> tuple[float, torch.Tensor]:
    seconds = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--jacobi", action="store_true", help="also time cg with the Jacobi preconditioner")
    parser.add_argument("--known", action="store_true", help="the mask-aware form, a centred square hole")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine_line(device))
    print(f"torch {torch.__version__}; rtv_smooth(lam=0.015, sigma=3, sharpness=0.001, max_iter=3), batch "
          f"{args.batch}, cg tol {args.tol}{', mask-aware' if args.known else ''}")

    iterations: list[int] = []
    solve = rtv.conjugate_gradient

    def counting(*arguments):  # records cg's iterations per linear solve
        x, count = solve(*arguments)
        iterations.append(count)
        return x, count

    rtv.conjugate_gradient = counting
    print("| size | solver | s / image | cg iterations per solve | max abs diff to exact |\n|---|---|---|---|---|")
    for size in args.sizes:
        image = test_image(size, args.batch)
        known = None
        if args.known:
            known = torch.ones(args.batch, 1, size, size)
            known[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0
        runs = [("exact (scipy LU, CPU)", "cpu", {"solver": "exact"}),
                ("cg, multigrid", args.device, {"solver": "cg", "tol": args.tol})]
        if args.jacobi:
            runs.append(("cg, Jacobi", args.device, {"solver": "cg", "tol": args.tol, "preconditioner": "jacobi",
                                                      "max_cg_iter": 5000}))
        exact = None
        for name, where, kwargs in runs:
            where = torch.device(where)
            inputs = image.to(where), None if known is None else known.to(where)
            iterations.clear()
            seconds, out = timed(lambda inputs=inputs, kwargs=kwargs: rtv.rtv_smooth(inputs[0], known=inputs[1],
                                                                                     **kwargs), where, args.repeats)
            out = out.cpu()
            exact = out if exact is None else exact
            counts = ", ".join(map(str, iterations[: len(iterations) // args.repeats])) or "-"
            print(f"| {size} | {name} | {seconds / args.batch:.2f} | {counts} | "
                  f"{(out - exact).abs().max().item():.1e} |", flush=True)
    rtv.conjugate_gradient = solve


if __name__ == "__main__":
    main()
