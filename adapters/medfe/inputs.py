"""Input checks of the MEDFE host (the library's :mod:`tsgl_encoder.validation`): image ``(B, 3, H, W)`` in
[-1, 1] with ``H`` and ``W`` multiples of 64, mask ``(B, 1, H, W)`` bool or {0, 1} float with 1 = known."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tsgl_encoder.validation import (
    check_image,
    check_like,
    check_mask,
    check_range,
    value_checks_enabled,
    warn_if_image_looks_unsigned,
    warn_if_mask_looks_inverted,
)

SIZE_DIVISOR = 64  # six stride-2 levels


def check_inputs(owner: nn.Module, image: object, mask: object, priors: dict[str, Tensor | None] | None = None
                 ) -> Tensor:
    """Validates ``image``, ``mask`` and the given priors; returns the mask as {0, 1} in the image's dtype."""
    image = check_image(image, "image", 3, SIZE_DIVISOR, "size_divisor")
    check_like(image, "image", next(owner.parameters()), f"the {type(owner).__name__} weights")
    checked = check_mask(mask, "mask", image, value_checks_enabled(image))
    batch, _, height, width = image.shape
    for name, prior in (priors or {}).items():
        if prior is None:
            continue
        channels = 3 if name == "smooth" else 1
        if not isinstance(prior, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor or None, got {type(prior).__name__}")
        if prior.shape != (batch, channels, height, width):
            raise ValueError(f"{name} must have shape {(batch, channels, height, width)}, got {tuple(prior.shape)}")
        check_like(prior, name, image, "image")
    if value_checks_enabled(image) and getattr(owner, "validate_inputs", True) and image.numel():
        if not torch.isfinite(image).all():
            raise ValueError("image contains NaN or inf values")
        check_range(image, checked, "image")
        warn_if_image_looks_unsigned(image, checked, "image", owner)
        warn_if_mask_looks_inverted(checked, "mask", owner)
    return checked


__all__ = ["SIZE_DIVISOR", "check_inputs"]
