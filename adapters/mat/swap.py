"""``replace_encoder``: the TSGL encoder in place of the encoder of MAT's first stage.

MAT's first stage (``synthesis.first_stage``) encodes an ``R x R`` input with ``conv_first`` (full
resolution), ``n = log2(R / 64)`` stride-2 partial convs ``enc_conv`` down to 64x64 tokens, and two
mask-aware transformer stages: ``tran[0]`` (64x64 tokens) and ``tran[1]`` (merged to 32x32). What the
rest reads (see :func:`adapters.mat.first_stage.encode`): 180-channel conv skips at ``H, H/2 ..
H/2^(n-1)``, the token skips of ``tran[0]`` and ``tran[1]``, and the 32x32 tokens entering ``tran[2]``.

After the swap, :class:`TSGLFirstStageEncoder` returns exactly that from one TSGL forward pass:
the full-resolution skip from the texture stem ``T_0``, the skip at ``H/2^j`` from the pyramid level
at reduction ``2^j``, the tokens from the levels at ``2^n`` and ``2^(n+1)``, and ``tran[2]``'s input
from the ``2^(n+1)`` level by its own projection; each bridge is a 1x1 equalized conv + leaky ReLU
(MAT's own layer type). ``conv_first`` and ``enc_conv`` are removed, ``tran[0]`` / ``tran[1]`` become
``nn.Identity`` (so ``tran.2..4`` keep their checkpoint keys); the style path, ``tran[2..4]``,
``dec_conv``, the second stage, the call signature and the conventions (image [-1, 1], mask 1 = known,
compositing inside) are kept.
"""

from __future__ import annotations

import types

from einops import rearrange
from torch import Tensor, nn

from tsgl_encoder import TSGLEncoder, get_config
from tsgl_encoder.layers import EqualizedConv2d

from .first_stage import decode

_REQUIRED = ("conv_first", "enc_conv", "tran", "dec_conv", "down_conv", "to_style", "ws_style", "to_square")


def _bridge(in_channels: int, out_channels: int) -> EqualizedConv2d:
    return EqualizedConv2d(in_channels, out_channels, 1, activation="lrelu")


def default_encoder(down_time: int, preset: str = "tsgl_base", overrides: dict | None = None) -> TSGLEncoder:
    """``preset`` cut to ``down_time`` scales: its last pyramid level (the cross-layer balance) is at
    ``2^(down_time + 1)``, the 32x32 token level, so every parameter is used (DDP). ``overrides`` replace
    config fields (the ablations)."""
    return TSGLEncoder(get_config(preset, **(overrides or {})).with_scales(down_time))


class TSGLFirstStageEncoder(nn.Module):
    """TSGL pyramid -> ``(tokens entering tran[2], their map size, skips)`` as MAT's first-stage encoder returns."""

    def __init__(self, encoder: TSGLEncoder, down_time: int, dim: int) -> None:
        super().__init__()
        needed = [2**j for j in range(1, down_time + 2)]
        missing = [r for r in needed if r not in encoder.reductions]
        if missing:
            raise ValueError(f"the TSGL encoder needs pyramid levels at reductions {needed} for MAT with "
                             f"{down_time} down-samplings; it lacks {missing} (its reductions: {encoder.reductions})")
        self.encoder, self.down_time = encoder, down_time
        channels = dict(zip(encoder.reductions, encoder.out_channels, strict=True))
        self.level = {r: encoder.reductions.index(r) for r in needed}
        self.stem_skip = _bridge(encoder.config.texture_dim, dim)  # H
        self.conv_skips = nn.ModuleList(_bridge(channels[2**j], dim) for j in range(1, down_time))  # H/2 ..
        self.token_skips = nn.ModuleList(_bridge(channels[r], dim) for r in needed[-2:])  # 64x64, 32x32 tokens
        self.bottleneck = _bridge(channels[needed[-1]], dim)  # tran[2]'s input

    def forward(self, images_in: Tensor, masks_in: Tensor) -> tuple[Tensor, tuple[int, int], list[Tensor]]:
        features = self.encoder.forward_features(images_in, masks_in)
        pyramid = features.pyramid
        skips = [self.stem_skip(features.texture_stem)]  # (B, dim, H, W)
        skips += [bridge(pyramid[self.level[2**j]]) for j, bridge in enumerate(self.conv_skips, start=1)]
        token_levels = [2**self.down_time, 2 ** (self.down_time + 1)]
        for bridge, reduction in zip(self.token_skips, token_levels, strict=True):
            skips.append(rearrange(bridge(pyramid[self.level[reduction]]), "b c h w -> b (h w) c"))
        deepest = self.bottleneck(pyramid[self.level[token_levels[-1]]])  # (B, dim, H / 2^(n+1), W / 2^(n+1))
        return rearrange(deepest, "b c h w -> b (h w) c"), tuple(deepest.shape[-2:]), skips


