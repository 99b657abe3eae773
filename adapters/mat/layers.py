"""MAT's equalized layers with upstream's names, built on the library's layers (one implementation, two users).

* :class:`FullyConnectedLayer` = :class:`~tsgl_encoder.layers.EqualizedLinear` + StyleGAN2's learning-rate
  multiplier and bias initialisation (the mapping network uses ``lr_multiplier = 0.01``, style affines
  ``bias_init = 1``).
* :class:`Conv2dLayer` = :class:`~tsgl_encoder.layers.EqualizedConv2d` + x2 up-sampling, an optional bias, the
  ``gain`` argument of StyleGAN2 residual blocks and the ``resample_filter`` buffer that upstream checkpoints hold.
* :class:`Conv2dLayerPartial` = :class:`~tsgl_encoder.layers.PartialEqualizedConv2d` (MAT's partial convolution:
  ``activation(conv(x) + bias) * ratio`` and the mask update) around a :class:`Conv2dLayer`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from tsgl_encoder.layers import EqualizedConv2d, EqualizedLinear, PartialEqualizedConv2d, bias_act

from .ops import bias_act_gain, fir_kernel, upsample_conv2d


class FullyConnectedLayer(EqualizedLinear):
    """Equalized linear layer with StyleGAN2's ``lr_multiplier`` (weights and bias scaled at run time)."""

    def __init__(
        self, in_features: int, out_features: int, activation: str = "linear", lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__(in_features, out_features, activation)
        with torch.no_grad():
            self.weight.div_(lr_multiplier)
            self.bias.fill_(bias_init)
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.bias_gain if self.bias_gain != 1 else self.bias
        return bias_act(F.linear(x, self.weight * self.weight_gain), bias, self.activation, channel_dim=-1)


class Conv2dLayer(EqualizedConv2d):
    """StyleGAN2's ``Conv2dLayer``: equalized conv, FIR-filtered x2 up/down-sampling, bias, activation, gain."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, activation: str = "linear",
        up: int = 1, down: int = 1,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, activation, down)
        if up not in (1, 2):
            raise ValueError(f"up must be 1 or 2, got {up!r}")
        if up > 1 and (down > 1 or kernel_size % 2 == 0):
            raise ValueError(f"up=2 needs down=1 and an odd kernel_size, got down={down}, kernel_size={kernel_size}")
        if not bias:  # upstream has no bias entry; a zero, non-persistent buffer keeps the library's forward valid
            del self.bias
            self.register_buffer("bias", torch.zeros(out_channels), persistent=False)
        self.up = up
        self.register_buffer("resample_filter", fir_kernel())  # (4, 4); persistent, as in upstream checkpoints

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        if self.up == 1:
            x = super().forward(x)  # (B, Cout, H / down, W / down), bias and activation applied
            return x * gain if gain != 1 else x
        x = upsample_conv2d(x, self.weight * self.weight_gain, self.resample_filter)  # (B, Cout, 2H, 2W)
        return bias_act_gain(x, self.bias, self.activation, gain)


class Conv2dLayerPartial(PartialEqualizedConv2d):
    """MAT's partial convolution; returns ``(features, updated mask)`` (the mask is None when none is given)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, activation: str = "linear", up: int = 1,
        down: int = 1,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, activation, down)
        self.conv = Conv2dLayer(in_channels, out_channels, kernel_size, activation=activation, up=up, down=down)
        self.up = up

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if mask is not None and self.up > 1:
            raise ValueError("mask must be None for an up-sampling Conv2dLayerPartial (upstream has no mask rule)")
        return super().forward(x, mask)
