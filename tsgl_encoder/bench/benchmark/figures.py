"""The benchmark's pictures: an image grid per host (masked input / each variant / ground truth) and
training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..extras import pyplot
from ..viz import save_grid

VARIANT_LABELS = {"own": "own encoder", "tsgl": "TSGL encoder"}


def write_grid(path: Path, host_name: str, examples: dict) -> None:
    """Rows: validation images (30-40% holes); columns: masked input, each variant, ground truth."""
    first = next(iter(examples.values()))
    rows = []
    for row in range(min(4, first["image"].shape[0])):
        image, mask = first["image"][row], first["mask"][row]
        panels = [image * mask + (1 - mask), *(example["composite"][row] for example in examples.values()), image]
        rows.append([(panel + 1) / 2 for panel in panels])
    columns = ("masked input", *(VARIANT_LABELS.get(name, name) for name in examples), "ground truth")
    save_grid(path, rows, columns, f"{host_name}: 30-40% holes")


def smooth(values: list[float], window: int = 9) -> np.ndarray:
    """Centred moving average (edges use the available neighbours)."""
    array = np.asarray(values, dtype=np.float64)
    kernel = np.ones(min(window, len(array)))
    return np.convolve(array, kernel, "same") / np.convolve(np.ones_like(array), kernel, "same")


def write_curves(path: Path, host_name: str, host_result: dict) -> None:
    """Generator L1 and total loss against step: one colour per variant, one line style per seed (thin: the
    logged values, thick: smoothed)."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    styles = ("-", "--", ":", "-.")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for variant_index, (variant, data) in enumerate(host_result["variants"].items()):
        color = colors[variant_index % len(colors)]
        for index, run in enumerate(data["runs"]):
            steps = [h["step"] for h in run["history"]]
            for axis, key in zip(axes, ("l1", "g_total"), strict=True):
                values = [h[key] for h in run["history"]]
                axis.plot(steps, values, color=color, alpha=0.2, linewidth=0.8)
                axis.plot(steps, smooth(values), color=color, linestyle=styles[index % len(styles)],
                          label=f"{variant} seed {run['seed']}")
    titles = ("L1 (hole + valid, weighted)", "generator total (incl. the edge loss where trained)")
    for axis, key in zip(axes, titles, strict=True):
        axis.set_xlabel("step")
        axis.set_ylabel("loss (training batch)")
        axis.set_title(f"{host_name}: {key}", fontsize=10)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
