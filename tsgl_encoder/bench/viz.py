"""Small helpers to look at images and feature maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from einops import rearrange

from .extras import pyplot


def to_rgb_array(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` in [-1, 1] -> ``(H, W, 3)`` float array in [0, 1]."""
    return rearrange((image.detach().float().clamp(-1, 1) + 1) / 2, "c h w -> h w c").cpu().numpy()


def feature_pca_rgb(feature: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` feature map -> ``(H, W, 3)`` in [0, 1]: its first three principal components."""
    channels, height, width = feature.shape
    pixels = rearrange(feature.detach().float(), "c h w -> (h w) c")
    pixels = pixels - pixels.mean(dim=0, keepdim=True)
    components = min(3, channels, pixels.shape[0])
    if components == 0 or not pixels.abs().sum() > 0:
        return np.zeros((height, width, 3), dtype=np.float32)
    _, _, basis = torch.pca_lowrank(pixels, q=components, center=False)
    projected = pixels @ basis  # (HW, components)
    projected = torch.nn.functional.pad(projected, [0, 3 - components])
    low, high = projected.amin(dim=0), projected.amax(dim=0)
    projected = (projected - low) / (high - low).clamp_min(1e-8)
    return rearrange(projected, "(h w) c -> h w c", h=height, w=width).cpu().numpy()


def print_parameter_table(before: dict[str, int], after: dict[str, int], labels: tuple[str, str]) -> None:
    """Parameters per part of a host before and after the encoder swap, with totals."""
    width = max(len(part) for part in [*before, "total"]) + 2
    print(f"{'part':<{width}}{labels[0]:>14}{labels[1]:>14}")
    for part in before:
        print(f"{part:<{width}}{before[part]:>14,}{after[part]:>14,}")
    print(f"{'total':<{width}}{sum(before.values()):>14,}{sum(after.values()):>14,}")


def save_side_by_side(path: str, panels: dict[str, torch.Tensor], title: str) -> None:
    """One row of ``(1, 3, H, W)`` images in [0, 1], titled, written as a PNG."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for axis, (name, picture) in zip(axes, panels.items(), strict=True):
        axis.imshow(rearrange(picture[0].detach().float().clamp(0, 1), "c h w -> h w c").cpu().numpy())
        axis.set_title(name, fontsize=10)
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path}")


def save_grid(path: str | os.PathLike, rows: list[list[torch.Tensor]], columns: tuple[str, ...], title: str,
              row_labels: list[str] | None = None) -> None:
    """Image grid as a PNG: ``rows`` of ``(3, H, W)`` images in [0, 1], one titled column per entry of ``columns``
    (e.g. masked input / output / ground truth); ``row_labels`` name the rows on the left."""
    plt = pyplot()
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(2 * len(columns), 2 * len(rows) + 0.5),
                                squeeze=False)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            axis = axes[r, c]
            axis.imshow(rearrange(picture.detach().float().clamp(0, 1), "c h w -> h w c").cpu().numpy())
            axis.set_xticks([])
            axis.set_yticks([])
            if r == 0:
                axis.set_title(columns[c], fontsize=9)
            if c == 0 and row_labels:
                axis.set_ylabel(row_labels[r], fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
