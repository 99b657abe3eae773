"""Projection functions of CTSDG: decoder features -> auxiliary image (texture) / edge (structure) predictions."""

from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    """Residual block 64 -> 16 -> 64 (3x3 convs with BatchNorm) used as the feature resolver of both projections."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, inplanes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class Feature2Structure(nn.Module):
    """Structure projection: structure-decoder features -> 1-channel edge map in [0, 1] (sigmoid)."""

    def __init__(self, inplanes: int = 64, planes: int = 16) -> None:
        super().__init__()
        self.structure_resolver = Bottleneck(inplanes, planes)
        self.out_layer = nn.Sequential(nn.Conv2d(inplanes, 1, 1), nn.Sigmoid())

    def forward(self, structure_feature: torch.Tensor) -> torch.Tensor:
        return self.out_layer(self.structure_resolver(structure_feature))


class Feature2Texture(nn.Module):
    """Texture projection: texture-decoder features -> 3-channel image in [-1, 1] (tanh)."""

    def __init__(self, inplanes: int = 64, planes: int = 16) -> None:
        super().__init__()
        self.texture_resolver = Bottleneck(inplanes, planes)
        self.out_layer = nn.Sequential(nn.Conv2d(inplanes, 3, 1), nn.Tanh())

    def forward(self, texture_feature: torch.Tensor) -> torch.Tensor:
        return self.out_layer(self.texture_resolver(texture_feature))
