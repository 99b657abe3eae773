"""The feature pyramid and the cross-layer balance fusion.

``f_k = ReLU(conv1x1(F_k))`` projects each reconstructed texture map to the pyramid width of its
level (official ``en_fusion_1..5``). The **cross-layer balance** fuses every level into one more,
deeper level: all ``f_k`` are resized bilinearly to the coarsest one, concatenated, and a 3x3
stride-2 conv + ReLU gives ``f_{K+1}`` (official ``en_fusion_6``). The paper does not publish the
exact form of its balance module; this is the official code's. The no-balance ablation
(``TSGLConfig(cross_layer_balance=False)``) builds the same conv over ``f_K`` alone, so the deepest
level no longer sees the finer ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers.inference_cache import Conv2d


class PyramidProjection(nn.Module):
    """``f_k = ReLU(conv1x1(F_k))``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv(x))


class CrossLayerBalance(nn.Module):
    """``f_{K+1} = ReLU(conv3x3/2(concat(resize(f_1), .., resize(f_{K-1}), f_K)))``."""

    def __init__(self, level_channels: tuple[int, ...], out_channels: int, cross_layer: bool = True) -> None:
        super().__init__()
        self.inputs = len(level_channels) if cross_layer else 1  # the last ``inputs`` levels are fused
        self.conv = Conv2d(sum(level_channels[-self.inputs:]), out_channels, 3, stride=2, padding=1)

    def forward(self, levels: list[Tensor]) -> Tensor:
        levels = levels[-self.inputs:]
        size = levels[-1].shape[-2:]
        resized = [F.interpolate(f, size=size, mode="bilinear", align_corners=True) for f in levels[:-1]]
        return F.relu(self.conv(torch.cat([*resized, levels[-1]], dim=1)))
