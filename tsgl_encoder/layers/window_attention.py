"""Mask-aware window attention: the texture stream's token mixer (the paper's MCA; MAT's design).

Tokens are split into ``window x window`` windows (shifted by ``window // 2`` on odd blocks, as in
Swin). Queries and keys come from L2-normalised tokens, values from the raw tokens; logits are scaled
by ``head_dim ** -0.5`` and every key that lies in the hole gets ``-tau`` (tau = 100), so known
pixels dominate the softmax whenever a window has any. After a block, a window with at least one
known token becomes known (the mask update). Maps that do not tile into windows are padded inside
the block and the padded tokens are never attended to.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .equalized import EqualizedLinear

SHIFT_REGION_BIAS = -100.0  # Swin's bias between tokens that a cyclic shift brought together


def window_partition(x: Tensor, window: int) -> Tensor:
    """``(B, H, W, C)`` -> ``(B * num_windows, window * window, C)``."""
    if torch.compiler.is_exporting():
        batch, height, width, channels = x.shape
        rows, cols = height // window, width // window
        x = x.reshape(batch, rows, window, cols, window, channels).permute(0, 1, 3, 2, 4, 5)
        return _packed(x).reshape(batch * rows * cols, window * window, channels)
    return rearrange(x, "b (nh wh) (nw ww) c -> (b nh nw) (wh ww) c", wh=window, ww=window)


def window_merge(windows: Tensor, window: int, height: int, width: int, batch: int | None = None) -> Tensor:
    """Inverse of :func:`window_partition`: ``(B * num_windows, window * window, C)`` -> ``(B, H, W, C)``
    (``batch``: ``B``, inferred when None)."""
    rows, cols = height // window, width // window
    if torch.compiler.is_exporting():
        channels = windows.shape[-1]
        batch = windows.shape[0] // (rows * cols) if batch is None else batch
        x = windows.reshape(batch, rows, cols, window, window, channels).permute(0, 1, 3, 2, 4, 5)
        return _packed(x).reshape(batch, height, width, channels)
    return rearrange(windows, "(b nh nw) (wh ww) c -> b (nh wh) (nw ww) c", nh=rows, nw=cols, wh=window, ww=window)


def _packed(x: Tensor) -> Tensor:
    """A contiguous copy. In an exported graph with symbolic sizes, einops' reshape after a permute would decide
    between a view and a copy by whether a window count is 1, a guard that fixes the size; the copy decides nothing."""
    return x.clone(memory_format=torch.contiguous_format)


def shift_region_bias(height: int, width: int, window: int, shift: int, device: torch.device) -> Tensor:
    """Swin's SW-MSA bias ``(num_windows, N, N)``: 0 within a region, ``SHIFT_REGION_BIAS`` across."""

    def region_ids(size: int) -> Tensor:
        coords = torch.arange(size, device=device)
        return (coords >= size - window).long() + (coords >= size - shift).long()  # 0, 1 or 2

    regions = region_ids(height)[:, None] * 3 + region_ids(width)[None, :]  # (H, W)
    regions = window_partition(regions[None, :, :, None], window)[..., 0]  # (num_windows, N)
    different = regions[:, :, None] != regions[:, None, :]
    return different.float() * SHIFT_REGION_BIAS


class MaskAwareWindowAttention(nn.Module):
    """Multi-head attention inside windows with the hole bias ``-tau`` on invalid keys (Eq. of MCA)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = EqualizedLinear(dim, dim)
        self.k = EqualizedLinear(dim, dim)
        self.v = EqualizedLinear(dim, dim)
        self.proj = EqualizedLinear(dim, dim)

    def forward(self, tokens: Tensor, bias: Tensor | None) -> Tensor:
        """tokens ``(B', N, C)``; bias additive, broadcastable to ``(B', heads, N, N)``."""
        # half precision normalises in float32: F.normalize's eps (1e-12) is 0 in float16, and all-zero hole
        # tokens would give 0 / 0
        wide = tokens if tokens.dtype in (torch.float32, torch.float64) else tokens.float()
        normed = F.normalize(wide, p=2.0, dim=-1).to(tokens.dtype)
        q, k, v = (
            rearrange(proj(src), "b n (h d) -> b h n d", h=self.num_heads)
            for proj, src in ((self.q, normed), (self.k, normed), (self.v, tokens))
        )
        if bias is not None:
            bias = bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)  # (B', h, N, d)
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class Mlp(nn.Module):
    """Two equalized linear layers, the first with leaky ReLU (MLP ratio 2 in TSGL)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = EqualizedLinear(dim, hidden, activation="lrelu")
        self.fc2 = EqualizedLinear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.fc1(x))


