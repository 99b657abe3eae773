"""Texture stream: the masked RGB image, downsampled scale by scale.

Two block types (``TSGLConfig.texture_block``), as in the two official models:

* ``"window_attention"`` (TSGL_MEDFE): head = a 3x3 partial conv at full resolution (``T_0``), then a
  stride-2 partial conv (``x_1``); stages at 1/4 .. 1/32 = patch merging (stride-2 partial conv),
  ``depth`` :class:`WindowBlock` s (windows shifted on odd blocks), then a 3x3 partial conv with a
  residual from the merged tokens;
* ``"conv"`` (TSGL_Lama): head = a reflect-padded 7x7 conv + BN + ReLU at full resolution, then
  stride-2 3x3 conv + BN + ReLU for ``x_1`` and for every stage.

The stream is driven scale by scale by :class:`~tsgl_encoder.TSGLEncoder`, because every stage reads
the *reconstructed* map ``F_{k-1}`` of the guidance step, not its own previous output.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from .layers import ConvBNReLU, PartialEqualizedConv2d, WindowBlock

TEXTURE_BLOCKS = ("window_attention", "conv")


class TextureHead(nn.Module):
    """``T_0 = stem(input)`` at full resolution, ``x_1 = down(T_0)`` at 1/2."""

    def __init__(self, in_channels: int, dim: int, block: str = "window_attention", stem_kernel: int = 3) -> None:
        super().__init__()
        if block == "conv":
            self.stem = ConvBNReLU(in_channels, dim, stem_kernel)
            self.down = ConvBNReLU(dim, dim, 3, stride=2)
        else:
            self.stem = PartialEqualizedConv2d(in_channels, dim, stem_kernel)
            self.down = PartialEqualizedConv2d(dim, dim, down=2)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        head, mask = self.stem(x, mask)  # (B, C, H, W)
        x, mask = self.down(head, mask)  # (B, C, H/2, W/2)
        return head, x, mask


class TextureStage(nn.Module):
    """Patch merging -> window blocks -> partial conv + residual, at half the input resolution."""

    def __init__(
        self, dim: int, depth: int, num_heads: int, window_size: int, shift: bool, mlp_ratio: float,
        tau: float, mask_aware: bool,
    ) -> None:
        super().__init__()
        self.mask_aware = mask_aware
        self.merge = PartialEqualizedConv2d(dim, dim, down=2)
        self.blocks = nn.ModuleList(
            WindowBlock(dim, num_heads, window_size, window_size // 2 if shift and i % 2 else 0, mlp_ratio, tau)
            for i in range(depth)
        )
        self.conv = PartialEqualizedConv2d(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """x ``(B, C, H, W)`` -> ``(B, C, H/2, W/2)``; mask 1 = known (ignored unless mask-aware)."""
        x, mask = self.merge(x, mask if self.mask_aware else None)
        merged = x
        tokens = rearrange(x, "b c h w -> b h w c")
        token_mask = rearrange(mask, "b c h w -> b h w c") if mask is not None else None
        for block in self.blocks:
            tokens, token_mask = block(tokens, token_mask)
        x = rearrange(tokens, "b h w c -> b c h w")
        mask = rearrange(token_mask, "b h w c -> b c h w") if token_mask is not None else None
        if torch.compiler.is_exporting():  # an exported graph keeps every map NCHW (TSGLEncoder.working_format)
            x = x.clone(memory_format=torch.contiguous_format)  # canonical strides, also for the 1-channel mask
            mask = mask.clone(memory_format=torch.contiguous_format) if mask is not None else None
        x, mask = self.conv(x, mask)
        return x + merged, mask


class TextureStream(nn.Module):
    """The head and the stages (:class:`TextureStage` or stride-2 :class:`ConvBNReLU`)."""

    def __init__(
        self, in_channels: int, dim: int, depths: tuple[int, ...], num_heads: int, window_size: int,
        shift_windows: tuple[bool, ...], mask_aware_stages: tuple[bool, ...], mlp_ratio: float, tau: float,
        block: str = "window_attention", stem_kernel: int = 3,
    ) -> None:
        super().__init__()
        if block not in TEXTURE_BLOCKS:
            raise ValueError(f"texture_block must be one of {TEXTURE_BLOCKS}, got {block!r}")
        self.head = TextureHead(in_channels, dim, block, stem_kernel)
        if block == "conv":
            self.stages = nn.ModuleList(ConvBNReLU(dim, dim, 3, stride=2) for _ in depths)
        else:
            self.stages = nn.ModuleList(
                TextureStage(dim, depth, num_heads, window_size, shift, mlp_ratio, tau, mask_aware)
                for depth, shift, mask_aware in zip(depths, shift_windows, mask_aware_stages, strict=True)
            )
