"""Small helpers to look at images and feature maps."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange


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