class WindowBlock(nn.Module):
    """One transformer block without LayerNorm: ``MLP(FC(concat(shortcut, attention)))`` + mask update."""

    def __init__(
        self, dim: int, num_heads: int, window_size: int, shift_size: int, mlp_ratio: float, tau: float
    ) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f"shift_size must be in [0, window_size={window_size}), got {shift_size}")
        self.window_size = window_size
        self.shift_size = shift_size
        self.tau = tau
        self.attn = MaskAwareWindowAttention(dim, num_heads)
        self.fuse = EqualizedLinear(2 * dim, dim, activation="lrelu")
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, hole_mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """x ``(B, H, W, C)`` token map; hole_mask ``(B, H, W, 1)`` with 1 = known, or None."""
        height, width = x.shape[1:3]
        window, shift = self.window_size, self.shift_size
        pad_h, pad_w = -height % window, -width % window
        valid = hole_mask
        exporting = torch.compiler.is_exporting()  # sizes are symbols: pad always (by 0 where the map tiles)
        if exporting or pad_h or pad_w:
            x = F.pad(x, [0, 0, 0, pad_w, 0, pad_h])
            if valid is None:
                valid = x.new_ones(x.shape[0], height, width, 1)
            valid = F.pad(valid, [0, 0, 0, pad_w, 0, pad_h])  # padded tokens are never valid keys
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            valid = torch.roll(valid, shifts=(-shift, -shift), dims=(1, 2)) if valid is not None else None

        windows = window_partition(x, window)  # (B * nW, N, C)
        bias, valid_windows = None, None
        if shift:
            region = shift_region_bias(x.shape[1], x.shape[2], window, shift, x.device)  # (nW, N, N)
            bias = region.repeat(x.shape[0], 1, 1)[:, None]  # (B * nW, 1, N, N)
        if valid is not None:
            valid_windows = window_partition(valid, window)  # (B * nW, N, 1)
            key_bias = (1.0 - valid_windows.transpose(1, 2))[:, None] * -self.tau  # (B * nW, 1, 1, N)
            bias = key_bias if bias is None else bias + key_bias
        attended = self.attn(windows, bias)  # (B * nW, N, C)
        out = self.mlp(self.fuse(torch.cat([windows, attended], dim=-1)))

        out = window_merge(out, window, x.shape[1], x.shape[2], x.shape[0])  # (B, Hp, Wp, C)
        if shift:
            out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
        out = crop(out, height, width)
        if hole_mask is None:
            return out, None
        # a window with any known token becomes known
        window_known = valid_windows.amax(dim=1, keepdim=True).expand_as(valid_windows)  # (B * nW, N, 1)
        new_mask = window_merge(window_known, window, x.shape[1], x.shape[2], x.shape[0])
        if shift:
            new_mask = torch.roll(new_mask, shifts=(shift, shift), dims=(1, 2))
        return out, crop(new_mask, height, width)


def crop(x: Tensor, height: int, width: int) -> Tensor:
    """``x[:, :height, :width]`` of a ``(B, H', W', C)`` map; a negative pad when exporting (a slice of symbolic
    sizes adds contiguity guards that fix them)."""
    if torch.compiler.is_exporting():
        return F.pad(x, [0, 0, 0, width - x.shape[2], 0, height - x.shape[1]])
    return x[:, :height, :width]
