"""Input checks shared by the encoder and the host adapters: clear errors naming the argument, the expected
and the received value, instead of a shape error deep inside a network."""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

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


RANGE_TOLERANCE = 1e-3  # values this far outside [-1, 1] are float rounding of a clamped image, not another range
IMPLAUSIBLE_KNOWN_FRACTION = 0.15  # fewer known pixels than this: probably a 1 = hole mask


def check_like(tensor: Tensor, name: str, reference: Tensor, reference_name: str) -> None:
    """``tensor`` on ``reference``'s device and in its floating dtype (bool masks excepted), else a clear error."""
    if tensor.device != reference.device:
        raise ValueError(f"device mismatch: {name} is on {tensor.device}, {reference_name} on {reference.device}; "
                         f"move both to one device")
    if tensor.is_floating_point() and tensor.dtype != reference.dtype and not torch.is_autocast_enabled(
            tensor.device.type):
        raise TypeError(f"dtype mismatch: {name} is {tensor.dtype}, {reference_name} {reference.dtype}; convert one "
                        f"(e.g. {name}.to({reference.dtype})), or run under torch.autocast")


def _known_extrema(image: Tensor, mask: Tensor) -> tuple[float, float]:
    """Min and max of ``image`` over the known pixels (hole pixels may hold anything: they are never read)."""
    known = mask.bool().expand_as(image)
    if not known.any():
        return 0.0, 0.0
    return float(image.masked_fill(~known, math.inf).min()), float(image.masked_fill(~known, -math.inf).max())


def check_range(image: Tensor, mask: Tensor, name: str, low: float = -1.0, high: float = 1.0) -> None:
    """Known pixels of ``image`` inside ``[low, high]`` up to rounding, with a hint for 0..255 pixels."""
    lo, hi = _known_extrema(image, mask)
    if lo < low - RANGE_TOLERANCE or hi > high + RANGE_TOLERANCE:
        hint = " (0..255 pixels? use x / 127.5 - 1)" if hi > 2 and lo >= 0 else ""
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}], got values in [{lo:.4g}, {hi:.4g}]{hint}; "
                         "set validate_inputs = False on the module to skip this check")


_PACKAGE = Path(__file__).resolve().parent
_LIBRARY_DIRS = tuple(f"{folder}{os.sep}" for folder in (Path(torch.__file__).resolve().parent, _PACKAGE,
                                                          _PACKAGE.parent / "adapters"))


def warn_user(message: str) -> None:
    """``warnings.warn`` attributed to the first frame outside this library and torch: the user's call."""
    frame, level = sys._getframe(0), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def warn_if_image_looks_unsigned(image: Tensor, mask: Tensor, name: str, owner: object) -> None:
    """Warns once per ``owner`` when the known pixels of ``image`` (expected in [-1, 1]) are never negative but
    some are positive: a [0, 1] image? (An all-zero image, a common placeholder, stays quiet.)"""
    if getattr(owner, "_warned_image_range", False) or not mask.bool().any():
        return
    low, high = _known_extrema(image, mask)
    if low >= 0 < high:
        owner._warned_image_range = True
        warn_user(f"{name} has no values below 0; this library's images lie in [-1, 1]. If yours is in [0, 1], "
                  f"pass {name} * 2 - 1.")


def warn_if_mask_looks_inverted(mask: Tensor, name: str, owner: object) -> None:
    """Warns once per ``owner`` when ``mask`` (1 = known) has implausibly few known pixels: a 1 = hole mask?"""
    if getattr(owner, "_warned_mask_convention", False) or mask.numel() == 0:
        return
    known = float(mask.float().mean())  # over the batch: single training masks may leave less than this known
    if known < IMPLAUSIBLE_KNOWN_FRACTION:
        owner._warned_mask_convention = True
        warn_user(f"{name} marks only {known:.0%} of the pixels as known; this library's convention is "
                  f"1 = known, 0 = hole. If your mask marks the holes with 1, pass 1 - {name}.")


def check_mask(mask: object, name: str, image: Tensor, check_values: bool) -> Tensor:
    """A ``(B, 1, H, W)`` mask matching ``image``, bool or {0, 1} float (1 = known); returned in the image's dtype.

    ``check_values`` reads the values (see :func:`value_checks_enabled`).
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    expected = (image.shape[0], 1, *image.shape[-2:])
    if mask.shape != expected:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(mask.shape)}")
    if mask.device != image.device:
        raise ValueError(f"device mismatch: {name} is on {mask.device}, the image on {image.device}; "
                         "move both to one device")
    if mask.dtype != torch.bool:
        if not mask.is_floating_point():
            raise TypeError(f"{name} must be bool or floating point with values {{0, 1}}, got {mask.dtype}")
        if check_values and not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"{name} must be binary (1 = known, 0 = hole); got values other than 0 and 1")
    return mask.to(image.dtype)


__all__ = ["check_image", "check_like", "check_mask", "check_range", "value_checks_enabled",
           "warn_if_image_looks_unsigned", "warn_if_mask_looks_inverted"]


def check_image_mask_priors(owner: object, image: object, mask: object, priors: dict[str, Tensor | None],
                            size_divisor: int, weights: Tensor, weights_name: str, check_values: bool) -> Tensor:
    """The checks every module that reads ``(image, mask[, edge, gray, smooth])`` makes: image ``(B, 3, H, W)``
    with ``H``, ``W`` multiples of ``size_divisor`` and the dtype / device of ``weights``
    (``weights_name`` in errors); mask ``(B, 1, H, W)``;
    priors (``smooth``: 3 channels, the others 1) of the image's size, dtype and device; with ``check_values``:
    finite values, the image in [-1, 1] on known pixels (unless ``owner.validate_inputs`` is False) and the
    [0, 1]-image / 1 = hole-mask warnings. Returns the mask as {0, 1} in the image's dtype."""
    image = check_image(image, "image", 3, size_divisor, "size_divisor")
    check_like(image, "image", weights, weights_name)
    mask = check_mask(mask, "mask", image, check_values)
    batch, _, height, width = image.shape
    for name, prior in priors.items():
        if prior is None:
            continue
        if not isinstance(prior, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor or None, got {type(prior).__name__}")
        expected = (batch, 3 if name == "smooth" else 1, height, width)
        if prior.shape != expected:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(prior.shape)}")
        check_like(prior, name, image, "image")
    if check_values:
        for name, tensor in {"image": image, **priors}.items():
            if tensor is not None and not torch.isfinite(tensor).all():
                raise ValueError(f"{name} contains NaN or inf values")
        if getattr(owner, "validate_inputs", True) and image.numel():
            check_range(image, mask, "image")
            warn_if_image_looks_unsigned(image, mask, "image", owner)
            warn_if_mask_looks_inverted(mask, "mask", owner)
    return mask
