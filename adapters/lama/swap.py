"""``replace_encoder``: put a TSGL encoder in front of LaMa's FFC ResNet blocks.

LaMa's encoder is ``model.model[0:5]`` (reflection pad, 7x7 stem, three stride-2 FFC layers, the
last of which opens the global branch and returns ``(local, global)`` at 1/8). The swap puts a
:class:`TSGLBottleneckStem` at index 0 and ``nn.Identity`` at indices 1-4, so the FFC ResNet blocks,
the decoder and their checkpoint keys (``model.5.*`` onwards) stay where they were.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from tsgl_encoder import TSGLConfig, TSGLEncoder, TSGLFeatures, get_config


class TSGLBottleneckStem(nn.Module):
    """LaMa input ``cat(img * (1 - mask), mask)`` -> TSGL pyramid level at the bottleneck -> ``(local, global)``.

    Converts LaMa's conventions (image in [0, 1], mask 1 = hole) to TSGL's ([-1, 1], 1 = known); the
    edge and gray priors are computed by the encoder from the masked input only. Inputs whose size
    is not a multiple of the encoder's ``size_divisor`` are padded (the padding counts as hole) and the
    features are cropped back. With ``project=True`` a 1x1 conv + BatchNorm + ReLU (like the FFC layer
    it replaces) maps the level onto the bottleneck width; otherwise the level must already have it
    (the official TSGL(LaMa) model). The result is split by the host's global ratio.
    """

    def __init__(self, encoder: TSGLEncoder, reduction: int, local_channels: int, global_channels: int,
                 project: bool = True) -> None:
        super().__init__()
        if reduction not in encoder.reductions:
            raise ValueError(
                f"encoder has no pyramid level at reduction {reduction} (its reductions: {encoder.reductions})"
            )
        self.encoder = encoder
        self.level = encoder.reductions.index(reduction)
        self.reduction = reduction
        self.split = (local_channels, global_channels)
        width = local_channels + global_channels
        level_channels = encoder.out_channels[self.level]
        if not project and level_channels != width:
            raise ValueError(f"project=False needs a level of {width} channels, the encoder gives {level_channels}")
        self.to_bottleneck = (
            nn.Sequential(nn.Conv2d(level_channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True))
            if project else None
        )

    def encode(self, x: Tensor) -> tuple[tuple[Tensor, Tensor], TSGLFeatures]:
        """``(local, global)`` for the FFC blocks, and everything the encoder computed (cropped to ``x``)."""
        if x.ndim != 4 or x.shape[1] != 4:
            raise ValueError(
                f"LaMa input must be cat(img * (1 - mask), mask) of shape (B, 4, H, W), got {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        divisor = self.encoder.size_divisor
        pad_h, pad_w = -height % divisor, -width % divisor
        image, known = x[:, :3], 1.0 - x[:, 3:]
        if pad_h or pad_w:
            image = F.pad(image, [0, pad_w, 0, pad_h])
            known = F.pad(known, [0, pad_w, 0, pad_h])  # padding = hole
        features = self.encoder.forward_features(image * 2.0 - 1.0, known)
        cells = (-(-height // self.reduction), -(-width // self.reduction))
        feature = features.pyramid[self.level][..., : cells[0], : cells[1]]  # (B, C, H/r, W/r)
        if self.to_bottleneck is not None:
            feature = self.to_bottleneck(feature)
        local, global_ = feature.split(self.split, dim=1)
        return (local, global_), features

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.encode(x)[0]


def _lama_layout(model: nn.Module) -> tuple[int, int, int]:
    """``(n_downsampling, local_channels, global_channels)`` of a LaMa-shaped model, else ``TypeError``."""
    layers = getattr(model, "model", None)
    if not isinstance(layers, nn.Sequential) or len(layers) < 6:
        raise TypeError(
            f"replace_encoder expects a LaMa FFCResNetGenerator (an nn.Module whose .model is an nn.Sequential "
            f"starting with ReflectionPad2d and FFC_BN_ACT layers), got {type(model).__name__}"
        )
    if isinstance(layers[0], TSGLBottleneckStem):
        raise TypeError("this LaMa model already has a TSGL encoder at model.model[0]")
    if not isinstance(layers[0], nn.ReflectionPad2d) or not hasattr(layers[1], "ffc"):
        raise TypeError(
            f"model.model[0:2] must be ReflectionPad2d and an FFC_BN_ACT stem, got "
            f"{type(layers[0]).__name__} and {type(layers[1]).__name__}"
        )
    n_down = 0
    while hasattr(layers[2 + n_down], "ffc") and getattr(layers[2 + n_down].ffc.convl2l, "stride", (1,))[0] == 2:
        n_down += 1
    last = layers[1 + n_down].ffc if n_down else None
    if last is None or not isinstance(last.convl2g, nn.Conv2d):
        raise TypeError("the last LaMa downsampling layer must open the global branch (ratio_gout > 0)")
    return n_down, last.convl2l.out_channels, last.convl2g.out_channels


def default_config(bottleneck_channels: int, n_downsampling: int, preset: str | None = None,
                   overrides: dict | None = None) -> TSGLConfig:
    """A TSGL preset (by default the one for a host of this width) cut so that its deepest level is the bottleneck.

    With ``n_downsampling - 1`` scales, the cross-layer balance output lands at the bottleneck's
    resolution, so every parameter of the encoder is used. ``overrides`` replace config fields (ablations).
    """
    if preset is None:
        wide, medium = bottleneck_channels >= 512, bottleneck_channels >= 256
        preset = "tsgl_base" if wide else "tsgl_small" if medium else "tsgl_tiny"
    return get_config(preset, **(overrides or {})).with_scales(n_downsampling - 1)


def default_encoder(bottleneck_channels: int, n_downsampling: int, preset: str | None = None,
                    overrides: dict | None = None) -> TSGLEncoder:
    """The encoder of :func:`default_config`."""
    return TSGLEncoder(default_config(bottleneck_channels, n_downsampling, preset, overrides))


def replace_encoder(model: nn.Module, encoder: TSGLEncoder | None = None, project: bool = True) -> nn.Module:
    """Swaps LaMa's encoder (``model.model[0:5]``) for a TSGL encoder; returns the same ``model``.

    ``encoder`` may be any :class:`TSGLEncoder` with a level at the bottleneck's reduction (1/8 for
    LaMa); by default :func:`default_encoder` picks one for the host's width. ``project=False`` feeds the
    level to the FFC blocks as it is (it must have the bottleneck's width). Works on this library's
    ``FFCResNetGenerator`` and on upstream's alike (duck-typed on ``model.model``).
    """
    n_down, local_channels, global_channels = _lama_layout(model)
    if encoder is None:
        encoder = default_encoder(local_channels + global_channels, n_down)
    elif not isinstance(encoder, TSGLEncoder):
        raise TypeError(f"encoder must be a TSGLEncoder or None, got {type(encoder).__name__}")
    reference = next(model.parameters())
    stem = TSGLBottleneckStem(encoder, 2**n_down, local_channels, global_channels, project)
    model.model[0] = stem.to(device=reference.device, dtype=reference.dtype).train(model.training)
    for index in range(1, 2 + n_down):
        model.model[index] = nn.Identity().train(model.training)
    return model


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameter counts of a (swapped or original) LaMa generator: encoder, FFC bottleneck, decoder."""
    n_blocks = sum(type(layer).__name__ == "FFCResnetBlock" for layer in model.model)
    first_block = next(i for i, layer in enumerate(model.model) if type(layer).__name__ == "FFCResnetBlock")
    parts = {"encoder": model.model[:first_block], "bottleneck": model.model[first_block : first_block + n_blocks],
             "decoder": model.model[first_block + n_blocks :]}
    return {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}


__all__ = ["TSGLBottleneckStem", "default_config", "default_encoder", "parameters_by_part", "replace_encoder"]
