"""CTSDG discriminator: a texture branch on the image and a structure branch on (edge, gray), both PatchGAN-style."""

from __future__ import annotations

import torch
from torch import nn

from .init import init_weights as _init_weights


def _sn(conv: nn.Conv2d, use_spectral_norm: bool) -> nn.Module:
    # torch.nn.utils.spectral_norm (not the parametrization API) keeps the reference's weight_orig/_u/_v keys
    return nn.utils.spectral_norm(conv) if use_spectral_norm else conv


class _PatchBranch(nn.Module):
    """Five 4x4 convolutions 64-128-256-512-1 (strides 2,2,2,1,1) with LeakyReLU(0.2), optional sigmoid."""

    def __init__(
        self, in_channels: int, use_sigmoid: bool = True, use_spectral_norm: bool = True, init_weights: bool = True
    ) -> None:
        super().__init__()
        self.use_sigmoid = use_sigmoid
        bias = not use_spectral_norm
        widths = (in_channels, 64, 128, 256, 512, 1)
        for i in range(5):
            conv = nn.Conv2d(widths[i], widths[i + 1], 4, stride=2 if i < 3 else 1, padding=1, bias=bias)
            layers = [_sn(conv, use_spectral_norm)] + ([nn.LeakyReLU(0.2, inplace=True)] if i < 4 else [])
            self.add_module(f"conv{i + 1}", nn.Sequential(*layers))
            if i == 0:
                self.features = self.conv1  # alias kept by the reference: its weights appear under both names
        if init_weights:
            self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pred = self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))
        return torch.sigmoid(pred) if self.use_sigmoid else pred


class TextureBranch(_PatchBranch):
    """Texture discriminator on RGB images."""

    def __init__(
        self, in_channels: int = 3, use_sigmoid: bool = True, use_spectral_norm: bool = True, init_weights: bool = True
    ) -> None:
        super().__init__(in_channels, use_sigmoid, use_spectral_norm, init_weights)


class StructureBranch(_PatchBranch):
    """Structure discriminator on cat(edge, gray)."""

    def __init__(
        self, in_channels: int = 4, use_sigmoid: bool = True, use_spectral_norm: bool = True, init_weights: bool = True
    ) -> None:
        super().__init__(in_channels, use_sigmoid, use_spectral_norm, init_weights)


class EdgeDetector(nn.Module):
    """Small residual CNN predicting a 1-channel edge map in [0, 1] from an RGB image (for generated images)."""

    def __init__(self, in_channels: int = 3, mid_channels: int = 16, out_channels: int = 1) -> None:
        super().__init__()
        self.projection = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 3, padding=1), nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True)
        )
        self.res_layer = nn.Sequential(
            nn.Conv2d(mid_channels, mid_channels, 3, padding=1),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, padding=1),
            nn.BatchNorm2d(mid_channels),
        )
        self.relu = nn.ReLU(inplace=True)
        self.out_layer = nn.Sequential(nn.Conv2d(mid_channels, out_channels, 1), nn.Sigmoid())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.projection(image)
        return self.out_layer(self.relu(self.res_layer(features) + features))


class Discriminator(nn.Module):
    """Texture + structure discriminator; ``forward`` returns ``(cat(texture_pred, structure_pred), fake_edge)``.

    The structure branch judges ``cat(real_edge, gray)`` when ``is_real`` and ``cat(detected edge, gray)`` otherwise.
    """

    def __init__(self, image_in_channels: int = 3, edge_in_channels: int = 2) -> None:
        super().__init__()
        self.texture_branch = TextureBranch(in_channels=image_in_channels)
        self.structure_branch = StructureBranch(in_channels=edge_in_channels)
        self.edge_detector = EdgeDetector()

    def forward(
        self, output: torch.Tensor, gray_image: torch.Tensor, real_edge: torch.Tensor, is_real: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        texture_pred = self.texture_branch(output)
        fake_edge = self.edge_detector(output)
        edge = real_edge if is_real else fake_edge
        structure_pred = self.structure_branch(torch.cat((edge, gray_image), dim=1))
        return torch.cat((texture_pred, structure_pred), dim=1), fake_edge
