"""CTSDG generator presets: ``create_generator`` / ``list_generators``."""

from __future__ import annotations

from typing import Any

from .generator import Generator

_PRESETS: dict[str, dict[str, Any]] = {"ctsdg": {"image_in_channels": 3, "edge_in_channels": 2, "out_channels": 3}}


def list_generators() -> list[str]:
    """Names accepted by :func:`create_generator`."""
    return sorted(_PRESETS)


def create_generator(name: str = "ctsdg", **overrides: Any) -> Generator:
    """Build a CTSDG generator preset (``"ctsdg"``: image 3 channels, edge+gray 2 channels, 3 outputs)."""
    if name not in _PRESETS:
        raise ValueError(f"unknown CTSDG generator {name!r}; known: {list_generators()}")
    return Generator(**{**_PRESETS[name], **overrides})
