"""Input checks of the MEDFE host (the library's :mod:`tsgl_encoder.validation`): image ``(B, 3, H, W)`` in
[-1, 1] with ``H`` and ``W`` multiples of 64 and at least 128 (``pc_block`` instance-normalises the 1/64 map,
which needs more than one position), mask ``(B, 1, H, W)`` bool or {0, 1} float with 1 = known."""

from __future__ import annotations

from torch import Tensor, nn

from tsgl_encoder.validation import check_image_mask_priors, value_checks_enabled

SIZE_DIVISOR = 64  # six stride-2 levels
SMALLEST = 128


def check_inputs(owner: nn.Module, image: object, mask: object, priors: dict[str, Tensor | None] | None = None
                 ) -> Tensor:
    """Validates ``image``, ``mask`` and the given priors; returns the mask as {0, 1} in the image's dtype."""
    weights = next(owner.parameters())
    mask = check_image_mask_priors(owner, image, mask, priors or {}, SIZE_DIVISOR, weights,
                                   f"the {type(owner).__name__} weights",
                                   isinstance(image, Tensor) and value_checks_enabled(image))
    if min(image.shape[-2:]) < SMALLEST:
        raise ValueError(f"image height and width must be at least {SMALLEST} for {type(owner).__name__} (pc_block "
                         f"instance-normalises the 1/64 map), got {image.shape[-2]}x{image.shape[-1]}")
    return mask


__all__ = ["SIZE_DIVISOR", "SMALLEST", "check_inputs"]
