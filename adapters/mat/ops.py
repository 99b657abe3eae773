"""StyleGAN2-ADA resampling ops used by MAT, in plain PyTorch (no custom CUDA build).

* ``upfirdn2d``: pad, upsample by zero insertion, filter with a 2-D FIR kernel, downsample: the primitive of
  StyleGAN2's anti-aliased resampling. The kernel is ``outer([1, 3, 3, 1]) / 64`` (:func:`fir_kernel`).
* ``upsample2d``: x2 upsampling that keeps the signal magnitude (``gain = 4`` compensates the inserted zeros).
* ``upsample_conv2d``: StyleGAN2's ``conv2d_resample`` with ``up = 2``: a transposed convolution followed by the
  FIR low-pass, padded so that an ``H x W`` map becomes ``2H x 2W``.
* ``bias_act_gain``: the library's :func:`~tsgl_encoder.layers.bias_act` with StyleGAN2's extra ``gain``.

Down-sampling convolutions are the library's :class:`~tsgl_encoder.layers.EqualizedConv2d` (blur, then stride 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from tsgl_encoder.layers import bias_act
from tsgl_encoder.layers.equalized import BLUR_TAPS


def fir_kernel(taps: tuple[float, ...] = BLUR_TAPS) -> Tensor:
    """The normalised 2-D FIR kernel ``outer(taps, taps) / sum`` (upstream's ``setup_filter([1, 3, 3, 1])``)."""
    taps_1d = torch.tensor(taps, dtype=torch.float32)
    kernel = torch.outer(taps_1d, taps_1d)
    return kernel / kernel.sum()


def upfirdn2d(x: Tensor, kernel: Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0),
              gain: float = 1.0) -> Tensor:
    """Upsample (zero insertion), pad by ``pad = (before, after)`` on both axes, FIR-filter, keep every ``down``-th.

    Negative padding crops. The kernel is applied as a convolution (flipped), like upstream's ``flip_filter=False``.
    """
    batch, channels, height, width = x.shape
    if up > 1:
        x = F.pad(x[:, :, :, None, :, None], [0, up - 1, 0, 0, 0, up - 1])  # (B, C, H, up, W, up)
        x = x.reshape(batch, channels, height * up, width * up)
    before, after = pad
    x = F.pad(x, [before, after, before, after])
    weight = (kernel * gain).flip([0, 1]).to(x.dtype)
    x = F.conv2d(x, weight.expand(channels, 1, -1, -1), groups=channels)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: Tensor, kernel: Tensor, up: int = 2) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, up*H, up*W)``: zero insertion + FIR low-pass with gain ``up**2``."""
    taps = kernel.shape[-1]
    return upfirdn2d(x, kernel, up=up, pad=((taps + up - 1) // 2, (taps - up) // 2), gain=up**2)


def upsample_conv2d(x: Tensor, weight: Tensor, kernel: Tensor, groups: int = 1) -> Tensor:
    """x2 up-sampling convolution (``conv2d_resample(up=2)``): ``(B, Cin, H, W)`` -> ``(B, Cout, 2H, 2W)``.

    ``weight`` is ``(Cout, Cin / groups, k, k)`` with odd ``k``; the same-size padding ``k // 2`` is taken with
    respect to the upsampled map. Computed as a transposed convolution with the flipped kernel, then the FIR.
    """
    size, taps = weight.shape[-1], kernel.shape[-1]
    before = size // 2 + (taps + 1) // 2 - (size - 1)
    after = size // 2 + (taps - 2) // 2 - (size - 2)
    inner = max(min(-before, -after), 0)  # padding the transposed convolution can absorb
    weight = rearrange(weight, "(g o) i kh kw -> (g i) o kh kw", g=groups).flip([2, 3])
    x = F.conv_transpose2d(x, weight, stride=2, padding=inner, groups=groups)  # (B, Cout, 2H + k - 2, ...)
    return upfirdn2d(x, kernel, pad=(before + inner, after + inner), gain=4.0)


def bias_act_gain(x: Tensor, bias: Tensor | None, activation: str, gain: float = 1.0, channel_dim: int = 1) -> Tensor:
    """``activation(x + bias)`` with its StyleGAN gain (sqrt(2) for lrelu), times ``gain``."""
    x = bias_act(x, bias, activation, channel_dim=channel_dim)
    return x * gain if gain != 1 else x


def normalize_2nd_moment(x: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Scale each latent to unit root mean square (the mapping network's input normalisation)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()
