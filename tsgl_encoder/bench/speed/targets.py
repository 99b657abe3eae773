"""The performance targets of ``tsgl-speed``'s report: met, or missed by how much."""

from __future__ import annotations


def find(rows: list[dict], **keys: object) -> dict | None:
    return next((r for r in rows if "skipped" not in r and all(r.get(k) == v for k, v in keys.items())), None)


def targets(rows: list[dict], matmul: float) -> list[tuple[str, str, str]]:
    """The issue's targets: (target, measured, verdict)."""
    out = []
    base = {s: find(rows, subject="tsgl_base", size=s, batch=1, mode="forward") for s in (256, 512, 1024)}
    if base[256]:
        ms = base[256]["ms_per_image"]
        out.append(("tsgl_base 256x256 forward < 450 ms", f"{ms:.0f} ms",
                    _verdict(ms <= 450, ms / 450, "x the target")))
        fraction = base[256]["gflops_per_image"] / (ms / 1e3) / matmul
        out.append(("tsgl_base reaches >= 50% of the matmul throughput", f"{fraction:.0%}",
                    _verdict(fraction >= 0.5, fraction / 0.5, "x the target")))
    for small, large in ((256, 512), (512, 1024)):
        if base[small] and base[large]:
            ratio = base[large]["ms_per_image"] / base[small]["ms_per_image"]
            out.append((f"time({large}) / time({small}) <= 4.3", f"{ratio:.2f}", _verdict(ratio <= 4.3, ratio / 4.3,
                                                                                           "x the bound")))
    if base[1024]:
        gb = base[1024]["peak_memory_mb"] / 1024
        out.append(("tsgl_base 1024x1024 in < 6 GB", f"{gb:.2f} GB", _verdict(gb < 6, gb / 6, "x the bound")))
    trains = [r for r in rows if r.get("subject") == "lama_fourier" and r.get("mode") == "train" and "skipped" not in r]
    if trains:
        batch = max(r["batch"] for r in trains)
        own, tsgl = (find(trains, variant=v, batch=batch, size=trains[0]["size"]) for v in ("own", "tsgl"))
        if own and tsgl:
            ratio = tsgl["images_per_s"] / own["images_per_s"]
            out.append(("swapped lama_fourier trains at >= 0.5x the original's images/s", f"{ratio:.2f}x",
                        _verdict(ratio >= 0.5, ratio / 0.5, "x the target")))
    return out


def _verdict(met: bool, factor: float, unit: str) -> str:
    return "met" if met else f"missed ({factor:.2f}{unit})"
