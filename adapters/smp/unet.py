"""An inpainting generator from segmentation_models_pytorch's U-Net, with its own encoder or TSGL's.

The generator reads ``cat(image, mask)`` (image in [-1, 1], mask 1 = known) and returns an image in [-1, 1]
(``tanh`` head, 3 classes). :func:`create_generator` builds it around any smp encoder (``resnet34`` by
default, no downloaded weights); :func:`replace_encoder` puts a TSGL preset in the encoder's place with 1x1
projections onto the replaced encoder's widths, so the decoder and head keep their weights.
"""

from __future__ import annotations

import segmentation_models_pytorch as smp
from torch import nn

from .encoder import IN_CHANNELS, SMP_PRESETS, TSGLSmpEncoder

DECODER_CHANNELS = (256, 128, 64, 32, 16, 8)  # smp's defaults, one more for depth 6


def create_generator(encoder: str = "resnet34", depth: int = 5, decoder_channels: tuple[int, ...] | None = None,
                     **encoder_overrides) -> smp.Unet:
    """smp's U-Net as an inpainting generator around ``encoder`` (an smp encoder name, a TSGL preset among them),
    freshly initialised. ``decoder_channels``: one width per level (default: smp's, halving from 256);
    ``encoder_overrides``: TSGLConfig fields of a TSGL preset."""
    if encoder_overrides and encoder not in SMP_PRESETS:
        raise ValueError(f"encoder overrides {sorted(encoder_overrides)} apply to TSGL presets {SMP_PRESETS} only, "
                         f"got encoder {encoder!r}")
    channels = tuple(decoder_channels or DECODER_CHANNELS[:depth])
    model = smp.Unet(encoder, encoder_depth=depth, encoder_weights=None, decoder_channels=channels,
                     in_channels=IN_CHANNELS, classes=3, activation="tanh")
    if encoder_overrides:  # smp builds the preset as registered; the overrides need their own build
        model.encoder = TSGLSmpEncoder(encoder, depth, **encoder_overrides)
    return model


def replace_encoder(model: smp.Unet, preset: str = "tsgl_tiny", **overrides) -> smp.Unet:
    """``model`` (a generator of :func:`create_generator`) with TSGL's preset as its encoder, projected onto the
    replaced encoder's widths; decoder and head keep their weights. ``overrides``: TSGLConfig fields."""
    if not isinstance(model, smp.Unet):
        raise TypeError(f"model must be a segmentation_models_pytorch Unet, got {type(model).__name__}")
    old = model.encoder
    reference = next(model.decoder.parameters())  # the encoder goes where the decoder it feeds is
    encoder = TSGLSmpEncoder(preset, old._depth, out_channels=old.out_channels, **overrides)
    model.encoder = encoder if reference.is_meta else encoder.to(reference.device, reference.dtype)
    return model


def parameters_by_part(model: smp.Unet) -> dict[str, int]:
    """Parameter counts of the generator's encoder, decoder and head."""
    parts = {"encoder": model.encoder, "decoder": model.decoder, "head": model.segmentation_head}
    return {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}


def is_tsgl(model: nn.Module) -> bool:
    return isinstance(getattr(model, "encoder", None), TSGLSmpEncoder)


__all__ = ["DECODER_CHANNELS", "create_generator", "is_tsgl", "parameters_by_part", "replace_encoder"]
