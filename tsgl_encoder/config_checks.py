"""Field checks of :class:`~tsgl_encoder.TSGLConfig`, run when a config is constructed.

Each field is checked for its kind and range (positive channel counts, odd kernels, ``tau`` a number > 0,
the named choices), so ``create_encoder("tsgl_tiny", tau=-1)`` fails there, naming the field, the expected
and the received value, instead of deep in a forward pass or, worse, running with the hole bias reversed.
The relations between fields (lengths per stage, heads dividing widths) are checked by the config itself.
"""

from __future__ import annotations

import numbers
from typing import Any

from .guidance import GUIDANCE_SIDES, LOCAL_CONDITIONS, RESIDUAL_RESIZES
from .priors import SMOOTH_PRIORS
from .structure import STRUCTURE_LAYERS
from .texture import TEXTURE_BLOCKS

POSITIVE_INTS = ("texture_dim", "texture_stem_kernel", "num_heads", "window_size", "spade_hidden")
POSITIVE_INT_TUPLES = ("structure_channels", "structure_kernels", "pyramid_channels", "deepest_split")
POSITIVE_NUMBERS = ("mlp_ratio", "tau", "edge_sigma")
BOOLS = ("guidance_identity", "smooth_input", "cross_layer_balance")
BOOL_TUPLES = ("shift_windows", "mask_aware_stages")
CHOICES = {"structure_layer": STRUCTURE_LAYERS, "texture_block": TEXTURE_BLOCKS, "residual_resize": RESIDUAL_RESIZES,
           "guidance_sides": GUIDANCE_SIDES, "local_condition": LOCAL_CONDITIONS, "smooth_prior": SMOOTH_PRIORS}
ODD = ("structure_kernels", "texture_stem_kernel")  # same-size padding (k // 2) needs odd kernels


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fail(name: str, expected: str, value: Any) -> None:
    raise ValueError(f"TSGLConfig.{name} must be {expected}, got {value!r}")


def check_fields(config: Any) -> None:
    """``ValueError`` naming the first field of ``config`` whose kind or range is wrong."""
    for name in POSITIVE_INTS:
        value = getattr(config, name)
        if not _integer(value) or value < 1:
            _fail(name, "an integer >= 1", value)
    for name in POSITIVE_INT_TUPLES:
        value = getattr(config, name)
        if value is None and name == "pyramid_channels":
            continue
        if not isinstance(value, tuple) or not all(_integer(v) and v >= 1 for v in value):
            _fail(name, "a tuple of integers >= 1", value)
    if not isinstance(config.depths, tuple) or not all(_integer(v) and v >= 0 for v in config.depths):
        _fail("depths", "a tuple of integers >= 0 (blocks per stage)", config.depths)
    for name in ODD:
        value = getattr(config, name)
        if any(v % 2 == 0 for v in (value if isinstance(value, tuple) else (value,))):
            _fail(name, "odd (same-size padding)", value)
    if not _integer(config.structure_stem) or config.structure_stem < 0:
        _fail("structure_stem", "an integer >= 0 (0: no stem)", config.structure_stem)
    for name in POSITIVE_NUMBERS:
        value = getattr(config, name)
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0 or value != value \
                or value in (float("inf"), float("-inf")):
            _fail(name, "a finite number > 0", value)
    for name in BOOLS:
        if not isinstance(getattr(config, name), bool):
            _fail(name, "True or False", getattr(config, name))
    for name in BOOL_TUPLES:
        value = getattr(config, name)
        if not isinstance(value, tuple) or not all(isinstance(v, bool) for v in value):
            _fail(name, "a tuple of True / False", value)
    for name, choices in CHOICES.items():
        if getattr(config, name) not in choices:
            _fail(name, f"one of {choices}", getattr(config, name))


__all__ = ["check_fields"]
