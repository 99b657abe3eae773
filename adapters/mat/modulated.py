"""Style-modulated convolutions (StyleGAN2, Karras et al. 2020), as MAT's decoders use them.

``ModulatedConv2d`` scales the input channels of the kernel by a per-sample style ``s = affine(style)`` and, with
demodulation, renormalises each output filter to unit norm: ``w'_ijk = s_i w_ijk / sqrt(sum_ik (s_i w_ijk)^2)``.
One grouped convolution runs all samples at once. ``StyleConv`` adds per-pixel noise, bias and leaky ReLU;
``ToRGB`` is the 1x1, non-demodulated output layer that accumulates the up-sampled image of the previous level.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .layers import FullyConnectedLayer
from .ops import bias_act_gain, fir_kernel, upsample2d, upsample_conv2d

NOISE_MODES = ("random", "const", "none")


class ModulatedConv2d(nn.Module):
    """Weight (de)modulation by a style code; ``up = 2`` for the FIR-filtered up-sampling convolution."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True,
        up: int = 1,
    ) -> None:
        super().__init__()
        if up not in (1, 2):
            raise ValueError(f"up must be 1 or 2, got {up!r}")
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("resample_filter", fir_kernel())  # (4, 4)
        self.affine = FullyConnectedLayer(style_dim, in_channels, bias_init=1.0)
        self.demodulate = demodulate
        self.up = up
        self.padding = kernel_size // 2
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """x ``(B, Cin, H, W)``, style ``(B, style_dim)`` -> ``(B, Cout, up*H, up*W)``."""
        batch = x.shape[0]
        scales = self.affine(style)[:, None, :, None, None]  # (B, 1, Cin, 1, 1)
        weight = self.weight * self.weight_gain * scales  # (B, Cout, Cin, k, k)
        if self.demodulate:
            weight = weight * (weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        weight = rearrange(weight, "b o i kh kw -> (b o) i kh kw")
        x = rearrange(x, "b i h w -> 1 (b i) h w")  # one grouped convolution for the whole batch
        if self.up == 1:
            x = F.conv2d(x, weight, padding=self.padding, groups=batch)
        else:
            x = upsample_conv2d(x, weight, self.resample_filter, groups=batch)
        return rearrange(x, "1 (b o) h w -> b o h w", b=batch)


class StyleConv(nn.Module):
    """Modulated conv + noise injection (``noise_mode``: 'random', 'const' or 'none') + bias + leaky ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, style_dim: int, resolution: int, kernel_size: int = 3,
        up: int = 1, use_noise: bool = True, activation: str = "lrelu", demodulate: bool = True,
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size, style_dim, demodulate, up)
        self.use_noise = use_noise
        self.resolution = resolution
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.activation = activation

    def forward(self, x: Tensor, style: Tensor, noise_mode: str = "random") -> Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        x = self.conv(x, style)  # (B, Cout, H', W')
        if self.use_noise and noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return bias_act_gain(x, self.bias, self.activation)


class ToRGB(nn.Module):
    """1x1 modulated conv to image channels (no demodulation); adds the x2 up-sampled ``skip`` image."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, kernel_size: int = 1,
                 demodulate: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size, style_dim, demodulate)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("resample_filter", fir_kernel())  # (4, 4)

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        out = bias_act_gain(self.conv(x, style), self.bias, "linear")  # (B, img_channels, H, W)
        if skip is None:
            return out
        if skip.shape != out.shape:
            skip = upsample2d(skip, self.resample_filter)
        return out + skip


class UpStyleBlock(nn.Module):
    """The layers of a style-modulated decoder block: up-sampling ``conv0``, ``conv1``, ``toRGB`` (1x1, not
    demodulated). Both stages' decoders are built from it (``DecStyleBlock``, ``DecBlock``); they differ in
    how they feed styles and skips."""

    def __init__(
        self, res: int, in_channels: int, out_channels: int, activation: str, style_dim: int, use_noise: bool,
        demodulate: bool, img_channels: int,
    ) -> None:
        super().__init__()
        self.res = res
        self.conv0 = StyleConv(in_channels, out_channels, style_dim, 2**res, up=2, use_noise=use_noise,
                               activation=activation, demodulate=demodulate)
        self.conv1 = StyleConv(out_channels, out_channels, style_dim, 2**res, use_noise=use_noise,
                               activation=activation, demodulate=demodulate)
        self.toRGB = ToRGB(out_channels, img_channels, style_dim, kernel_size=1, demodulate=False)
