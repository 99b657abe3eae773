"""CTSDG generator presets: ``create_generator`` / ``list_generators``."""

from __future__ import annotations

from typing import Any

from .discriminator import Discriminator
from .generator import Generator

_PRESETS: dict[str, dict[str, Any]] = {"ctsdg": {"image_in_channels": 3, "edge_in_channels": 2, "out_channels": 3}}


def list_generators() -> list[str]:
    """Names accepted by :func:`create_generator`."""
    return sorted(_PRESETS)


def _preset(name: str) -> dict[str, Any]:
    if name not in _PRESETS:
        raise ValueError(f"unknown CTSDG generator {name!r}; known: {list_generators()}")
    return _PRESETS[name]


def create_generator(name: str = "ctsdg", **overrides: Any) -> Generator:
    """Build a CTSDG generator preset (``"ctsdg"``: image 3 channels, edge+gray 2 channels, 3 outputs)."""
    return Generator(**{**_preset(name), **overrides})


def create_discriminator(name: str = "ctsdg", **overrides: Any) -> Discriminator:
    """The texture + structure discriminator (with its edge detector) that upstream trains preset ``name`` with."""
    preset = _preset(name)
    kwargs = {"image_in_channels": preset["image_in_channels"], "edge_in_channels": preset["edge_in_channels"]}
    return Discriminator(**{**kwargs, **overrides})
