"""MAT's first stage: the coarse transformer generator (Li et al., "MAT: Mask-Aware Transformer for Large Hole
Image Inpainting", CVPR 2022, Sec. 3.1-3.3).

Data flow (``dim = 180``; ``n = log2(img_resolution / 64)`` down-sampling convs, so tokens always start at 64x64
for an ``img_resolution`` input):

1. ``conv_first``: 3x3 partial conv on ``cat(mask - 0.5, image * mask)`` at full resolution -> skip.
2. ``enc_conv[0..n-1]``: stride-2 partial convs down to 1/2^n; every output but the last -> skip.
3. ``tran[0]`` (64x64 tokens, window 8) and ``tran[1]`` (merge to 32x32, window 16): mask-aware stages -> skips.
4. ``tran[2]`` (merge to 16x16, one 16x16 window): the bottleneck. Its output is mixed with a style map
   (*style manipulation module*): ``x * m + add_n * (1 - m)`` with ``m`` a dropout(0.5) map that is random even in
   eval mode (as upstream) and ``add_n = to_square(ws_style(w))`` spread over the tokens; ``down_conv`` +
   ``to_style`` give the global style ``gs`` and ``style = cat(gs, ws_style(w))``.
5. ``tran[3]``, ``tran[4]``: up-sampling stages (no masks) + the token skips of ``tran[1]``, ``tran[0]``.
6. ``dec_conv[0..n-1]``: style-modulated up-sampling blocks with the conv skips, accumulating an RGB image.
7. Compositing: ``img * (1 - mask) + image * mask``.

Steps 1-3 are :func:`encode`, steps 4-7 :func:`decode`; both read module names only, so they also run on
upstream's ``FirstStage``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Conv2dLayer, Conv2dLayerPartial, FullyConnectedLayer
from .modulated import UpStyleBlock
from .transformer import BasicLayer, PatchMerging, PatchUpsampling, Size, feature2token, token2feature

TOKEN_RESOLUTION = 64  # the conv encoder brings an img_resolution input to 64x64 tokens
DEPTHS = (2, 3, 4, 3, 2)  # blocks of tran[0..4]
RATIOS = (1, 1 / 2, 1 / 2, 2, 2)  # resampling at the start of tran[0..4]
WINDOW_SIZES = (8, 16, 16, 16, 8)
NUM_HEADS = 6
STYLE_SQUARE = 16  # to_square: a 16x16 style map


class DecStyleBlock(UpStyleBlock):
    """First-stage decoder block: up-sampling StyleConv, + conv skip, StyleConv, ToRGB (one style for all).

    ``res`` is log2 of the output resolution (upstream passes the resolution itself, which only matters, and
    breaks, with ``use_noise=True``; MAT builds this block without noise).
    """

    def forward(
        self, x: Tensor, img: Tensor | None, style: Tensor, skip: Tensor, noise_mode: str = "random"
    ) -> tuple[Tensor, Tensor]:
        x = self.conv0(x, style, noise_mode=noise_mode)  # (B, C, 2H, 2W)
        x = self.conv1(x + skip, style, noise_mode=noise_mode)
        return x, self.toRGB(x, style, skip=img)


class FirstStage(nn.Module):
    """Conv encoder + five mask-aware transformer stages + style-modulated conv decoder; see the module doc."""

    def __init__(
        self, img_channels: int, img_resolution: int = 256, dim: int = 180, w_dim: int = 512,
        use_noise: bool = False, demodulate: bool = True, activation: str = "lrelu",
    ) -> None:
        super().__init__()
        down_time = int(math.log2(img_resolution // TOKEN_RESOLUTION))
        self.conv_first = Conv2dLayerPartial(img_channels + 1, dim, kernel_size=3, activation=activation)
        self.enc_conv = nn.ModuleList(
            Conv2dLayerPartial(dim, dim, kernel_size=3, activation=activation, down=2) for _ in range(down_time)
        )

        self.tran = nn.ModuleList()
        res = TOKEN_RESOLUTION
        for depth, ratio, window in zip(DEPTHS, RATIOS, WINDOW_SIZES, strict=True):
            res = int(res * ratio)
            merge = None
            if ratio < 1:
                merge = PatchMerging(dim, dim, down=int(1 / ratio))
            elif ratio > 1:
                merge = PatchUpsampling(dim, dim, up=ratio)
            self.tran.append(BasicLayer(dim, (res, res), depth, NUM_HEADS, window, downsample=merge))

        # global style: 16x16 -> 1x1 by four stride-2 convs and an average pool
        down_convs = [Conv2dLayer(dim, dim, 3, activation=activation, down=2) for _ in range(4)]
        self.down_conv = nn.Sequential(*down_convs, nn.AdaptiveAvgPool2d((1, 1)))
        self.to_style = FullyConnectedLayer(dim, dim * 2, activation=activation)
        self.ws_style = FullyConnectedLayer(w_dim, dim, activation=activation)
        self.to_square = FullyConnectedLayer(dim, STYLE_SQUARE**2, activation=activation)

        style_dim = dim * 3
        self.dec_conv = nn.ModuleList(
            DecStyleBlock(int(math.log2(TOKEN_RESOLUTION)) + i + 1, dim, dim, activation, style_dim, use_noise,
                          demodulate, img_channels)
            for i in range(down_time)
        )

    def forward(self, images_in: Tensor, masks_in: Tensor, ws: Tensor, noise_mode: str = "random") -> Tensor:
        """images ``(B, C, H, W)`` in [-1, 1], masks ``(B, 1, H, W)`` 1 = known, ws ``(B, num_ws, w_dim)``."""
        x, x_size, skips = encode(self, images_in, masks_in)
        return decode(self, x, x_size, skips, ws, images_in, masks_in, noise_mode)


# encode / decode read module names only, so they serve this FirstStage and upstream's alike (e.g. a host that
# replaces the encoder part of either keeps decode as it is).


def encode(stage: nn.Module, images_in: Tensor, masks_in: Tensor) -> tuple[Tensor, Size, list[Tensor]]:
    """``conv_first``, ``enc_conv``, ``tran[:mid]``: the mask-aware encoder of the first stage.

    Returns the tokens entering ``tran[mid]`` ``(B, L, dim)``, their map size, and the skips: the outputs of
    ``conv_first`` and of every ``enc_conv`` but the last (maps), then of ``tran[:mid]`` (tokens). The updated mask
    is dropped, as upstream does: the bottleneck and the decoder stages run without one.
    """
    x = torch.cat([masks_in - 0.5, images_in * masks_in], dim=1)  # (B, C + 1, H, W)
    skips = []
    x, mask = stage.conv_first(x, masks_in)  # (B, dim, H, W)
    skips.append(x)
    for i, block in enumerate(stage.enc_conv):  # H -> H / 2^n
        x, mask = block(x, mask)
        if i != len(stage.enc_conv) - 1:
            skips.append(x)

    x_size = tuple(x.shape[-2:])
    x, mask = feature2token(x), feature2token(mask)  # (B, L, dim), (B, L, 1)
    for block in stage.tran[: len(stage.tran) // 2]:
        x, x_size, mask = block(x, x_size, mask)
        skips.append(x)
    return x, x_size, skips


def decode(
    stage: nn.Module, x: Tensor, x_size: Size, skips: list[Tensor], ws: Tensor, images_in: Tensor, masks_in: Tensor,
    noise_mode: str = "random",
) -> Tensor:
    """``tran[mid:]`` with the style manipulation at ``tran[mid]``, then ``dec_conv``, then compositing."""
    mid = len(stage.tran) // 2
    x, x_size, _ = stage.tran[mid](x, x_size, None)  # bottleneck tokens (B, L / 4, dim)
    x, w_style = style_mix(stage, x, ws)
    gs = stage.to_style(stage.down_conv(token2feature(x, x_size)).flatten(start_dim=1))  # (B, 2 dim)
    style = torch.cat([gs, w_style], dim=1)  # (B, 3 dim)
    for i in range(mid + 1, len(stage.tran)):  # no mask; add the token skip of the same resolution
        x, x_size, _ = stage.tran[i](x, x_size, None)
        x = x + skips[mid - i]

    x = token2feature(x, x_size).contiguous()  # (B, dim, H / 2^n, W / 2^n)
    img = None
    for i, block in enumerate(stage.dec_conv):
        x, img = block(x, img, style, skips[len(stage.dec_conv) - i - 1], noise_mode=noise_mode)
    return img * (1 - masks_in) + images_in * masks_in


def upstream_token_layout(x: Tensor) -> Tensor:
    """Ones shaped like the tokens ``x`` ``(B, L, C)``, laid out as upstream's: channel by channel at batch 1
    (its convolution returns a contiguous map there, which ``feature2token`` transposes), token by token
    otherwise. The random values of a dropout fill memory in order, so the layout decides which token gets
    which draw."""
    batch, length, channels = x.shape
    if batch == 1:
        return x.new_ones(batch, channels, length).transpose(1, 2)
    return x.new_ones(batch, length, channels)


def style_mix(stage: nn.Module, x: Tensor, ws: Tensor) -> tuple[Tensor, Tensor]:
    """Style manipulation: bottleneck tokens ``(B, L, C)``, ``ws`` ``(B, num_ws, w_dim)`` -> tokens, ``w_style``.

    Half the entries (a dropout(0.5) map, drawn in eval mode too, as upstream) are replaced by the 16x16 style map
    of ``w_style = ws_style(w_last)``, spread over the tokens by linear interpolation. The map is drawn in the
    memory layout upstream's tokens have (:func:`upstream_token_layout`), so a seed gives upstream's map
    whatever layout this implementation's tokens are in (eager, exported, channels_last or not).
    """
    keep = F.dropout(upstream_token_layout(x) * 0.5, training=True)  # (B, L, C), each entry 0 or 1
    w_style = stage.ws_style(ws[:, -1])  # (B, C)
    add_n = stage.to_square(w_style)[:, None]  # (B, 1, 256)
    add_n = F.interpolate(add_n, size=x.shape[1], mode="linear", align_corners=False)  # (B, 1, L)
    return x * keep + add_n.transpose(1, 2) * (1 - keep), w_style
