"""``speed.md`` and ``speed_scaling.png`` of a ``tsgl-speed`` run."""

from __future__ import annotations

from pathlib import Path

from ..extras import pyplot
from .gemm import GEMM_ROUTES
from .targets import find, targets


def gemm_note(report: dict) -> str:
    rates = report.get("gemm_gflops", {})
    return " and ".join(f"{rate:.0f} GFLOP/s through {GEMM_ROUTES[name]}" for name, rate in rates.items())


def markdown(report: dict) -> str:
    info = report["machine"]
    lines = ["# Speed", "", f"torch {info['torch']} | {info['device']} | {info['cpus']} CPUs, {info['threads']} "
             f"threads | python {info['python']} | {report.get('gemm_dtype', 'fp32')} matmul "
             f"{report['matmul_gflops']:.1f} GFLOP/s | "
             f"{report['options']}", "",
             "Median of repeated runs after warm-up; `% matmul` = achieved FLOP/s over the measured matmul "
             f"throughput: the best 2048^3 {report.get('gemm_dtype', 'fp32')} GEMM of the run, {gemm_note(report)}. "
             "Train = forward + backward. "
             "`peak MB` = the subject's weights + the peak memory its runs "
             "added (CPU: rise of the process RSS, a lower bound; CUDA: max allocated).", ""]
    if not report["rows"]:  # --presets --hosts with nothing: only the official comparison was asked for
        return "\n".join(lines)
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(report["rows"], report["matmul_gflops"])]
    lines += ["", "## All measurements", "", "| subject | variant | mode | size | batch | params | GFLOPs/img | "
              "ms/img | img/s | % matmul | peak MB | TSGL / own time | TSGL / own FLOPs |", "|---" * 13 + "|"]
    for row in report["rows"]:
        head = f"| {row['subject']} | {row['variant']} | {row['mode']} | {row['size']} | {row['batch']} |"
        if "skipped" in row:
            lines.append(head + f" skipped ({row['skipped']}) | | | | | | | |")
            continue
        fraction = row["gflops_per_image"] / (row["ms_per_image"] / 1e3) / report["matmul_gflops"]
        pair = find(report["rows"], subject=row["subject"], variant="own", mode=row["mode"], size=row["size"],
                    batch=row["batch"])
        paired = pair is not None and row["variant"] == "tsgl"
        ratio = f"{row['ms_per_image'] / pair['ms_per_image']:.2f}x" if paired else ""
        flops = f"{row['gflops_per_image'] / pair['gflops_per_image']:.2f}x" if paired else ""
        lines.append(head + f" {row['parameters']:,} | {row['gflops_per_image']:.2f} | {row['ms_per_image']:.1f} | "
                     f"{row['images_per_s']:.2f} | {fraction:.0%} | {row['peak_memory_mb']:.0f} | {ratio} | {flops} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Forward time per image (batch 1) against pixels, log-log, with a linear-cost guide."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    curves: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if "skipped" not in row and row["mode"] == "forward" and row["batch"] == 1:
            label = f"{row['subject']} ({row['variant']})"
            curves.setdefault(label, []).append((row["size"] ** 2, row["ms_per_image"]))
    for label, points in curves.items():
        pixels, ms = zip(*sorted(points), strict=True)
        axis.loglog(pixels, ms, marker="o", label=label)
    if curves:
        pixels, ms = zip(*sorted(next(iter(curves.values()))), strict=True)
        axis.loglog(pixels, [ms[0] * p / pixels[0] for p in pixels], "k:", label="linear in pixels")
    axis.set_xlabel("pixels per image")
    axis.set_ylabel("forward ms per image (batch 1)")
    axis.legend(fontsize=7)
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
