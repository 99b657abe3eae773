"""Plain ``Conv -> BatchNorm -> ReLU`` with reflect padding: the layer of the conv-only TSGL variant.

The official 512x512 TSGL(LaMa) model builds both streams from LaMa's ``FFC_BN_ACT`` with the
global ratio 0, which is exactly this (no bias, reflect padding).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .inference_cache import Conv2d


class ConvBNReLU(nn.Module):
    """``ReLU(BN(conv(x)))``, reflect padding ``kernel // 2``; the mask is only carried along."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False,
                              padding_mode="reflect")
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)
        self.stride = stride

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Returns the features and the mask at the new resolution (known if any pixel of a cell is known)."""
        if mask is not None and self.stride > 1:
            mask = F.max_pool2d(mask, self.stride)
        return self.act(self.norm(self.conv(x))), mask
