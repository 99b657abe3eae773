"""Equalized-learning-rate layers (StyleGAN2 / MAT conventions, used by the official TSGL code).

Weights are stored with unit variance and scaled by ``1 / sqrt(fan_in)`` at run time; the leaky
ReLU (slope 0.2) is followed by a gain of ``sqrt(2)``; stride-2 convolutions first low-pass the
input with the separable FIR filter ``[1, 3, 3, 1]`` (normalised), as ``conv2d_resample`` does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .inference_cache import derived, tensors_of

ACTIVATIONS = ("linear", "lrelu")
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)


def bias_act(x: Tensor, bias: Tensor | None, activation: str, channel_dim: int) -> Tensor:
    """Add ``bias`` along ``channel_dim``, then apply ``activation`` with its StyleGAN gain."""
    if bias is not None:
        shape = [1] * x.ndim
        shape[channel_dim] = -1
        x = x + bias.reshape(shape)
    if activation == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
    return x


def folded_gain(activation: str) -> float:
    """The activation's gain, to be folded into weight and bias: ``lrelu(z) * g == lrelu(z * g)`` for ``g > 0``,
    so a layer computes ``lrelu(conv(x, w * g) + b * g)``: one pass over its output fewer than :func:`bias_act`."""
    return LRELU_GAIN if activation == "lrelu" else 1.0


def scaled_weight_and_bias(layer: EqualizedLinear | EqualizedConv2d, like: Tensor | None = None
                           ) -> tuple[Tensor, Tensor]:
    """The layer's run-time weight and bias, equalized-lr scale and activation gain folded in (cached for
    inference, 4-d weights in ``like``'s layout)."""
    gain = folded_gain(layer.activation)
    return derived(layer, "scaled", tensors_of(layer),
                   lambda: (layer.weight * (layer.weight_gain * gain), layer.bias * gain), like=like)


def _activate(x: Tensor, activation: str) -> Tensor:
    return F.leaky_relu(x, LRELU_SLOPE, inplace=True) if activation == "lrelu" else x


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


class EqualizedLinear(nn.Module):
    """Fully connected layer with run-time weight scaling (MAT's ``FullyConnectedLayer``)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear") -> None:
        super().__init__()
        _check_activation(activation)
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.activation = activation
        self.weight_gain = 1.0 / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return _activate(F.linear(x, *scaled_weight_and_bias(self)), self.activation)


class EqualizedConv2d(nn.Module):
    """Convolution with run-time weight scaling; ``down=2`` blurs with [1,3,3,1] before striding."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, activation: str = "linear", down: int = 1
    ) -> None:
        super().__init__()
        _check_activation(activation)
        if down not in (1, 2):
            raise ValueError(f"down must be 1 or 2, got {down!r}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.activation = activation
        self.down = down
        self.padding = kernel_size // 2
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)
        taps = torch.tensor(BLUR_TAPS)
        blur = torch.outer(taps, taps)
        self.register_buffer("blur_kernel", blur / blur.sum(), persistent=False)  # (4, 4)

    def _blur(self, x: Tensor, padding: int) -> Tensor:
        """The [1,3,3,1] low-pass, zero-padded by ``padding``: the convolution pads, no padded copy of ``x``."""
        channels = x.shape[1]
        kernel = self.blur_kernel.expand(channels, 1, -1, -1)
        return F.conv2d(x, kernel, padding=padding, groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        weight, bias = scaled_weight_and_bias(self, like=x)
        if self.down == 1:
            x = F.conv2d(x, weight, bias, padding=self.padding)
        else:
            # pad so that blur (4 taps) + stride-2 conv gives exactly H/2 (conv2d_resample's padding)
            x = self._blur(x, self.padding + 1)
            x = F.conv2d(x, weight, bias, stride=2)
        return _activate(x, self.activation)
