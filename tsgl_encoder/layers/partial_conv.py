"""Partial convolutions (Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions").

A partial convolution only trusts windows that saw at least one known pixel. The mask rule is the
same for every output channel, so it is computed once, as a box filter over a 1-channel mask:

    window_sum = sum of the mask over the k x k window
    update     = clamp(window_sum, 0, 1)                       (the mask of the next layer)
    ratio      = k * k / window_sum   where update = 1, else 0 (the re-scaling of the output)

Two users: the structure stream (classic partial conv: input multiplied by the mask, no bias) and
the texture stream (MAT's ``Conv2dLayerPartial``: an equalized conv + bias + activation whose output
is multiplied by ``ratio``; its input is not re-masked).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .equalized import EqualizedConv2d
from .inference_cache import Conv2d


def mask_update(mask: Tensor, kernel_size: int, stride: int, padding: int) -> tuple[Tensor, Tensor]:
    """The partial-conv rule for a mask ``(B, C, H, W)``: returns ``(update, ratio)``, each ``(B, 1, H', W')``.

    A multi-channel mask (CTSDG's) counts every channel: ``ratio = C * k * k / window_sum``; for the usual
    1-channel mask this is ``k * k / window_sum``.
    """
    channels = mask.shape[1]
    if channels > 1:
        mask = mask.sum(dim=1, keepdim=True)
    ones = mask.new_ones(1, 1, kernel_size, kernel_size)
    window_sum = F.conv2d(mask, ones, stride=stride, padding=padding)  # (B, 1, H', W')
    update = window_sum.clamp(0.0, 1.0)
    # no epsilon (it would underflow in float16): windows without a known pixel get ratio 0
    ratio = torch.where(window_sum > 0, channels * kernel_size**2 / window_sum.clamp_min(1.0), 0.0)
    return update, ratio


class PartialConv2d(Conv2d):
    """Structure-stream partial convolution: ``conv(x * mask) * ratio``, no bias."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        update, ratio = mask_update(mask, self.kernel_size[0], self.stride[0], self.padding[0])
        return super().forward(x * mask) * ratio, update


class PartialEqualizedConv2d(nn.Module):
    """Texture-stream partial convolution (MAT's ``Conv2dLayerPartial``).

    ``activation(conv(x) + bias) * ratio``; without a mask it is the plain equalized convolution.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, activation: str = "lrelu", down: int = 1
    ) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(in_channels, out_channels, kernel_size, activation, down)
        self.kernel_size = kernel_size
        self.stride = down

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        x = self.conv(x)
        if mask is None:
            return x, None
        update, ratio = mask_update(mask, self.kernel_size, self.stride, self.kernel_size // 2)
        return x * ratio, update
