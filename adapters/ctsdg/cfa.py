"""Contextual Feature Aggregation (CFA): region affinity learning (RAL) followed by multi-scale feature aggregation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class RAL(nn.Module):
    """Region affinity learning: attention of each half-resolution foreground position over 3x3 foreground patches,
    used to paste the matching ``2*rate`` background patches (transposed convolution, stride ``rate``)."""

    def __init__(self, kernel_size: int = 3, stride: int = 1, rate: int = 2, softmax_scale: float = 10.0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.rate = rate
        self.softmax_scale = softmax_scale

    def forward(self, background: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
        batch, channels = background.shape[:2]
        foreground = F.interpolate(foreground, scale_factor=1.0 / self.rate, mode="bilinear", align_corners=True)
        fh, fw = foreground.shape[2:]
        pad = 0 if self.kernel_size == 1 else 1
        k_bg = 2 * self.rate
        # patches as (batch * patches, channels, k, k); padding of 1 before extraction, as in the reference
        bg = F.unfold(background, k_bg, padding=pad, stride=self.stride * self.rate)
        bg = bg.transpose(1, 2).reshape(-1, channels, k_bg, k_bg)
        fg = F.unfold(foreground, self.kernel_size, padding=pad, stride=self.stride)
        fg = fg.transpose(1, 2).reshape(-1, foreground.shape[1], self.kernel_size, self.kernel_size)
        norm = fg.pow(2).sum(dim=(1, 2, 3), keepdim=True).sqrt().clamp(min=1e-4)
        # grouped convolutions handle every sample against its own patches in one call
        score = F.conv2d(foreground.reshape(1, -1, fh, fw), fg / norm, padding=pad, groups=batch)
        score = score.view(batch, -1, fh, fw)
        attention = F.softmax(score * self.softmax_scale, dim=1).clamp(min=1e-8)
        out = F.conv_transpose2d(attention.reshape(1, -1, fh, fw), bg, stride=self.rate, padding=1, groups=batch)
        return (out / 4.0).view(background.shape)


class MSFA(nn.Module):
    """Multi-scale feature aggregation: dilated 3x3 branches mixed by a learned per-pixel softmax weight map."""

    def __init__(
        self, in_channels: int = 64, out_channels: int = 64, dilation_rate_list: Sequence[int] = (1, 2, 4, 8)
    ) -> None:
        super().__init__()
        self.dilation_rate_list = list(dilation_rate_list)
        for i, rate in enumerate(self.dilation_rate_list):
            branch = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, dilation=rate, padding=rate), nn.ReLU(inplace=True)
            )
            self.add_module(f"dilated_conv_{i}", branch)
        self.weight_calc = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, len(self.dilation_rate_list), 1),
            nn.ReLU(inplace=True),
            nn.Softmax(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.weight_calc(x)
        out = weights[:, 0:1] * self.dilated_conv_0(x)
        for i in range(1, len(self.dilation_rate_list)):
            out = out + weights[:, i : i + 1] * getattr(self, f"dilated_conv_{i}")(x)
        return out


class CFA(nn.Module):
    """Contextual Feature Aggregation = RAL(background, foreground) -> MSFA."""

    def __init__(
        self,
        kernel_size: int = 3,
        stride: int = 1,
        rate: int = 2,
        softmax_scale: float = 10.0,
        in_channels: int = 64,
        out_channels: int = 64,
        dilation_rate_list: Sequence[int] = (1, 2, 4, 8),
    ) -> None:
        super().__init__()
        self.ral = RAL(kernel_size=kernel_size, stride=stride, rate=rate, softmax_scale=softmax_scale)
        self.msfa = MSFA(in_channels=in_channels, out_channels=out_channels, dilation_rate_list=dilation_rate_list)

    def forward(self, background: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
        return self.msfa(self.ral(background, foreground))
