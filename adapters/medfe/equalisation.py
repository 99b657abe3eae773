"""MEDFE's feature equalisation (``BASE`` in upstream's ``PCconv.py`` and the official TSGL ``pcconv_cross.py``).

Liu et al., "Rethinking Image Inpainting via a Mutual Encoder-Decoder with Feature Equalizations" (ECCV 2020):
the fused texture + structure map at 1/8 (512 channels at 256x256) is re-weighted channel-wise by a
squeeze-and-excitation layer, then equalised spatially by two branches whose outputs are concatenated and
fused by a 1x1 conv + InstanceNorm + LeakyReLU:

* **Gaussian branch**: every position is the Gaussian-weighted (sigma 1.5 grid cells) mean of the whole map,
  the weights normalised over the grid (upstream ``util.gussin``, a fixed 1024 x 32 x 32 table);
* **affinity branch**: a 3x3 neighbourhood attention; the affinity of position ``p`` with its neighbour ``k``
  is the channel mean of ``sigmoid(x_p) * sigmoid(x_{p+k})``, normalised by a softmax, and the output is the
  affinity-weighted sum of the raw neighbours (zero padding).

Both branches write their result as a ``(B, positions, channels)`` tensor and reinterpret its memory as
``(B, channels, H, W)`` with ``.view``: channels and positions are scrambled. Upstream and the official TSGL
code both do this and their weights were trained on it, so it is reproduced (:func:`raw_view`).

Differences between the two codes, kept as the option ``softmax_over``:

* MEDFE normalises each position's affinities over its **9 neighbours** (``"neighbours"``);
* the official TSGL(MEDFE) code batches the step and normalises over the **positions** (dim 1 of
  ``(B, H*W, 9)``; ``"positions"``).

The upstream Gaussian step materialises a ``(B, H*W, C, H, W)`` tensor (2 GiB per 256x256 image). The
Gaussian is separable and its normalisation factors per axis, so the same numbers come from two small
matrix products over the grid (``rows @ x @ cols^T``) without it. Any grid size works (the input size / 8).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

SOFTMAX_AXES = ("positions", "neighbours")  # the official TSGL(MEDFE) code's, MEDFE's


def gaussian_taps(size: int, sigma: float, dtype: torch.dtype, device: torch.device | None = None) -> Tensor:
    """``(size, size)``: row ``i`` holds ``exp(-(x - i)^2 / (2 sigma^2))`` over ``x``, normalised to sum 1.

    The outer product of the row and column tables is upstream's ``gussin`` table (normalised over the grid),
    computed in float64 like upstream's and then cast.
    """
    coords = torch.arange(size, dtype=torch.float64, device=device)
    taps = torch.exp(-((coords[None, :] - coords[:, None]) ** 2) / (2.0 * sigma * sigma))
    return (taps / taps.sum(dim=1, keepdim=True)).to(dtype)


def raw_view(x: Tensor) -> Tensor:
    """Upstream's scramble: a map computed as ``(B, H*W, C)`` and read back with ``.view(B, C, H, W)``.

    ``x`` is the unscrambled ``(B, C, H, W)`` result; the return value is what upstream's ``.view`` yields.
    """
    batch, channels, height, width = x.shape
    return rearrange(x, "b c h w -> b (h w) c").reshape(batch, channels, height, width)


class SELayer(nn.Module):
    """Squeeze-and-excitation (upstream ``SELayer``): ``x * sigmoid(fc(avgpool(x)))``."""

    def __init__(self, channel: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Conv2d(channel, channel // reduction, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(channel // reduction, channel, kernel_size=1), nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


class BASE(nn.Module):
    """The feature equalisation (upstream ``BASE``): SE, then cat(Gaussian branch, affinity branch) -> 1x1 fuse.

    ``inner_nc`` channels in and out (512 upstream); ``softmax_over`` as in the module docstring. Parameter
    names follow upstream (``model.0`` the SE layer, ``down`` the fuse); the Gaussian table is not a parameter.
    """

    def __init__(self, inner_nc: int = 512, softmax_over: str = "positions", sigma: float = 1.5) -> None:
        super().__init__()
        if softmax_over not in SOFTMAX_AXES:
            raise ValueError(f"softmax_over must be one of {SOFTMAX_AXES}, got {softmax_over!r}")
        self.softmax_over = softmax_over
        self.sigma = sigma
        self.model = nn.Sequential(SELayer(inner_nc, 16))
        self.down = nn.Sequential(nn.Conv2d(2 * inner_nc, inner_nc, 1, bias=False), nn.InstanceNorm2d(inner_nc),
                                  nn.LeakyReLU(negative_slope=0.2))

    def gaussian(self, x: Tensor) -> Tensor:
        """The Gaussian branch, unscrambled: ``rows @ x @ cols^T`` per channel (upstream's 5-D product)."""
        rows = gaussian_taps(x.shape[-2], self.sigma, x.dtype, x.device)
        cols = gaussian_taps(x.shape[-1], self.sigma, x.dtype, x.device)
        return rows @ x @ cols.transpose(0, 1)

    def affinity(self, x: Tensor, softmax_over: str) -> Tensor:
        """The 3x3 affinity branch, unscrambled ``(B, C, H, W)``."""
        height, width = x.shape[-2:]
        gate = torch.sigmoid(x)
        padded_gate, padded = F.pad(gate, (1, 1, 1, 1)), F.pad(x, (1, 1, 1, 1))
        shifts = [(dy, dx) for dy in range(3) for dx in range(3)]  # upstream's unfold order (kh, kw)
        logits = torch.stack([(gate * padded_gate[..., dy:dy + height, dx:dx + width]).mean(dim=1)
                              for dy, dx in shifts], dim=1)  # (B, 9, H, W)
        if softmax_over == "positions":
            weights = logits.flatten(2).softmax(dim=2).view_as(logits)
        else:
            weights = logits.softmax(dim=1)
        out = torch.zeros_like(x)
        for k, (dy, dx) in enumerate(shifts):
            out = out + weights[:, k : k + 1] * padded[..., dy:dy + height, dx:dx + width]
        return out

    def forward(self, x: Tensor, softmax_over: str | None = None) -> Tensor:
        """``x (B, inner_nc, H, W)`` -> equalised map of the same shape (``softmax_over`` overrides the option)."""
        softmax_over = softmax_over or self.softmax_over
        if softmax_over not in SOFTMAX_AXES:
            raise ValueError(f"softmax_over must be one of {SOFTMAX_AXES}, got {softmax_over!r}")
        x = self.model(x)
        return self.down(torch.cat([raw_view(self.gaussian(x)), raw_view(self.affinity(x, softmax_over))], dim=1))


__all__ = ["BASE", "SOFTMAX_AXES", "SELayer", "gaussian_taps", "raw_view"]
