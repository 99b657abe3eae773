"""LaMa's discriminator: pix2pixHD's ``NLayerDiscriminator`` (a PatchGAN), which LaMa trains with
(``configs/training/discriminator/pix2pixhd_nlayer.yaml``: ``ndf`` 64, 4 layers, BatchNorm). Module names
``layers.i`` stand for upstream's ``model{i}``."""

from __future__ import annotations

from torch import Tensor, nn


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``forward(x) -> (logits (B, 1, h, w), [features])``."""

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3, max_width: int = 512) -> None:
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(in_channels, width, 4, 2, 2), nn.LeakyReLU(0.2, True))]
        channels = width
        for index in range(1, n_layers + 1):
            out = min(channels * 2, max_width)
            stride = 2 if index < n_layers else 1
            layers.append(nn.Sequential(nn.Conv2d(channels, out, 4, stride, 2), nn.BatchNorm2d(out),
                                        nn.LeakyReLU(0.2, True)))
            channels = out
        layers.append(nn.Sequential(nn.Conv2d(channels, 1, 4, 1, 2)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return x, features[:-1]