def _first_stage_with_tsgl(self: nn.Module, images_in: Tensor, masks_in: Tensor, ws: Tensor,
                           noise_mode: str = "random") -> Tensor:
    """MAT's first stage with the TSGL encoder: same signature, same output."""
    x, x_size, skips = self.tsgl_encoder(images_in, masks_in)
    return decode(self, x, x_size, skips, ws, images_in, masks_in, noise_mode)


def _first_stage(model: nn.Module) -> nn.Module:
    stage = getattr(getattr(model, "synthesis", None), "first_stage", None)
    if stage is None:
        raise TypeError(f"replace_encoder expects a MAT Generator (with synthesis.first_stage), got "
                        f"{type(model).__name__}")
    if hasattr(stage, "tsgl_encoder"):
        raise TypeError("this MAT model already has a TSGL encoder")
    missing = [name for name in _REQUIRED if not isinstance(getattr(stage, name, None), nn.Module)]
    if missing or len(stage.tran) != 5:
        lacks = missing or ["tran[4]"]
        raise TypeError(f"replace_encoder expects MAT's FirstStage; {type(stage).__name__} lacks {lacks}")
    return stage


def replace_encoder(model: nn.Module, encoder: TSGLEncoder | None = None) -> nn.Module:
    """Replaces ``conv_first``, ``enc_conv``, ``tran[0]`` and ``tran[1]`` of a MAT generator's first stage by a TSGL
    encoder (default: :func:`default_encoder` of ``tsgl_base``). Works on this library's ``Generator`` and on
    upstream's (duck-typed on module names); returns the same ``model``.
    """
    stage = _first_stage(model)
    if encoder is not None and not isinstance(encoder, TSGLEncoder):
        raise TypeError(f"encoder must be a TSGLEncoder or None, got {type(encoder).__name__}")
    down_time = len(stage.enc_conv)
    dim = stage.conv_first.conv.weight.shape[0]
    reference = next(model.parameters())
    encoder = encoder or default_encoder(down_time)
    bridged = TSGLFirstStageEncoder(encoder, down_time, dim).to(reference.device, reference.dtype)  # validates ...
    del stage.conv_first, stage.enc_conv  # ... before the model changes: a failed swap leaves it as it was
    stage.tran[0], stage.tran[1] = nn.Identity().train(stage.training), nn.Identity().train(stage.training)
    stage.tsgl_encoder = bridged.train(stage.training)  # the swapped-in part follows the model's mode
    stage.forward = types.MethodType(_first_stage_with_tsgl, stage)
    return model


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameter counts of a (swapped or original) MAT generator: first-stage encoder, the rest of the first stage,
    the second stage, the mapping network."""
    stage = model.synthesis.first_stage
    encoder_names = ("conv_first", "enc_conv", "tsgl_encoder")
    parts = [getattr(stage, name) for name in encoder_names if hasattr(stage, name)] + list(stage.tran[:2])
    encoder = sum(p.numel() for part in parts for p in part.parameters())
    first = sum(p.numel() for p in stage.parameters()) - encoder
    second = sum(p.numel() for p in model.synthesis.parameters()) - encoder - first
    return {"encoder": encoder, "stage-1-rest": first, "stage-2": second,
            "mapping": sum(p.numel() for p in model.mapping.parameters())}

