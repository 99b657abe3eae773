"""Images and masks as users store them, read into the library's conventions and written back.

* **Images**: PIL images of any mode (RGB, RGBA / LA: alpha kept aside; L, 1, P / PA: palette; I;16 and I:
  16-bit gray, read over 0..65535; F), numpy arrays ``(H, W)`` / ``(H, W, 1 | 3 | 4)`` of uint8 (0..255),
  uint16 (0..65535), bool, or floats in [0, 1]. :func:`read_picture` gives the RGB values in [0, 1] the model
  sees and remembers how the picture was stored, so :func:`restore_picture` writes the result back in the
  same form (gray stays gray, 16-bit stays 16-bit, alpha is kept) with every known pixel bit for bit.
* **Masks**: the same kinds. Values are scaled by their range (uint8 255, uint16 65535, bool / float 1) and
  binarised at ``threshold`` (0.5); integer masks whose largest value is 1 are 0/1 masks. ``polarity``
  ``"hole-white"`` (LaMa's and the NVIDIA irregular masks' files: white = hole) or ``"hole-black"`` (MAT's).
  With ``"auto"`` (hole-white), a mask whose hole covers more than half the image is refused with a message
  naming the polarity option, instead of inpainting what is probably the known side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

POLARITIES = ("auto", "hole-white", "hole-black")
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # larger files are refused before decoding (PIL's bomb limit)
MOST_HOLE = 0.5  # above this hole share an "auto" mask is refused (probably the other polarity)
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class MaskPolarityError(ValueError):
    """A mask read with ``polarity="auto"`` whose hole covers more than half the image."""


@dataclass
class Picture:
    """An image as the model sees it (``rgb``: float32 ``(H, W, 3)`` in [0, 1]) and as it was stored."""

    rgb: np.ndarray
    stored: np.ndarray  # (H, W, C) the input's own values and dtype, C = 1 (gray) or 3
    scale: float  # the stored range: 255, 65535 or 1.0
    alpha: np.ndarray | None  # (H, W) kept aside and written back
    pil_mode: str | None  # the PIL mode to write back, None for numpy input
    two_dimensional: bool = False  # a numpy (H, W) input: written back as (H, W)


def _array_of(image: Image.Image) -> tuple[np.ndarray, float, np.ndarray | None, str]:
    """``(values (H, W, C), scale, alpha, mode)`` of a PIL image."""
    mode = image.mode
    alpha = None
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(image.getchannel("A"))
    if mode in _SIXTEEN_BIT:
        return np.asarray(image).astype(np.uint16 if mode != "I" else np.int64)[..., None], 65535.0, None, mode
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return values[..., None], 255.0 if values.max(initial=0.0) > 1.0 else 1.0, None, mode
    if mode in ("L", "LA", "La", "1"):
        return np.asarray(image.convert("L"))[..., None], 255.0, alpha, "LA" if alpha is not None else "L"
    return np.asarray(image.convert("RGB")), 255.0, alpha, "RGBA" if alpha is not None else "RGB"


def _numpy_values(array: np.ndarray, name: str) -> tuple[np.ndarray, float, np.ndarray | None]:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name} must be an (H, W) or (H, W, 1 | 3 | 4) array, got shape {tuple(array.shape)}")
    alpha = array[..., 3] if array.shape[-1] == 4 else None
    array = array[..., :3]
    if array.dtype == np.bool_:
        return array, 1.0, alpha
    if array.dtype == np.uint8:
        return array, 255.0, alpha
    if array.dtype == np.uint16:
        return array, 65535.0, alpha
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if not (np.isfinite(array).all() and low >= 0.0 and high <= 1.0):
            raise ValueError(f"{name} as a float array must hold values in [0, 1], got [{low:g}, {high:g}]")
        return array, 1.0, alpha
    raise TypeError(f"{name} must be uint8, uint16, bool or float in [0, 1], got dtype {array.dtype}")


def _values(picture: Any, name: str) -> tuple[np.ndarray, float, np.ndarray | None, str | None]:
    if isinstance(picture, Image.Image):
        return _array_of(picture)
    if isinstance(picture, np.ndarray):
        return (*_numpy_values(picture, name), None)
    raise TypeError(f"{name} must be a PIL image or a numpy array, got {type(picture).__name__}")


def read_picture(image: Any, name: str = "image") -> Picture:
    """A PIL image or numpy array -> :class:`Picture` (see the module docstring)."""
    values, scale, alpha, mode = _values(image, name)
    height, width = values.shape[:2]
    if min(height, width) < 1:
        raise ValueError(f"{name} is empty: {width}x{height}")
    unit = np.clip(values.astype(np.float32) / scale, 0.0, 1.0)
    rgb = np.repeat(unit, 3, axis=-1) if unit.shape[-1] == 1 else unit
    two_dimensional = isinstance(image, np.ndarray) and image.ndim == 2
    return Picture(np.ascontiguousarray(rgb), values, scale, alpha, mode, two_dimensional)


def restore_picture(picture: Picture, inpainted: np.ndarray, hole: np.ndarray) -> Any:
    """``picture`` with its ``hole`` pixels (bool ``(H, W)``) from ``inpainted`` (float ``(H, W, 3)`` in [0, 1]);
    known pixels keep their stored values exactly. Returned as the input was given (PIL image or array)."""
    stored = picture.stored
    if stored.shape[-1] == 1:  # gray: the inpainted colour's luminance (ITU-R 601, as PIL's convert("L"))
        inpainted = inpainted @ np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None]
    if stored.dtype == np.bool_:
        filled = inpainted >= 0.5
    elif np.issubdtype(stored.dtype, np.floating):
        filled = inpainted.astype(stored.dtype)
    else:
        filled = np.clip(np.rint(inpainted * picture.scale), 0, picture.scale).astype(stored.dtype)
    result = np.where(hole[..., None], filled, stored)
    if picture.pil_mode is None:
        if picture.two_dimensional:
            return result[..., 0]
        return result if picture.alpha is None else np.concatenate([result, picture.alpha[..., None]], -1)
    return _to_pil(result, picture)


def _to_pil(result: np.ndarray, picture: Picture) -> Image.Image:
    mode = picture.pil_mode
    if mode in _SIXTEEN_BIT:
        return Image.fromarray(result[..., 0].astype(np.uint16 if mode != "I" else np.int32))
    if mode == "F":
        return Image.fromarray(result[..., 0].astype(np.float32), "F")
    gray = result.shape[-1] == 1
    image = Image.fromarray(result[..., 0] if gray else result, "L" if gray else "RGB")
    if picture.alpha is not None:
        image.putalpha(Image.fromarray(picture.alpha))
    return image


def _checked_open(path: str | Path) -> Image.Image:
    """``Image.open`` (lazy: the header only) refusing more than :data:`MAX_PIXELS` pixels; the caller closes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(path)
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise ValueError(f"{image.width}x{image.height} pixels, above the limit of {MAX_PIXELS:,}")
    return image


