"""MAT's transformer stages: mask-aware window attention blocks between patch merging / up-sampling.

The token mixer is the library's :class:`~tsgl_encoder.layers.WindowBlock` (Multi-head Contextual Attention:
queries and keys from L2-normalised tokens, hole keys biased by -100, Swin shifted windows on odd blocks, a
window with any known token becomes known; then ``MLP(FC(concat(shortcut, attention)))`` without LayerNorm).
:class:`SwinTransformerBlock` only adds upstream's token layout ``(B, L, C)`` and its ``attn_mask`` buffer.

A stage (:class:`BasicLayer`, one of ``tran[0..4]``) is: optional patch merging (stride-2 partial conv) or patch
up-sampling (x2 conv), ``depth`` blocks, a 3x3 partial conv, and a residual from the stage input tokens.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from tsgl_encoder.layers import WindowBlock
from tsgl_encoder.layers.window_attention import shift_region_bias

from .layers import Conv2dLayerPartial

HOLE_BIAS = 100.0  # tau: attention logit bias of keys in the hole (upstream's -100)

Size = tuple[int, int]


# token2feature / feature2token use upstream's exact view ops rather than einops: the strides they produce decide
# the memory format of the following convolutions, hence the layout of the bottleneck tokens, hence how the
# random dropout map of the style manipulation is laid over them (``ones_like`` keeps strides). Same ops, same
# draws for the same seed (einops gives a batch-1 map other strides, and a different map).


def token2feature(x: Tensor, size: Size) -> Tensor:
    """Tokens ``(B, H*W, C)`` -> feature map ``(B, C, H, W)`` (a view)."""
    return x.permute(0, 2, 1).reshape(x.shape[0], x.shape[2], *size)


def feature2token(x: Tensor) -> Tensor:
    """Feature map ``(B, C, H, W)`` -> tokens ``(B, H*W, C)`` (a view for NCHW maps)."""
    return x.flatten(start_dim=2).transpose(1, 2)


class SwinTransformerBlock(WindowBlock):
    """Mask-aware window block on tokens ``(B, H*W, C)``; masks ``(B, H*W, 1)`` with 1 = known, or None.

    As upstream, a window at least as large as the stage's map shrinks to the map and is never shifted. The
    ``attn_mask`` buffer (Swin's shifted-window bias for ``input_resolution``) exists for checkpoint
    compatibility; like upstream, the bias used is computed from the actual map size at run time.
    """

    def __init__(
        self, dim: int, input_resolution: Size, num_heads: int, window_size: int = 7, shift_size: int = 0,
        mlp_ratio: float = 4.0,
    ) -> None:
        if min(input_resolution) <= window_size:
            window_size, shift_size = min(input_resolution), 0
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio, tau=HOLE_BIAS)
        self.input_resolution = tuple(input_resolution)
        attn_mask = None
        if shift_size:
            attn_mask = shift_region_bias(*input_resolution, window_size, shift_size, torch.device("cpu"))
        self.register_buffer("attn_mask", attn_mask)  # (num_windows, N, N) or None

    def forward(self, x: Tensor, x_size: Size, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:  # type: ignore[override]
        height, width = x_size
        x = rearrange(x, "b (h w) c -> b h w c", h=height, w=width)
        if mask is not None:
            mask = rearrange(mask, "b (h w) c -> b h w c", h=height, w=width)
        x, mask = super().forward(x, mask)  # (B, H, W, C), (B, H, W, 1) or None
        x = rearrange(x, "b h w c -> b (h w) c")
        return x, (rearrange(mask, "b h w c -> b (h w) c") if mask is not None else None)


class PatchMerging(nn.Module):
    """Stride-2 partial conv on the token map: ``(B, H*W, C)`` -> ``(B, H/2*W/2, C)``, mask updated."""

    def __init__(self, in_channels: int, out_channels: int, down: int = 2) -> None:
        super().__init__()
        self.conv = Conv2dLayerPartial(in_channels, out_channels, kernel_size=3, activation="lrelu", down=down)
        self.down = down

    def forward(self, x: Tensor, x_size: Size, mask: Tensor | None = None) -> tuple[Tensor, Size, Tensor | None]:
        x, mask = self.conv(token2feature(x, x_size), token2feature(mask, x_size) if mask is not None else None)
        x_size = (x_size[0] // self.down, x_size[1] // self.down)
        return feature2token(x), x_size, (feature2token(mask) if mask is not None else None)


class PatchUpsampling(nn.Module):
    """x2 up-sampling conv on the token map: ``(B, H*W, C)`` -> ``(B, 2H*2W, C)``; takes no mask."""

    def __init__(self, in_channels: int, out_channels: int, up: int = 2) -> None:
        super().__init__()
        self.conv = Conv2dLayerPartial(in_channels, out_channels, kernel_size=3, activation="lrelu", up=up)
        self.up = up

    def forward(self, x: Tensor, x_size: Size, mask: Tensor | None = None) -> tuple[Tensor, Size, Tensor | None]:
        x, mask = self.conv(token2feature(x, x_size), token2feature(mask, x_size) if mask is not None else None)
        x_size = (x_size[0] * self.up, x_size[1] * self.up)
        return feature2token(x), x_size, (feature2token(mask) if mask is not None else None)


class BasicLayer(nn.Module):
    """One transformer stage: resample -> ``depth`` blocks (shifted on odd ones) -> partial conv + residual."""

    def __init__(
        self, dim: int, input_resolution: Size, depth: int, num_heads: int, window_size: int,
        mlp_ratio: float = 2.0, downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.dim, self.input_resolution, self.depth = dim, tuple(input_resolution), depth
        self.downsample = downsample
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(dim, input_resolution, num_heads, window_size, window_size // 2 if i % 2 else 0,
                                 mlp_ratio)
            for i in range(depth)
        )
        self.conv = Conv2dLayerPartial(dim, dim, kernel_size=3, activation="lrelu")

    def forward(self, x: Tensor, x_size: Size, mask: Tensor | None = None) -> tuple[Tensor, Size, Tensor | None]:
        """x ``(B, L, C)`` tokens, mask ``(B, L, 1)`` or None -> same at the stage's resolution."""
        if self.downsample is not None:
            x, x_size, mask = self.downsample(x, x_size, mask)
        identity = x
        for block in self.blocks:
            x, mask = block(x, x_size, mask)
        x, mask = self.conv(token2feature(x, x_size), token2feature(mask, x_size) if mask is not None else None)
        x = feature2token(x) + identity
        return x, x_size, (feature2token(mask) if mask is not None else None)
