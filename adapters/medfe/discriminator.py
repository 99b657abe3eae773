"""MEDFE's discriminators (upstream ``models/Discriminator.py`` ``NLayerDiscriminator``, built by ``define_D``).

MEDFE trains against two of them with the relativistic LSGAN loss (weight 0.2): ``netD`` judges the whole
output, ``netF`` a random 64x64 crop (the same crop of the output and of the ground truth; upstream draws its
corner in [0, 191] at 256x256). Each is a PatchGAN of 4x4 stride-2 spectral-normalised convs: ``ndf``, 2, 4,
8 x ``ndf`` channels with LeakyReLU(0.2), then one conv to a logit map, no normalisation layer (upstream's
``norm`` only decides the conv biases: with ``instance``, its option file's, every conv has one). Parameter
names follow upstream (``model.i.weight_orig`` / ``weight_u`` / ``weight_v`` / ``bias``).
"""

from __future__ import annotations

import itertools

from torch import Tensor, nn


class NLayerDiscriminator(nn.Module):
    """Upstream ``NLayerDiscriminator(input_nc, ndf, n_layers)`` with ``norm: instance`` (biases on)."""

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        widths = [input_nc] + [ndf * min(2**n, 8) for n in range(n_layers + 1)]
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.utils.spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]
        layers.append(nn.utils.spectral_norm(nn.Conv2d(widths[-1], 1, 4, 2, 1)))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class MEDFEDiscriminator(nn.Module):
    """``netD`` (global) and ``netF`` (local, 64x64 crops): ``model(image, crop)`` -> ``(global, local)`` logits."""

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self.netD = NLayerDiscriminator(input_nc, ndf, n_layers)
        self.netF = NLayerDiscriminator(input_nc, ndf, n_layers)

    def forward(self, image: Tensor, crop: Tensor) -> tuple[Tensor, Tensor]:
        return self.netD(image), self.netF(crop)


__all__ = ["MEDFEDiscriminator", "NLayerDiscriminator"]
