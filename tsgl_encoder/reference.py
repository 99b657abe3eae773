"""The straightforward forms of the encoder's optimised paths: what each fast path must equal.

Each optimisation keeps the outputs (within 1e-5); these are the forms it replaced, written the plain
way: ``bias_act`` after an unfused conv / linear (the stride-2 blur on an explicitly padded copy),
SPADE with separate gamma / beta convs and an explicit ``1 +``, the global side with its two shared
convs apart, window attention as an explicit softmax with the -tau bias, the priors' box and max
filters as ``avg_pool2d`` / ``max_pool2d``, and the encoder computing in plain NCHW layout.

:data:`REFERENCES` lists them as ``(owner, attribute, straightforward value)``: the tests
(``tests/test_optimised_paths.py``) compare the library against them, and
``benchmarks/optimisations.py`` swaps them in one by one to time each optimisation. Nothing in the
library imports this module.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from . import priors
from .encoder import TSGLEncoder
from .guidance import SPADE, GlobalReconstruction
from .layers import EqualizedConv2d, EqualizedLinear, MaskAwareWindowAttention, bias_act


def reference_conv(self: EqualizedConv2d, x: Tensor) -> Tensor:
    weight = self.weight * self.weight_gain
    if self.down == 1:
        x = F.conv2d(x, weight, padding=self.padding)
    else:
        channels = x.shape[1]
        padded = F.pad(x, [self.padding + 1] * 4)
        x = F.conv2d(F.conv2d(padded, self.blur_kernel.expand(channels, 1, -1, -1), groups=channels), weight, stride=2)
    return bias_act(x, self.bias, self.activation, channel_dim=1)


def reference_linear(self: EqualizedLinear, x: Tensor) -> Tensor:
    return bias_act(F.linear(x, self.weight * self.weight_gain), self.bias, self.activation, channel_dim=-1)


def reference_spade(self: SPADE, x: Tensor, cond: Tensor) -> Tensor:
    if cond.shape[-2:] != x.shape[-2:]:
        cond = F.interpolate(cond, size=x.shape[-2:], mode="nearest")
    hidden = self.shared(cond)
    return self.norm(x) * (1 + self.to_gamma(hidden)) + self.to_beta(hidden)


def reference_global(self: GlobalReconstruction, texture: Tensor, structure: Tensor) -> Tensor:
    x = self.conv_in(F.leaky_relu(self.spade_in(texture, structure), 0.2))
    return self.conv_out(F.leaky_relu(self.spade_out(x, structure), 0.2))


def reference_attention(self: MaskAwareWindowAttention, tokens: Tensor, bias: Tensor | None) -> Tensor:
    normed = F.normalize(tokens, p=2.0, dim=-1)
    q, k, v = (rearrange(p(s), "b n (h d) -> b h n d", h=self.num_heads)
               for p, s in ((self.q, normed), (self.k, normed), (self.v, tokens)))
    logits = q @ k.transpose(-2, -1) * self.scale + (0 if bias is None else bias)
    return self.proj(rearrange(logits.softmax(-1) @ v, "b h n d -> b n (h d)"))


def reference_dilate3x3(x: Tensor, outside: float = 0.0) -> Tensor:
    return F.max_pool2d(F.pad(x, [1, 1, 1, 1], value=outside), 3, stride=1)


def reference_guided_smooth(image_unit: Tensor, mask: Tensor, radius: int = 4, eps: float = 1e-2) -> Tensor:
    def masked_mean(x: Tensor) -> Tensor:
        total = F.avg_pool2d(x * mask, 2 * radius + 1, stride=1, padding=radius)
        weight = F.avg_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)
        return total / weight.clamp_min(1e-6) * (weight > 1e-6)

    mean = masked_mean(image_unit)
    variance = (masked_mean(image_unit**2) - mean**2).clamp_min(0.0)
    a = variance / (variance + eps)
    return masked_mean(a) * image_unit + masked_mean(mean - a * mean)


#: ``(owner, attribute, straightforward value)``; setting ``owner.attribute`` to the value reverts that optimisation
REFERENCES: list[tuple[Any, str, Any]] = [
    (EqualizedConv2d, "forward", reference_conv), (EqualizedLinear, "forward", reference_linear),
    (SPADE, "forward", reference_spade), (GlobalReconstruction, "forward", reference_global),
    (MaskAwareWindowAttention, "forward", reference_attention),
    (priors, "dilate3x3", reference_dilate3x3), (priors, "guided_smooth", reference_guided_smooth),
    (TSGLEncoder, "memory_format", torch.contiguous_format),
]


def reference_key(owner: Any, attribute: str) -> str:
    """``"owner.attribute"`` (a module by its last name), as ``benchmarks/optimisations.py`` names the steps."""
    return f"{owner.__name__.rsplit('.', 1)[-1]}.{attribute}"


__all__ = [
    "REFERENCES",
    "reference_attention",
    "reference_conv",
    "reference_dilate3x3",
    "reference_global",
    "reference_guided_smooth",
    "reference_key",
    "reference_linear",
    "reference_spade",
]
