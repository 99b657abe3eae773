"""MAT's second stage: the conv U-Net refiner with StyleGAN2 decoder blocks (MAT, CVPR 2022, Sec. 3.4).

``enc``: a conv encoder from ``cat(mask - 0.5, composite, image * mask)`` down to 16x16 (one block per
resolution, ``EncConv_Block_{r}x{r}``). At 16x16 the style manipulation mixes the features with a style map
(random dropout(0.5) map, as upstream, even in eval mode); ``to_style`` turns them into the global style ``gs``.
``dec``: ``Dec_16x16`` .. ``Dec_{R}x{R}``, StyleGAN2 blocks (modulated convs with noise, skips from ``enc``,
``ToRGB`` accumulating the image), each conv styled by ``cat(w_i, gs)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .layers import Conv2dLayer, FullyConnectedLayer
from .modulated import StyleConv, ToRGB, UpStyleBlock

BOTTLENECK_LOG2 = 4  # the second stage's bottleneck is 16x16
_CHANNELS = {512: 64, 256: 128, 128: 256, 64: 512, 32: 512, 16: 512, 8: 512, 4: 512}


def nf(stage: int, channel_max: int = 512) -> int:
    """Channels at resolution ``2**stage``: MAT's table (512 up to 64x64, halving above), capped at ``channel_max``.

    Upstream ignores ``channel_max``; its default 512 caps nothing, smaller values give cheaper CPU models.
    """
    if 2**stage not in _CHANNELS:
        raise ValueError(f"MAT has no channel count for resolution {2**stage}; known: {sorted(_CHANNELS)}")
    return min(_CHANNELS[2**stage], channel_max)


class EncFromRGB(nn.Module):
    """1x1 conv from the 7-channel input, then a 3x3 conv, at full resolution."""

    def __init__(self, in_channels: int, out_channels: int, activation: str) -> None:
        super().__init__()
        self.conv0 = Conv2dLayer(in_channels, out_channels, kernel_size=1, activation=activation)
        self.conv1 = Conv2dLayer(out_channels, out_channels, kernel_size=3, activation=activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv1(self.conv0(x))


class ConvBlockDown(nn.Module):
    """Stride-2 (FIR-blurred) 3x3 conv, then a 3x3 conv."""

    def __init__(self, in_channels: int, out_channels: int, activation: str) -> None:
        super().__init__()
        self.conv0 = Conv2dLayer(in_channels, out_channels, kernel_size=3, activation=activation, down=2)
        self.conv1 = Conv2dLayer(out_channels, out_channels, kernel_size=3, activation=activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv1(self.conv0(x))


class Encoder(nn.Module):
    """``EncConv_Block_{R}x{R}`` .. ``EncConv_Block_16x16``; returns ``{log2(resolution): features}``."""

    def __init__(self, res_log2: int, img_channels: int, activation: str, channel_max: int = 512) -> None:
        super().__init__()
        self.resolution = [2**i for i in range(res_log2, BOTTLENECK_LOG2 - 1, -1)]
        for i in range(res_log2, BOTTLENECK_LOG2 - 1, -1):
            block = (EncFromRGB(img_channels * 2 + 1, nf(i, channel_max), activation) if i == res_log2
                     else ConvBlockDown(nf(i + 1, channel_max), nf(i, channel_max), activation))
            self.add_module(f"EncConv_Block_{2**i}x{2**i}", block)

    def forward(self, x: Tensor) -> dict[int, Tensor]:
        features = {}
        for res in self.resolution:
            x = getattr(self, f"EncConv_Block_{res}x{res}")(x)  # (B, nf, H * res / R, W * res / R)
            features[int(math.log2(res))] = x
        return features


class ToStyle(nn.Module):
    """Global style ``gs`` from the bottleneck: three stride-2 convs, average pool, FC."""

    def __init__(self, in_channels: int, out_channels: int, activation: str) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            *(Conv2dLayer(in_channels, in_channels, 3, activation=activation, down=2) for _ in range(3))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = FullyConnectedLayer(in_channels, out_channels, activation=activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.conv(x)).flatten(start_dim=1))  # (B, out_channels)


class DecBlockFirstV2(nn.Module):
    """``Dec_16x16``: conv, + encoder skip, StyleConv (``w_0``), ToRGB (``w_1``)."""

    def __init__(
        self, res: int, in_channels: int, out_channels: int, activation: str, style_dim: int, use_noise: bool,
        demodulate: bool, img_channels: int,
    ) -> None:
        super().__init__()
        self.res = res
        self.conv0 = Conv2dLayer(in_channels, in_channels, kernel_size=3, activation=activation)
        self.conv1 = StyleConv(in_channels, out_channels, style_dim, 2**res, use_noise=use_noise,
                               activation=activation, demodulate=demodulate)
        self.toRGB = ToRGB(out_channels, img_channels, style_dim, kernel_size=1, demodulate=False)

    def forward(
        self, x: Tensor, ws: Tensor, gs: Tensor, features: dict[int, Tensor], noise_mode: str = "random"
    ) -> tuple[Tensor, Tensor]:
        x = self.conv0(x) + features[self.res]
        x = self.conv1(x, _style(ws, 0, gs), noise_mode=noise_mode)
        return x, self.toRGB(x, _style(ws, 1, gs), skip=None)


class DecBlock(UpStyleBlock):
    """``Dec_{r}x{r}``: up-sampling StyleConv, + encoder skip, StyleConv, ToRGB; styles ``w_{2 log2 r - 9 ..}``."""

    def forward(
        self, x: Tensor, img: Tensor, ws: Tensor, gs: Tensor, features: dict[int, Tensor], noise_mode: str = "random"
    ) -> tuple[Tensor, Tensor]:
        first = self.res * 2 - 9
        x = self.conv0(x, _style(ws, first, gs), noise_mode=noise_mode)  # (B, C, 2H, 2W)
        x = self.conv1(x + features[self.res], _style(ws, first + 1, gs), noise_mode=noise_mode)
        return x, self.toRGB(x, _style(ws, first + 2, gs), skip=img)


class Decoder(nn.Module):
    """``Dec_16x16`` .. ``Dec_{R}x{R}``; returns the image at full resolution."""

    def __init__(
        self, res_log2: int, activation: str, style_dim: int, use_noise: bool, demodulate: bool, img_channels: int,
        channel_max: int = 512,
    ) -> None:
        super().__init__()
        low = BOTTLENECK_LOG2
        self.add_module(f"Dec_{2**low}x{2**low}", DecBlockFirstV2(
            low, nf(low, channel_max), nf(low, channel_max), activation, style_dim, use_noise, demodulate,
            img_channels))
        for res in range(low + 1, res_log2 + 1):
            self.add_module(f"Dec_{2**res}x{2**res}", DecBlock(
                res, nf(res - 1, channel_max), nf(res, channel_max), activation, style_dim, use_noise, demodulate,
                img_channels))
        self.res_log2 = res_log2

    def forward(
        self, x: Tensor, ws: Tensor, gs: Tensor, features: dict[int, Tensor], noise_mode: str = "random"
    ) -> Tensor:
        low = BOTTLENECK_LOG2
        x, img = getattr(self, f"Dec_{2**low}x{2**low}")(x, ws, gs, features, noise_mode=noise_mode)
        for res in range(low + 1, self.res_log2 + 1):
            x, img = getattr(self, f"Dec_{2**res}x{2**res}")(x, img, ws, gs, features, noise_mode=noise_mode)
        return img


def _style(ws: Tensor, index: int, gs: Tensor) -> Tensor:
    """Style code of layer ``index``: ``cat(w_index, gs)`` (upstream's ``get_style_code``)."""
    return torch.cat([ws[:, index], gs], dim=1)  # (B, w_dim + 2 * nf(2))
