"""Structure priors computed in torch, batched, from the *masked* image (no ground truth leaks in).

* ``gray``: luminance in [0, 1] with scikit-image's ``rgb2gray`` weights;
* ``edge``: a Canny-like edge map in {0, 1} (the official code runs ``skimage.feature.canny`` with
  sigma 2 on the full image): mask-normalised Gaussian smoothing, Sobel gradients, non-maximum
  suppression in 4 directions, double threshold (0.1 / 0.2 of the unit range, scikit-image's
  defaults) and hysteresis by repeated 3x3 dilation inside the weak edges. Gradients whose stencil
  touches the hole or the image border are dropped, so the hole boundary is not an edge;
* ``smooth``: the official model reads an RTV-smoothed image (Xu et al. 2012), which is slow and
  not differentiable-friendly. A **mask-normalised self-guided filter** (He et al. 2010, radius 4,
  eps 1e-2) stands in for it: an edge-preserving smoothing computed in a few box filters.

Every prior is multiplied by the mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def to_unit_range(image: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1]."""
    return (image + 1.0) * 0.5


def rgb_to_gray(image_unit: Tensor) -> Tensor:
    """``(B, 3, H, W)`` in [0, 1] -> ``(B, 1, H, W)`` luminance."""
    weights = image_unit.new_tensor(GRAY_WEIGHTS).view(1, 3, 1, 1)
    return (image_unit * weights).sum(dim=1, keepdim=True)


def _gaussian_taps(sigma: float, device: torch.device, dtype: torch.dtype) -> Tensor:
    radius = int(4.0 * sigma + 0.5)  # scipy's truncate=4
    coords = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    taps = torch.exp(-0.5 * (coords / sigma) ** 2)
    return taps / taps.sum()


def _separable_blur(x: Tensor, taps: Tensor) -> Tensor:
    radius = taps.numel() // 2
    x = F.conv2d(F.pad(x, [radius, radius, 0, 0]), taps.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, [0, 0, radius, radius]), taps.view(1, 1, -1, 1))


def masked_gaussian_blur(x: Tensor, mask: Tensor, sigma: float) -> Tensor:
    """Normalised convolution: blur of the known pixels only, ``blur(x * m) / blur(m)``."""
    taps = _gaussian_taps(sigma, x.device, x.dtype)
    weight = _separable_blur(mask, taps)
    return _separable_blur(x * mask, taps) / weight.clamp_min(1e-6) * (weight > 1e-6)


def _erode(mask: Tensor) -> Tensor:
    """3x3 erosion; outside the image counts as hole."""
    return 1.0 - F.max_pool2d(F.pad(1.0 - mask, [1, 1, 1, 1], value=1.0), 3, stride=1)


def _neighbours(x: Tensor) -> dict[tuple[int, int], Tensor]:
    """The 8 shifted copies of ``x``: ``out[(dy, dx)][..., i, j] = x[..., i + dy, j + dx]`` (0 outside)."""
    padded = F.pad(x, [1, 1, 1, 1])
    height, width = x.shape[-2:]
    return {
        (dy, dx): padded[..., 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    }


def _non_maximum_suppression(magnitude: Tensor, grad_x: Tensor, grad_y: Tensor) -> Tensor:
    """Keep pixels that are maximal along their (4-way quantised) gradient direction."""
    angle = torch.remainder(torch.atan2(grad_y, grad_x), math.pi)  # [0, pi), y points down
    sector = torch.remainder(torch.round(angle / (math.pi / 4)), 4).long()  # 0: -, 1: \, 2: |, 3: /
    near = _neighbours(magnitude)
    pairs = (((0, 1), (0, -1)), ((1, 1), (-1, -1)), ((1, 0), (-1, 0)), ((1, -1), (-1, 1)))
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for index, (ahead, behind) in enumerate(pairs):
        is_max = (magnitude >= near[ahead]) & (magnitude >= near[behind])
        keep = keep | ((sector == index) & is_max)
    return keep


def canny_edges(
    gray: Tensor, mask: Tensor, sigma: float = 2.0, low: float = 0.1, high: float = 0.2,
    hysteresis_steps: int = 32,
) -> Tensor:
    """Canny-like edges ``(B, 1, H, W)`` in {0, 1} of the known part of ``gray`` (in [0, 1])."""
    smoothed = masked_gaussian_blur(gray, mask, sigma)
    sobel_x = gray.new_tensor(SOBEL_X).view(1, 1, 3, 3)
    padded = F.pad(smoothed, [1, 1, 1, 1], mode="replicate")
    grad_x = F.conv2d(padded, sobel_x)
    grad_y = F.conv2d(padded, sobel_x.transpose(-1, -2))
    magnitude = torch.hypot(grad_x, grad_y) * _erode(mask)
    candidate = _non_maximum_suppression(magnitude, grad_x, grad_y)
    weak = (candidate & (magnitude >= low)).to(gray.dtype)
    edges = (candidate & (magnitude >= high)).to(gray.dtype)
    for _ in range(hysteresis_steps):  # grow strong edges along connected weak ones
        edges = torch.maximum(edges, F.max_pool2d(edges, 3, stride=1, padding=1) * weak)
    return edges


def _masked_box_mean(x: Tensor, mask: Tensor, radius: int) -> Tensor:
    size = 2 * radius + 1
    total = F.avg_pool2d(x * mask, size, stride=1, padding=radius)
    weight = F.avg_pool2d(mask, size, stride=1, padding=radius)
    return total / weight.clamp_min(1e-6) * (weight > 1e-6)


def guided_smooth(image_unit: Tensor, mask: Tensor, radius: int = 4, eps: float = 1e-2) -> Tensor:
    """Self-guided filter of the known pixels, per channel: an edge-preserving stand-in for RTV."""
    mean = _masked_box_mean(image_unit, mask, radius)
    variance = (_masked_box_mean(image_unit**2, mask, radius) - mean**2).clamp_min(0.0)
    a = variance / (variance + eps)
    b = mean - a * mean
    return _masked_box_mean(a, mask, radius) * image_unit + _masked_box_mean(b, mask, radius)


class StructurePriors(nn.Module):
    """Computes ``edge``, ``gray`` and (optionally) ``smooth`` from a masked image in [-1, 1]."""

    def __init__(self, edge_sigma: float = 2.0, with_smooth: bool = True) -> None:
        super().__init__()
        self.edge_sigma = edge_sigma
        self.with_smooth = with_smooth

    @torch.no_grad()
    def forward(self, masked_image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Returns ``edge (B,1,H,W)``, ``gray (B,1,H,W)`` and ``smooth (B,3,H,W)`` in [-1, 1] or None."""
        with torch.autocast(masked_image.device.type, enabled=False):
            image_unit = to_unit_range(masked_image.float()) * mask.float()
            mask = mask.float()
            gray = rgb_to_gray(image_unit) * mask
            edge = canny_edges(gray, mask, sigma=self.edge_sigma) * mask
            smooth = None
            if self.with_smooth:
                smooth = (guided_smooth(image_unit, mask) * 2.0 - 1.0) * mask
        return edge, gray, smooth
