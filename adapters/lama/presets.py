"""Named LaMa generators (upstream's configurations)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .discriminator import PatchDiscriminator
from .ffc import FFCResNetGenerator
from .tsgl_lama import tsgl_lama_512


def _lama(**overrides) -> FFCResNetGenerator:
    """``configs/training/generator/ffc_resnet_075.yaml`` (lama-fourier); big-lama only sets 18 blocks."""
    kwargs = dict(
        input_nc=4, output_nc=3, ngf=64, n_downsampling=3, n_blocks=9, add_out_act="sigmoid",
        init_conv_kwargs={"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
        downsample_conv_kwargs={"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
        resnet_conv_kwargs={"ratio_gin": 0.75, "ratio_gout": 0.75, "enable_lfu": False},
    )
    kwargs.update(overrides)
    return FFCResNetGenerator(**kwargs)


_GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "lama_fourier": _lama,  # 27,048,835 parameters
    "big_lama": lambda **kw: _lama(**{"n_blocks": 18, **kw}),  # 50,975,875 parameters
    "tsgl_lama_512": tsgl_lama_512,  # the official TSGL(LaMa) model: 38,609,348 parameters
}


def list_generators() -> list[str]:
    return sorted(_GENERATORS)


def create_generator(name: str, **overrides) -> nn.Module:
    """Builds LaMa preset ``name``; keyword overrides (e.g. ``ngf=32``) replace constructor arguments."""
    if name not in _GENERATORS:
        raise ValueError(f"unknown LaMa generator {name!r}; available: {list_generators()}")
    return _GENERATORS[name](**overrides)


def create_discriminator(name: str = "lama_fourier", **overrides) -> PatchDiscriminator:
    """The discriminator LaMa trains preset ``name`` with: pix2pixHD's ``NLayerDiscriminator`` (``ndf`` 64,
    4 layers, BatchNorm; ``configs/training/discriminator/pix2pixhd_nlayer.yaml``), as
    :class:`~adapters.lama.discriminator.PatchDiscriminator` (same layers; module names ``layers.i`` for
    upstream's ``model{i}``). Overrides (``width``, ``n_layers``, ``in_channels``) replace its arguments."""
    if name not in _GENERATORS:
        raise ValueError(f"unknown LaMa generator {name!r}; available: {list_generators()}")
    return PatchDiscriminator(**{"width": 64, "n_layers": 4, **overrides})
