"""CTSDG host: reference generator and discriminator (Guo et al., ICCV 2021) with the reference's module names."""

from __future__ import annotations

from typing import Any

from .discriminator import Discriminator, EdgeDetector, StructureBranch, TextureBranch
from .generator import Generator
from .host import CTSDG_LOSSES, CTSDGAdversary, CTSDGHost
from .swap import TSGLSkipEncoder, parameters_by_part, replace_encoder

_PRESETS: dict[str, dict[str, Any]] = {"ctsdg": {"image_in_channels": 3, "edge_in_channels": 2, "out_channels": 3}}


def create_generator(name: str = "ctsdg", **overrides: Any) -> Generator:
    """Build a CTSDG generator preset (``"ctsdg"``: image 3 channels, edge+gray 2 channels, 3 outputs)."""
    if name not in _PRESETS:
        raise ValueError(f"unknown CTSDG generator {name!r}; known: {sorted(_PRESETS)}")
    return Generator(**{**_PRESETS[name], **overrides})


__all__ = [
    "CTSDG_LOSSES",
    "CTSDGAdversary",
    "CTSDGHost",
    "Discriminator",
    "EdgeDetector",
    "Generator",
    "StructureBranch",
    "TSGLSkipEncoder",
    "TextureBranch",
    "create_generator",
    "parameters_by_part",
    "replace_encoder",
]
