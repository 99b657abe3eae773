"""CTSDG's weight initialisation: N(0, 0.02) conv/linear weights, zero biases, N(1, 0.02) BatchNorm scales."""

from __future__ import annotations

from torch import nn


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """Initialise one module in place; use as ``model.apply(init_weights)``."""
    name = type(module).__name__
    if "Conv" in name or "Linear" in name:
        if getattr(module, "weight", None) is None:
            return
        nn.init.normal_(module.weight, 0.0, gain)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif "BatchNorm2d" in name:
        nn.init.normal_(module.weight, 1.0, gain)
        nn.init.zeros_(module.bias)
