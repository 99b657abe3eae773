"""Structure priors computed in torch, batched, from the *masked* image (no ground truth leaks in).

* ``gray``: luminance in [0, 1] with scikit-image's ``rgb2gray`` weights;
* ``edge``: a Canny-like edge map in {0, 1} (the official code runs ``skimage.feature.canny`` with
  sigma 2 on the full image): mask-normalised Gaussian smoothing, Sobel gradients, non-maximum
  suppression in 4 directions, double threshold (0.1 / 0.2 of the unit range, scikit-image's
  defaults) and hysteresis by repeated 3x3 dilation inside the weak edges. Gradients whose stencil
  touches the hole or the image border are dropped, so the hole boundary is not an edge;
* ``smooth``: the official model reads an RTV-smoothed image (Xu et al. 2012) precomputed offline from the
  full image. By default (``smooth="guided"``) a **mask-normalised self-guided filter** (He et al. 2010,
  radius 4, eps 1e-2) stands in for it: an edge-preserving smoothing computed in a few box filters.
  ``smooth="rtv"`` computes RTV itself (:func:`tsgl_encoder.rtv.rtv_smooth`, MEDFE's parameters) in its
  mask-aware form: the data term on known pixels only, so the hole never reaches it; slower (a sparse
  linear solve per iteration: ``benchmarks/README.md``).

Every prior is multiplied by the mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .rtv import rtv_smooth

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
#: how the ``smooth`` prior is computed: the self-guided stand-in or RTV (mask-aware)
SMOOTH_PRIORS = ("guided", "rtv")


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


def window_reduce(x: Tensor, radius: int, combine: Callable[[Tensor, Tensor], Tensor], outside: float = 0.0
                  ) -> Tensor:
    """``combine`` (``torch.add``, ``torch.maximum``) over every ``(2r+1) x (2r+1)`` window of a ``(B, C, H, W)``
    map, ``outside`` beyond the border: two 1-D passes over shifted views, ~10x faster on a CPU than the
    ``avg_pool2d`` / ``max_pool2d`` it replaces for these few-channel maps."""
    for dim, pad in ((-1, [radius, radius, 0, 0]), (-2, [0, 0, radius, radius])):
        padded, length = F.pad(x, pad, value=outside), x.shape[dim]
        x = padded.narrow(dim, 0, length)
        for shift in range(1, 2 * radius + 1):
            x = combine(x, padded.narrow(dim, shift, length))
    return x


def dilate3x3(x: Tensor, outside: float = 0.0) -> Tensor:
    """3x3 maximum filter (``max_pool2d(x, 3, stride=1, padding=1)`` for ``outside = 0`` and ``x >= 0``)."""
    return window_reduce(x, 1, torch.maximum, outside)


def _erode(mask: Tensor) -> Tensor:
    """3x3 erosion; outside the image counts as hole."""
    return 1.0 - dilate3x3(1.0 - mask, outside=1.0)


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
        edges = torch.maximum(edges, dilate3x3(edges) * weak)
    return edges


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over a ``(2r+1) x (2r+1)`` box, zeros beyond the border (``avg_pool2d`` with padding)."""
    return window_reduce(x, radius, torch.add) / (2 * radius + 1) ** 2


def guided_smooth(image_unit: Tensor, mask: Tensor, radius: int = 4, eps: float = 1e-2) -> Tensor:
    """Self-guided filter of the known pixels, per channel: an edge-preserving stand-in for RTV.

    Box means are over known pixels only: ``box(x * m) / box(m)``; ``box(m)`` is the same for all of them.
    """
    weight = box_mean(mask, radius)
    inverse_weight = torch.where(weight > 1e-6, 1.0 / weight.clamp_min(1e-6), 0.0)

    def masked_mean(x: Tensor) -> Tensor:
        return box_mean(x * mask, radius) * inverse_weight

    channels = image_unit.shape[1]
    mean, mean_of_squares = masked_mean(torch.cat([image_unit, image_unit**2], dim=1)).split(channels, dim=1)
    variance = (mean_of_squares - mean**2).clamp_min(0.0)
    a = variance / (variance + eps)
    b = mean - a * mean
    mean_a, mean_b = masked_mean(torch.cat([a, b], dim=1)).split(channels, dim=1)
    return mean_a * image_unit + mean_b


class StructurePriors(nn.Module):
    """Computes ``edge``, ``gray`` and (optionally) ``smooth`` from a masked image in [-1, 1].

    ``smooth`` selects the smoothed-image prior: ``"guided"`` (the self-guided filter) or ``"rtv"`` (mask-aware
    relative total variation, :func:`tsgl_encoder.rtv.rtv_smooth` with its defaults and ``solver="auto"``).
    """

    def __init__(self, edge_sigma: float = 2.0, with_smooth: bool = True, smooth: str = "guided") -> None:
        super().__init__()
        if smooth not in SMOOTH_PRIORS:
            raise ValueError(f"smooth must be one of {SMOOTH_PRIORS}, got {smooth!r}")
        self.edge_sigma = edge_sigma
        self.with_smooth = with_smooth
        self.smooth = smooth

    @torch.no_grad()
    def forward(self, masked_image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Returns ``edge (B,1,H,W)``, ``gray (B,1,H,W)`` and ``smooth (B,3,H,W)`` in [-1, 1] or None."""
        with torch.autocast(masked_image.device.type, enabled=False):
            image_unit = to_unit_range(masked_image.float()) * mask.float()
            mask = mask.float()
            gray = rgb_to_gray(image_unit) * mask
            edge = canny_edges(gray, mask, sigma=self.edge_sigma) * mask
            smooth = None
            if self.with_smooth and self.smooth == "rtv":
                smooth = (rtv_smooth(image_unit, known=mask).clamp(0.0, 1.0) * 2.0 - 1.0) * mask
            elif self.with_smooth:
                smooth = (guided_smooth(image_unit, mask) * 2.0 - 1.0) * mask
        return edge, gray, smooth
