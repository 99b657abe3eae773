"""Named presets of :class:`TSGLEncoder` (timm-style factory)."""

from __future__ import annotations

import dataclasses

from .encoder import TSGLConfig, TSGLEncoder

_PRESETS: dict[str, TSGLConfig] = {
    # The official 256x256 TSGL(MEDFE) encoder: ~38 M parameters.
    "tsgl_base": TSGLConfig(),
    # Same mechanisms, narrower: for CPU training and quick experiments.
    "tsgl_small": TSGLConfig(
        structure_channels=(32, 64, 128, 256, 512),
        texture_dim=96,
        depths=(2, 2, 2, 2),
        spade_hidden=64,
        pyramid_channels=(32, 64, 128, 256, 256, 256),
        smooth_input=False,
    ),
    # Under 2 M parameters: tests and CPU smoke runs.
    "tsgl_tiny": TSGLConfig(
        structure_channels=(16, 32, 64, 96, 128),
        texture_dim=32,
        depths=(2, 2, 2, 2),
        num_heads=2,
        spade_hidden=32,
        pyramid_channels=(16, 32, 64, 96, 128, 128),
        smooth_input=False,
    ),
    # The conv-only encoder of the official 512x512 TSGL(LaMa) model (26.3 M parameters): reflect-padded
    # conv + BN + ReLU in both streams, texture width 256, guidance with the identity term, no pyramid
    # projections; its deepest level is reconstructed as LaMa's local 64 / global 192 channels.
    "tsgl_lama": TSGLConfig(
        structure_channels=(128, 256, 256, 256, 256),
        structure_kernels=(3, 3, 3, 3, 3),
        structure_layer="conv",
        structure_stem=64,
        texture_dim=256,
        texture_block="conv",
        texture_stem_kernel=7,
        depths=(0, 0, 0, 0),
        shift_windows=(False, False, False, False),
        mask_aware_stages=(False, False, False, False),
        guidance_identity=True,
        residual_resize="nearest",
        deepest_split=(64, 192),
        pyramid_channels=None,
        smooth_input=False,
    ),
}


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder`."""
    return sorted(_PRESETS)


def get_config(name: str, **overrides) -> TSGLConfig:
    """The :class:`TSGLConfig` of preset ``name`` with ``overrides`` applied."""
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(f"unknown encoder preset {name!r}; available: {list_encoders()}")
    fields = {f.name for f in dataclasses.fields(TSGLConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"unknown override(s) {unknown} for {name!r}; valid fields: {sorted(fields)}")
    return dataclasses.replace(_PRESETS[name], **overrides)


def create_encoder(name: str = "tsgl_base", **overrides) -> TSGLEncoder:
    """Builds preset ``name`` (see :func:`list_encoders`); keyword overrides replace config fields."""
    return TSGLEncoder(get_config(name, **overrides))
