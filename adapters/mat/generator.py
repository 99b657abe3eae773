"""The MAT generator (Li et al., "MAT: Mask-Aware Transformer for Large Hole Image Inpainting", CVPR 2022).

``Generator = mapping (z -> w) + synthesis``; ``synthesis`` runs the transformer first stage (coarse result),
composites it into the known pixels, and refines the composite with the conv U-Net second stage. Both stages
composite their output with the known pixels, so known pixels come out unchanged.

Module names and parameter/buffer shapes follow upstream (fenglinglwb/MAT, ``networks/mat.py``), so its ``G_ema``
state_dicts load with ``strict=True`` and give the same outputs for the same ``z``, noise and dropout draws.
Conventions: image in [-1, 1], mask ``(B, 1, H, W)`` with 1 = known (bool or {0, 1}), ``H`` and ``W`` multiples
of ``img_resolution`` (``noise_mode='const'``: exactly ``img_resolution``). The bottleneck dropout maps of both
stages are random in eval mode too (as upstream): outputs are reproducible by seeding torch, whatever the
``noise_mode``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsgl_encoder.validation import check_image, check_mask, value_checks_enabled

from .first_stage import STYLE_SQUARE, FirstStage
from .layers import FullyConnectedLayer
from .mapping import MappingNet
from .modulated import NOISE_MODES
from .second_stage import BOTTLENECK_LOG2, Decoder, Encoder, ToStyle, nf

RESOLUTIONS = (128, 256, 512)  # img_resolution: 64x64 tokens need one down-sampling; nf() stops at 512


def check_inputs(images_in: Tensor, masks_in: Tensor, img_channels: int, img_resolution: int,
                 noise_mode: str) -> Tensor:
    """Validates the synthesis inputs; returns the mask as a {0, 1} tensor of the image's dtype."""
    check_image(images_in, "images_in", img_channels, img_resolution, "img_resolution")
    masks_in = check_mask(masks_in, "masks_in", images_in, check_values=value_checks_enabled(images_in))
    height, width = images_in.shape[-2:]
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
    if noise_mode == "const" and (height, width) != (img_resolution, img_resolution):
        raise ValueError(
            f"noise_mode='const' needs {img_resolution}x{img_resolution} inputs (the size of the constant noise), "
            f"got {height}x{width}; use 'random' or 'none'"
        )
    return masks_in


