"""The official TSGL(MEDFE) structure decoder (``en_high_6/7``, ``de_high_7..1``, ``de_high_0``), an auxiliary head.

The official ``train/model.py`` continues the structure stream below its deepest map ``S_5``: two more
stride-2 partial convolutions (``en_high_6/7``, 1024 channels, BatchNorm, ReLU), then seven steps of x2
upsampling (bilinear for the map, nearest for the mask) and a partial conv + BatchNorm + LeakyReLU
(``de_high_7..1``: 1024, 1024, 1024, 512, 256, 128, 64 channels) and ``Feature2High`` (a residual block and a
1x1 conv to one channel with a sigmoid). Its output, an edge map at full resolution, takes an L1 loss
against the Canny edges (5x in the hole, 1x outside) during training only; ``test/model.py`` never calls it.
Module names are the official ones. At sizes other than 256 the upsampling steps go to ``H / 64 .. H``
(at 256 that is exactly x2 each).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from tsgl_encoder.layers import PartialConv2d


class PConvBNActiv(nn.Module):
    """Official ``PConvBNActiv`` (3x3; ``stride`` 2 for ``en_high_6/7``): partial conv -> BatchNorm -> act."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, leaky: bool) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, 3, stride=stride)
        self.bn = nn.BatchNorm2d(out_channels)
        self.activation = nn.LeakyReLU(negative_slope=0.2) if leaky else nn.ReLU()

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x, mask = self.conv(x, mask)
        return self.activation(self.bn(x)), mask


class Bottleneck(nn.Module):
    """Official ``Bottleneck``: ``relu(x + bn2(conv2(relu(bn1(conv1(x))))))``, 3x3 convs without bias."""

    def __init__(self, inplanes: int, planes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, inplanes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(x + self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))


class Feature2High(nn.Module):
    """Official ``Feature2High``: residual block, then 1x1 conv to one channel and a sigmoid."""

    def __init__(self, inplanes: int, planes: int) -> None:
        super().__init__()
        self.structure_resolver = Bottleneck(inplanes, planes)
        self.out_layer = nn.Sequential(nn.Conv2d(inplanes, 1, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.out_layer(self.structure_resolver(x))


class StructureHead(nn.Module):
    """``head(S_5, mask_5, size)`` -> the predicted edge map ``(B, 1, H, W)`` in [0, 1]; ``cnum`` 64 officially."""

    def __init__(self, cnum: int = 64) -> None:
        super().__init__()
        deep = 16 * cnum
        self.en_high_6 = PConvBNActiv(deep, deep, 2, leaky=False)
        self.en_high_7 = PConvBNActiv(deep, deep, 2, leaky=False)
        widths = (deep, deep, deep, deep, 8 * cnum, 4 * cnum, 2 * cnum, cnum)  # de_high_7 .. de_high_1
        for k in range(7, 0, -1):
            self.add_module(f"de_high_{k}", PConvBNActiv(widths[7 - k], widths[8 - k], 1, leaky=True))
        self.de_high_0 = Feature2High(cnum, cnum)

    def forward(self, structure: Tensor, mask: Tensor, size: tuple[int, int]) -> Tensor:
        x, mask = self.en_high_6(structure, mask)
        x, mask = self.en_high_7(x, mask)
        height, width = size
        for k in range(7, 0, -1):
            target = (height >> (k - 1), width >> (k - 1))
            x = F.interpolate(x, size=target, mode="bilinear")
            mask = F.interpolate(mask, size=target, mode="nearest")
            x, mask = getattr(self, f"de_high_{k}")(x, mask)
        return self.de_high_0(x)


__all__ = ["Bottleneck", "Feature2High", "PConvBNActiv", "StructureHead"]
