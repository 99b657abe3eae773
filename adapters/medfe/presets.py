"""MEDFE generator presets: ``create_generator`` / ``list_generators`` / ``create_discriminator``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .discriminator import MEDFEDiscriminator
from .medfe import MEDFEGenerator
from .tsgl_medfe import tsgl_medfe

_GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "medfe": MEDFEGenerator,  # MEDFE (ECCV 2020): 130,316,070 parameters
    "tsgl_medfe": tsgl_medfe,  # the official TSGL(MEDFE) inference generator: 138,331,611 parameters
}


def list_generators() -> list[str]:
    """Names accepted by :func:`create_generator`."""
    return sorted(_GENERATORS)


def _check(name: str) -> None:
    if name not in _GENERATORS:
        raise ValueError(f"unknown MEDFE generator {name!r}; known: {list_generators()}")


def create_generator(name: str = "medfe", **overrides: Any) -> nn.Module:
    """``"medfe"`` (:class:`~adapters.medfe.medfe.MEDFEGenerator`) or ``"tsgl_medfe"``
    (:class:`~adapters.medfe.tsgl_medfe.TSGLMEDFEGenerator`); overrides replace constructor arguments."""
    _check(name)
    return _GENERATORS[name](**overrides)


def create_discriminator(name: str = "medfe", **overrides: Any) -> MEDFEDiscriminator:
    """MEDFE's global + local discriminators (``netD`` / ``netF``), for either generator ``name``: MEDFE trains
    against them; the official TSGL(MEDFE) training script uses one hinge-loss discriminator of its own instead
    (5x5 spectral-normalised convs), which is not reproduced here. Overrides: ``input_nc``, ``ndf``, ``n_layers``."""
    _check(name)
    return MEDFEDiscriminator(**overrides)
