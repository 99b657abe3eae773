"""Partial convolution (Liu et al. 2018) and the PConv-BatchNorm-Activation block of CTSDG's encoders/decoders."""

from __future__ import annotations

import torch
from torch import nn

from tsgl_encoder.layers import mask_update

_SAMPLES = {"down-7": (7, 2, 3), "down-5": (5, 2, 2), "down-3": (3, 2, 1)}


class PartialConv2d(nn.Conv2d):
    """Multi-channel partial convolution: convolve only known pixels (mask 1), renormalise by window coverage.

    Returns the output and the updated mask (1 wherever the window saw any known pixel), with as many mask channels
    as output channels. The mask-update kernel is not a parameter, so it is not part of the state_dict.
    """

    def forward(self, input: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        update, ratio = mask_update(mask, self.kernel_size[0], self.stride[0], self.padding[0])  # (B, 1, h, w)
        update_mask = update.expand(-1, self.out_channels, -1, -1)
        raw = super().forward(input * mask)
        if self.bias is None:
            return raw * ratio, update_mask
        bias = self.bias.view(1, -1, 1, 1)
        return ((raw - bias) * ratio + bias) * update, update_mask


class PConvBNActiv(nn.Module):
    """PConv -> BatchNorm (optional) -> ReLU / LeakyReLU(0.2); ``sample``: ``down-7|5|3`` or same-size 3x3."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bn: bool = True,
        sample: str = "none-3",
        activ: str = "relu",
        bias: bool = False,
    ) -> None:
        super().__init__()
        kernel, stride, padding = _SAMPLES.get(sample, (3, 1, 1))
        self.conv = PartialConv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)
        if bn:
            self.bn = nn.BatchNorm2d(out_channels)
        if activ == "relu":
            self.activation = nn.ReLU()
        elif activ == "leaky":
            self.activation = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = self.conv(images, masks)
        if hasattr(self, "bn"):
            images = self.bn(images)
        if hasattr(self, "activation"):
            images = self.activation(images)
        return images, masks
