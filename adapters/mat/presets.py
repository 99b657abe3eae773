"""Named MAT configurations (upstream's ``Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution, 3)``).

| preset    | generator parameters | discriminator parameters |
|-----------|----------------------|--------------------------|
| `mat_256` | 59,779,834           | 36,083,330               |
| `mat_512` | 61,562,518           | 36,231,618               |

Upstream's released checkpoints: CelebA-HQ at 256 and 512, FFHQ and Places at 512.
"""

from __future__ import annotations

from typing import Any

from .discriminator import Discriminator
from .generator import Generator

_PRESETS: dict[str, dict[str, Any]] = {
    "mat_256": {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": 256, "img_channels": 3},
    "mat_512": {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": 512, "img_channels": 3},
}
_DISCRIMINATOR_ARGS = ("c_dim", "img_resolution", "img_channels")


def list_generators() -> list[str]:
    return sorted(_PRESETS)


def preset_arguments(name: str) -> dict[str, Any]:
    """The ``Generator`` arguments of preset ``name``."""
    if name not in _PRESETS:
        raise ValueError(f"unknown MAT preset {name!r}; available: {list_generators()}")
    return _PRESETS[name]


def create_generator(name: str = "mat_512", **overrides: Any) -> Generator:
    """MAT generator preset ``name``; keyword overrides replace ``Generator`` arguments (e.g. ``img_resolution=128``
    for a cheaper CPU model, ``synthesis_kwargs={"use_noise": False}``)."""
    return Generator(**{**preset_arguments(name), **overrides})


def create_discriminator(name: str = "mat_512", **overrides: Any) -> Discriminator:
    """The discriminator that upstream trains with preset ``name``; overrides replace ``Discriminator`` arguments."""
    kwargs = {key: value for key, value in preset_arguments(name).items() if key in _DISCRIMINATOR_ARGS}
    return Discriminator(**{**kwargs, **overrides})
