"""Input checks shared by the encoder and the host adapters: clear errors naming the argument, the expected
and the received value, instead of a shape error deep inside a network."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def value_checks_enabled(tensor: Tensor, on_accelerators: bool = False) -> bool:
    """Whether checks that read tensor values may run: free on a CPU, a host-device sync elsewhere, and never
    while ``torch.compile`` traces (they would break the graph)."""
    if torch.compiler.is_compiling():
        return False
    return tensor.device.type == "cpu" or on_accelerators


def check_image(image: object, name: str, channels: int, size_divisor: int, divisor_name: str) -> Tensor:
    """A floating-point ``(B, channels, H, W)`` tensor with ``H`` and ``W`` positive multiples of ``size_divisor``."""
    if not isinstance(image, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor in [-1, 1], got dtype {image.dtype}")
    if image.ndim != 4 or image.shape[1] != channels:
        raise ValueError(f"{name} must have shape (B, {channels}, H, W), got {tuple(image.shape)}")
    height, width = image.shape[-2:]
    if height % size_divisor or width % size_divisor or not height or not width:
        def up(size: int) -> int:
            return max(1, math.ceil(size / size_divisor)) * size_divisor

        raise ValueError(
            f"{name} height and width must be multiples of {divisor_name}={size_divisor}, got {height}x{width} "
            f"(e.g. pad or resize to {up(height)}x{up(width)})"
        )
    return image


def check_mask(mask: object, name: str, image: Tensor, check_values: bool) -> Tensor:
    """A ``(B, 1, H, W)`` mask matching ``image``, bool or {0, 1} float (1 = known); returned in the image's dtype.

    ``check_values`` reads the values (see :func:`value_checks_enabled`).
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    expected = (image.shape[0], 1, *image.shape[-2:])
    if mask.shape != expected:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        if not mask.is_floating_point():
            raise TypeError(f"{name} must be bool or floating point with values {{0, 1}}, got {mask.dtype}")
        if check_values and not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"{name} must be binary (1 = known, 0 = hole); got values other than 0 and 1")
    return mask.to(image.dtype)


__all__ = ["check_image", "check_mask", "value_checks_enabled"]