_UNREADABLE = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombWarning,
               Image.DecompressionBombError)


def picture_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` from the header of the image in ``path``; ``ValueError`` as :func:`open_picture`."""
    try:
        with _checked_open(path) as image:
            return image.size
    except _UNREADABLE as error:
        raise ValueError(f"image file {str(path)!r} cannot be read: {error}") from None


def open_picture(path: str | Path) -> Image.Image:
    """The decoded image in ``path`` (the file closed again). ``ValueError`` naming the file for one that cannot
    be read: damaged, not an image, or above :data:`MAX_PIXELS` pixels (checked from the header, before
    decoding: a decompression bomb costs nothing)."""
    try:
        with _checked_open(path) as image:
            image.load()
            return image.copy()
    except _UNREADABLE as error:
        raise ValueError(f"image file {str(path)!r} cannot be read: {error}") from None


def rgb8(image: Any) -> Image.Image:
    """An RGB uint8 PIL image of ``image`` (any mode or array :func:`read_picture` reads: 16-bit values scaled,
    not saturated; alpha dropped)."""
    return Image.fromarray(np.rint(read_picture(image).rgb * 255).astype(np.uint8), "RGB")


def mask_values(mask: Any, name: str = "mask") -> np.ndarray:
    """A mask file's values as float32 ``(H, W)`` in [0, 1] (the brightest channel; alpha ignored); integer
    masks whose largest value is 1 are read as 0/1."""
    values, scale, _, _ = _values(mask, name)
    if scale > 1.0 and np.issubdtype(values.dtype, np.integer) and values.max(initial=0) <= 1:
        scale = 1.0  # a 0/1 mask stored as integers
    return (values.astype(np.float32) / scale).max(axis=-1)


def read_hole(mask: Any, polarity: str = "auto", threshold: float = 0.5, name: str = "mask") -> np.ndarray:
    """The hole (bool ``(H, W)``, True = missing) of a stored mask (see the module docstring)."""
    if polarity not in POLARITIES:
        raise ValueError(f"mask polarity must be one of {POLARITIES}, got {polarity!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"mask threshold must be in (0, 1), got {threshold!r}")
    white = mask_values(mask, name) > threshold
    hole = ~white if polarity == "hole-black" else white
    if polarity == "auto" and hole.mean() > MOST_HOLE:
        raise MaskPolarityError(
            f"{name}: the white = hole reading makes {hole.mean():.0%} of the image a hole; if black marks the hole "
            "in these masks (MAT's convention) pass mask polarity 'hole-black' (--mask-polarity hole-black), or "
            "'hole-white' to inpaint it as it is")
    return hole


__all__ = ["MAX_PIXELS", "MOST_HOLE", "POLARITIES", "MaskPolarityError", "Picture", "mask_values", "open_picture",
           "picture_size", "read_hole", "read_picture", "restore_picture", "rgb8"]