class SynthesisNet(nn.Module):
    """First stage + second stage; ``forward(images_in, masks_in, ws)`` with ``ws`` ``(B, num_ws, w_dim)``."""

    def __init__(
        self, w_dim: int, img_resolution: int, img_channels: int = 3, channel_base: int = 32768,
        channel_decay: float = 1.0, channel_max: int = 512, activation: str = "lrelu", drop_rate: float = 0.5,
        use_noise: bool = True, demodulate: bool = True, first_stage_dim: int = 180,
    ) -> None:
        """``first_stage_dim`` (upstream: FirstStage's fixed 180) and ``channel_max`` (upstream: accepted, ignored)
        only exist to build cheaper models; their defaults give upstream's architecture. ``channel_base``,
        ``channel_decay`` and ``drop_rate`` are accepted so that upstream's training configs apply; upstream ignores
        them, and so does this class."""
        super().__init__()
        if img_resolution not in RESOLUTIONS:
            raise ValueError(f"img_resolution must be one of {RESOLUTIONS}, got {img_resolution!r}")
        resolution_log2 = int(math.log2(img_resolution))
        self.num_layers = resolution_log2 * 2 - 3 * 2  # number of w's the decoders read
        self.img_resolution, self.resolution_log2 = img_resolution, resolution_log2
        self.img_channels, self.w_dim = img_channels, w_dim

        self.first_stage = FirstStage(img_channels, img_resolution=img_resolution, dim=first_stage_dim, w_dim=w_dim,
                                      use_noise=False, demodulate=demodulate)
        self.enc = Encoder(resolution_log2, img_channels, activation, channel_max)
        self.to_square = FullyConnectedLayer(w_dim, STYLE_SQUARE**2, activation=activation)
        self.to_style = ToStyle(nf(BOTTLENECK_LOG2, channel_max), nf(2, channel_max) * 2, activation)
        style_dim = w_dim + nf(2, channel_max) * 2
        self.dec = Decoder(resolution_log2, activation, style_dim, use_noise, demodulate, img_channels, channel_max)

    def style_mix(self, features: Tensor, ws: Tensor) -> Tensor:
        """Bottleneck ``(B, C, h, w)``: half of the entries (random, as upstream) replaced by the style map of w_0."""
        keep = F.dropout(torch.ones_like(features) * 0.5, training=True)  # (B, C, h, w), each entry 0 or 1
        add_n = self.to_square(ws[:, 0]).view(-1, 1, STYLE_SQUARE, STYLE_SQUARE)  # (B, 1, 16, 16)
        add_n = F.interpolate(add_n, size=features.shape[-2:], mode="bilinear", align_corners=False)
        return features * keep + add_n * (1 - keep)

    def forward(
        self, images_in: Tensor, masks_in: Tensor, ws: Tensor, noise_mode: str = "random", return_stg1: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Returns the composited output ``(B, C, H, W)``, and the composited first-stage output if asked."""
        masks_in = check_inputs(images_in, masks_in, self.img_channels, self.img_resolution, noise_mode)
        if not isinstance(ws, Tensor) or ws.shape != (images_in.shape[0], self.num_layers, self.w_dim):
            got = tuple(ws.shape) if isinstance(ws, Tensor) else type(ws).__name__
            raise ValueError(f"ws must have shape {(images_in.shape[0], self.num_layers, self.w_dim)}, got {got}")
        out_stg1 = self.first_stage(images_in, masks_in, ws, noise_mode=noise_mode)

        known = images_in * masks_in
        x = torch.cat([masks_in - 0.5, known + out_stg1 * (1 - masks_in), known], dim=1)  # (B, 2C + 1, H, W)
        features = self.enc(x)  # {log2 r: (B, nf(r), ...)}
        bottleneck = self.style_mix(features[BOTTLENECK_LOG2], ws)
        features[BOTTLENECK_LOG2] = bottleneck
        gs = self.to_style(bottleneck)  # (B, 2 nf(2))
        img = self.dec(bottleneck, ws, gs, features, noise_mode=noise_mode)
        img = img * (1 - masks_in) + images_in * masks_in
        return (img, out_stg1) if return_stg1 else img


class Generator(nn.Module):
    """MAT generator; ``forward(images_in, masks_in, z, c, ...)`` returns the inpainted image (and stage 1)."""

    def __init__(
        self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
        synthesis_kwargs: dict | None = None, mapping_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNet(w_dim, img_resolution, img_channels, **(synthesis_kwargs or {}))
        self.mapping = MappingNet(z_dim, c_dim, w_dim, num_ws=self.synthesis.num_layers, **(mapping_kwargs or {}))

    def forward(
        self, images_in: Tensor, masks_in: Tensor, z: Tensor, c: Tensor | None = None, truncation_psi: float = 1,
        truncation_cutoff: int | None = None, skip_w_avg_update: bool = False, noise_mode: str = "random",
        return_stg1: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """images ``(B, C, H, W)`` in [-1, 1], masks ``(B, 1, H, W)`` 1 = known, z ``(B, z_dim)``, c ``(B, c_dim)``."""
        batch = images_in.shape[0] if isinstance(images_in, Tensor) else None
        if self.z_dim > 0:
            self._check_latent("z", z, batch, self.z_dim)
        if self.c_dim > 0:
            self._check_latent("c", c, batch, self.c_dim)
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                          skip_w_avg_update=skip_w_avg_update)  # (B, num_ws, w_dim)
        return self.synthesis(images_in, masks_in, ws, noise_mode=noise_mode, return_stg1=return_stg1)

    @staticmethod
    def _check_latent(name: str, value: Tensor | None, batch: int | None, dim: int) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (B, {dim}), got {type(value).__name__}")
        if value.ndim != 2 or value.shape[1] != dim or (batch is not None and value.shape[0] != batch):
            raise ValueError(f"{name} must have shape ({batch}, {dim}), got {tuple(value.shape)}")
